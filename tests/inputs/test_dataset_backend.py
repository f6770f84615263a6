"""The ``backend`` run parameter: DuckDB's settings, and where it spills."""

from __future__ import annotations

import sys
import tempfile

import pytest

from dsrip_lib.errors import ParameterError
from dsrip_lib.inputs.backends import DUCKDB_SETTINGS, connect


def _setting(con, name: str):
    return con.raw_sql(f"SELECT current_setting('{name}')").fetchone()[0]


def test_embedded_duckdb_has_a_memory_limit_and_spills_outside_the_checkout():
    con = connect("duckdb")
    assert _setting(con, "temp_directory") == DUCKDB_SETTINGS["temp_directory"]
    assert _setting(con, "temp_directory").startswith(tempfile.gettempdir())
    assert _setting(con, "memory_limit") == connect("duckdb://?memory_limit=3GB").raw_sql(
        "SELECT current_setting('memory_limit')").fetchone()[0]


def test_a_duckdb_url_sets_the_memory_limit_and_keeps_the_other_defaults():
    con = connect("duckdb://?memory_limit=1GB&threads=1")
    assert _setting(con, "memory_limit") != _setting(connect("duckdb"), "memory_limit")
    assert _setting(con, "threads") == 1
    assert _setting(con, "temp_directory") == DUCKDB_SETTINGS["temp_directory"]


def test_a_duckdb_file_url_opens_that_database(tmp_path):
    con = connect(f"duckdb://{tmp_path}/f.ddb")
    con.raw_sql("CREATE TABLE t AS SELECT 1 AS x")
    assert (tmp_path / "f.ddb").exists()


def test_a_bad_duckdb_setting_is_a_parameter_error():
    with pytest.raises(ParameterError, match="cannot open DuckDB"):
        connect("duckdb://?memory_limit=lots")


def test_plain_duckdb_is_in_memory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    connect("duckdb").raw_sql("CREATE TABLE t AS SELECT 1 AS x")
    assert list(tmp_path.iterdir()) == []  # no database file, no spill directory in the working directory


def test_a_pyspark_url_takes_settings_only_and_a_missing_pyspark_is_named(monkeypatch):
    with pytest.raises(ParameterError, match="query parameters only"):
        connect("pyspark://head:7077")
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # as if the spark extra were not installed
    with pytest.raises(ParameterError, match="pyspark is not installed.*docs/scale.md"):
        connect("pyspark")
