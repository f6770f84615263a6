"""The claims-scale steps and the cross-row validation on a local Spark session, against DuckDB.

One Spark session for the module (it costs seconds to start and about a second a query, so
the tests are few and each runs several steps). Skipped, with the reason shown, without
pyspark (the ``spark`` extra, requirements-spark.lock) or without Java.
"""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from extracts import D, valid_frames, write

from dsrip_lib.errors import InputValidationError

pytest.importorskip("pyspark", reason="pyspark is not installed (the spark extra, requirements-spark.lock)")
if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("Java is not installed (Spark needs a JVM, e.g. Java 17)", allow_module_level=True)

from dsrip_lib.accountability.adoption import adoption_members  # noqa: E402
from dsrip_lib.attribution.member_months import monthly_counts  # noqa: E402
from dsrip_lib.attribution.plurality import plurality_attribution  # noqa: E402
from dsrip_lib.attribution.rules import monthly_attribution  # noqa: E402
from dsrip_lib.inputs.backends import SPARK_SESSION_SETTINGS, connect  # noqa: E402
from dsrip_lib.inputs.dataset import open_dataset  # noqa: E402
from dsrip_lib.inputs.validation import validate_dir  # noqa: E402
from dsrip_lib.spending.pmpm import pmpm_cells  # noqa: E402

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark():
    con = connect("pyspark://?spark.sql.shuffle.partitions=2&spark.ui.enabled=false"
                  "&spark.ui.showConsoleProgress=false&spark.driver.memory=1g")
    yield con
    con.disconnect()


def _same(duck: pd.DataFrame, spark: pd.DataFrame) -> None:
    """The same table: rows sorted, the same columns and dtypes, equal values (floats to 1e-12: summation order)."""
    assert list(duck.columns) == list(spark.columns)
    assert duck.dtypes.to_dict() == spark.dtypes.to_dict()
    by = list(duck.columns)
    pd.testing.assert_frame_equal(duck.sort_values(by, ignore_index=True), spark.sort_values(by, ignore_index=True),
                                  check_exact=False, rtol=1e-12)


def _claims_scale_steps(ds, program) -> dict[str, pd.DataFrame]:
    """Attribution, member-months, adoption and PMPM as the reports compute them."""
    t = ds.table
    attribution = monthly_attribution(t("enrollment"), t("pcp_assignments"), t("providers"), t("entities"), program)
    periods = [program.calendar.budget_period(bp, kind="aco") for bp in (1, 2)]
    return {
        "attribution": attribution.to_pandas(),
        "member-months": monthly_counts(attribution),
        "adoption": adoption_members(t("enrollment"), t("pcp_assignments"), t("providers"), t("entities"),
                                     t("claims"), program, periods).to_pandas(),
        "pmpm": pmpm_cells(t("claims"), t("enrollment"), attribution, t("risk_scores"), program),
    }


def test_the_session_moves_pandas_frames_through_arrow(spark):
    conf = spark._session.conf
    assert {k: conf.get(k) for k in SPARK_SESSION_SETTINGS} == SPARK_SESSION_SETTINGS
    assert conf.get("spark.sql.shuffle.partitions") == "2"  # a URL's setting


def test_attribution_member_months_adoption_and_pmpm_equal_duckdbs(spark, tiny_data, program):
    duck = _claims_scale_steps(open_dataset(tiny_data, validate=False, program=program), program)
    on_spark = _claims_scale_steps(open_dataset(tiny_data, backend=spark, validate=False, program=program), program)
    for step, frame in duck.items():
        assert len(frame) > 0, step
        _same(frame, on_spark[step])


def test_nulls_of_a_csv_table_stay_null(spark, tiny_data, program, tmp_path):
    # providers as CSV: non-participating providers have no aco_id. Through pandas without Arrow a
    # null string became NaN, and plurality attribution counted those providers' members (on this
    # state 2,517 members instead of 1,763, with no error).
    data = tmp_path / "csv"
    shutil.copytree(tiny_data, data)
    providers = pq.read_table(data / "providers.parquet")
    assert providers["aco_id"].null_count > 0
    pa_csv.write_csv(providers, data / "providers.csv")
    (data / "providers.parquet").unlink()
    as_of = program.calendar.budget_period(2, kind="aco").end
    counts = {}
    for backend in ("duckdb", spark):
        ds = open_dataset(data, backend=backend, validate=False, program=program)
        plurality = plurality_attribution(ds.table("claims"), ds.table("providers"), as_of)
        t = ds.table
        attribution = monthly_attribution(t("enrollment"), t("pcp_assignments"), t("providers"), t("entities"), program)
        counts[ds.con.name] = (plurality.count().to_pandas(), monthly_counts(attribution))
    assert counts["duckdb"][0] == counts["pyspark"][0] > 0
    _same(counts["duckdb"][1], counts["pyspark"][1])


@pytest.mark.parametrize("engine", ["duckdb", "pyspark"])
def test_two_datasets_open_at_once_on_one_connection_each_see_their_own_rows(spark, tiny_data, program, tmp_path,
                                                                            engine):
    con = spark if engine == "pyspark" else connect("duckdb")
    small = write(tmp_path / "extract", valid_frames())
    first = open_dataset(tiny_data, backend=con, validate=False, program=program)
    enrollment = first.table("enrollment")
    second = open_dataset(small, backend=con, validate=False, program=program)
    assert second.table("enrollment").count().to_pandas() == len(valid_frames()["enrollment"])
    assert enrollment.count().to_pandas() == pq.read_metadata(tiny_data / "enrollment.parquet").num_rows
    assert first.table("members").count().to_pandas() == pq.read_metadata(tiny_data / "members.parquet").num_rows


def test_a_directory_of_parts_is_one_table(spark, tmp_path):
    frames = valid_frames()
    claims = frames.pop("claims")
    data = write(tmp_path, frames)
    parts = data / "claims.parquet"
    parts.mkdir()
    for i, chunk in enumerate([claims.iloc[:2], claims.iloc[2:]]):
        pq.write_table(pa.Table.from_pandas(chunk, preserve_index=False), parts / f"part-{i}.parquet")
    (parts / "_SUCCESS").write_text("")  # a Spark job's marker file, no part
    totals = [open_dataset(data, backend=b, validate=False).table("claims").paid_amount.sum().to_pandas()
              for b in ("duckdb", spark)]
    assert totals == [claims["paid_amount"].sum()] * 2


def _broken(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """One break of each cross-row rule: grain, foreign keys (plain and by entity type), spans, chc_pcp."""
    enrollment = frames["enrollment"].assign(chc_pcp=[True, True, True, False])
    return frames | {
        "enrollment": pd.concat([enrollment, enrollment.iloc[[2, 2]]]),
        "claims": frames["claims"].assign(member_id=["01060", "M9", "M9"]),
        "cp_engagement": frames["cp_engagement"].assign(cp_id=["ACO1"]),
        "pcp_assignments": frames["pcp_assignments"].assign(start_date=[D("2018-01-01"), D("2018-02-01"),
                                                                        D("2018-01-01")]),
    }


def test_cross_row_rules_run_on_spark_and_say_what_duckdb_says(spark, tmp_path):
    valid = write(tmp_path / "valid", valid_frames())
    assert "the others on pyspark" in validate_dir(valid, backend=spark)
    broken = write(tmp_path / "broken", _broken(valid_frames()))
    messages = []
    for backend in (None, spark):
        with pytest.raises(InputValidationError) as raised:
            validate_dir(broken, backend=backend)
        messages.append(str(raised.value))
    for expected in ("unique (the table's grain)\": 3 rows share 1 key", "in members.member_id\": 2 rows",
                     "with entity_type cp_bh or cp_ltss\": 1 row", "spans do not overlap\": 1 row",
                     "chc_pcp is the is_chc"):
        assert expected in messages[0]
    assert messages[1] == messages[0]
