"""Opening a data directory as Ibis tables."""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from extracts import valid_frames, write

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.inputs.dataset import open_dataset


@pytest.fixture
def data_dir(tmp_path):
    return write(tmp_path / "data", valid_frames())


def test_tables_are_lazy_ibis_tables_with_contract_types(data_dir):
    ds = open_dataset(data_dir)
    enrollment = ds.table("enrollment")
    assert isinstance(enrollment, ibis.Table)
    assert enrollment.schema()["month"].is_date() and enrollment.schema()["aco_id"].is_string()
    per_plan = enrollment.group_by("plan_type").agg(n=enrollment.count()).to_pandas().set_index("plan_type")["n"]
    assert per_plan.to_dict() == {"aco_a": 1, "mco": 1, "aco_b": 1, "ffs": 1}
    assert ds.table("enrollment") is enrollment  # registered once


def test_has_names_files_and_to_pandas(data_dir):
    ds = open_dataset(data_dir)
    assert ds.has("cp_engagement") and not ds.has("risk_scores")
    assert ds.names[:3] == ["members", "enrollment", "pcp_assignments"]
    assert sorted(p.name for p in ds.files) == sorted(f"{n}.parquet" for n in valid_frames())
    members = ds.to_pandas("members")
    assert members["member_id"].tolist() == ["01060", "M2", "M3"]


def test_parquet_parts_and_narrow_integers(tmp_path):
    frames = valid_frames()
    entities = frames.pop("entities")
    data_dir = write(tmp_path, frames)
    parts = data_dir / "entities.parquet"
    parts.mkdir()
    for i, chunk in enumerate([entities.iloc[:2], entities.iloc[2:]]):
        table = pa.Table.from_pandas(chunk, preserve_index=False)
        table = table.set_column(7, "join_budget_period", table["join_budget_period"].cast(pa.int8()))
        pq.write_table(table, parts / f"part-{i}.parquet")
    ds = open_dataset(data_dir)
    assert {p.name for p in ds.files} >= {"part-0.parquet", "part-1.parquet"}
    table = ds.table("entities")
    assert table.schema()["join_budget_period"] == ibis.dtype("int64")
    assert table.count().to_pandas() == 4


def test_csv_ids_stay_strings(tmp_path):
    frames = valid_frames()
    del frames["providers"]
    data_dir = write(tmp_path, frames)
    (data_dir / "providers.csv").write_text(
        "npi,provider_type,is_chc,aco_id,apm_paid\n1234567890,pcp,true,ACO1,true\n0987654321,pcp,false,,false\n")
    ds = open_dataset(data_dir)
    assert ds.to_pandas("providers")["npi"].tolist() == ["1234567890", "0987654321"]
    assert data_dir / "providers.csv" in ds.files
    # a join across a CSV table and a Parquet table on the same backend
    claims, providers = ds.table("claims"), ds.table("providers")
    joined = claims.join(providers, claims.provider_npi == providers.npi)
    assert joined.count().to_pandas() == 3


def test_opening_validates_once_and_refuses_a_bad_directory(tmp_path):
    frames = valid_frames()
    frames["enrollment"] = frames["enrollment"].assign(month=dt.date(2018, 1, 9))
    data_dir = write(tmp_path, frames)
    with pytest.raises(InputValidationError, match="first day of a month"):
        open_dataset(data_dir)
    assert open_dataset(data_dir, validate=False).table("enrollment").count().to_pandas() == 4


def test_absent_and_unknown_tables(data_dir):
    ds = open_dataset(data_dir)
    with pytest.raises(InputValidationError, match="'risk_scores' is absent"):
        ds.table("risk_scores")
    with pytest.raises(InputValidationError, match="unknown table"):
        ds.table("claim")


def test_backend_by_url_or_object(data_dir):
    con = ibis.duckdb.connect()
    assert open_dataset(data_dir, backend=con).con is con
    assert open_dataset(data_dir, backend="duckdb://").table("members").count().to_pandas() == 3
    with pytest.raises(ParameterError, match="expected 'duckdb'"):
        open_dataset(data_dir, backend="spark")


def test_missing_directory(tmp_path):
    with pytest.raises(InputValidationError, match="does not exist"):
        open_dataset(tmp_path / "nowhere", validate=False)
