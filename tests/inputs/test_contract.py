"""The data contract: each rule family caught with a clear message, a valid directory passing."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pandera.errors
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from extracts import valid_frames, write

from dsrip_lib.errors import InputValidationError
from dsrip_lib.inputs.files import locate
from dsrip_lib.inputs.tables import Bounds, table_specs
from dsrip_lib.inputs.validation import validate_dir, validate_table
from dsrip_lib.program import load_program

D = dt.date


def problems_of(data_dir: Path) -> str:
    with pytest.raises(InputValidationError) as info:
        validate_dir(data_dir)
    return str(info.value)


def test_valid_directory_passes_with_a_summary(tmp_path):
    summary = validate_dir(write(tmp_path, valid_frames()))
    assert "conforms to the data contract" in summary
    assert "enrollment.parquet" in summary and "4 rows" in summary
    assert "risk_scores" in summary  # listed among the optional tables absent


def test_parquet_part_directory_is_one_table(tmp_path):
    frames = valid_frames()
    claims = frames.pop("claims")
    write(tmp_path, frames)
    parts = tmp_path / "claims.parquet"
    parts.mkdir()
    for i in range(len(claims)):
        pq.write_table(pa.Table.from_pandas(claims.iloc[[i]], preserve_index=False), parts / f"part-{i}.parquet")
    assert "claims.parquet/" in validate_dir(tmp_path)
    # the same claim id in two parts is a duplicate of the table's grain
    pq.write_table(pa.Table.from_pandas(claims.iloc[[0]], preserve_index=False), parts / "part-9.parquet")
    message = problems_of(tmp_path)
    assert "claims.parquet/:" in message and "claim_id='C1': 2 rows" in message
    # a row rule broken in one part: rows are numbered within that part
    bad = claims.iloc[[2]].assign(paid_amount=-1.0)
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), parts / "part-2.parquet")
    assert "part-2.parquet row 1: claim_id='C3'" in problems_of(tmp_path)


BREAKAGES = {
    # name: (table, change, file, column, rule text, bad-row count text, example text)
    "wrong type": ("members", lambda f: f.assign(birth_date=[d.year for d in f["birth_date"]]),
                   "members.parquet", "birth_date", "type date", "", "found type int64"),
    "code outside its set": ("enrollment", lambda f: f.assign(plan_type=["aco_a", "hmo", "aco_b", "ffs"]),
                             "enrollment.parquet", "plan_type", "one of aco_a, aco_b, mco, pcc, ffs", "1 row",
                             "row 2: member_id='01060', month=2018-02-01"),
    "mid-month month": ("enrollment", lambda f: f.assign(month=[D(2018, 1, 1), D(2018, 2, 15), D(2018, 1, 1),
                                                                D(2018, 1, 1)]),
                        "enrollment.parquet", "month", "first day of a month", "1 row", "month=2018-02-15"),
    "numerator above denominator": ("measure_results", lambda f: f.assign(numerator=[11.0, None]),
                                    "measure_results.parquet", "numerator, denominator",
                                    "numerator <= denominator", "1 row", "numerator=11.0, denominator=10.0"),
    "neither rate nor numerator": ("measure_results", lambda f: f.assign(rate=[None, None]),
                                   "measure_results.parquet", "numerator, denominator, rate",
                                   "either numerator and denominator, or rate, is given", "1 row",
                                   "measure_id='m2'"),
    "aco-eligible 'other'": ("enrollment", lambda f: f.assign(aco_eligible=True),
                             "enrollment.parquet", "aco_eligible, eligibility_group",
                             "aco_eligible is false when eligibility_group is 'other'", "1 row", "member_id='M3'"),
    "risk track its ACO model lacks (Exhibit 8)": (
        "entities", lambda f: f.assign(risk_track=pd.array([1, 2, None, None], dtype="Int64")),
        "entities.parquet", "aco_model, risk_track, entity_type",
        "an ACO's risk_track is one of its model's (A: null; B: 1, 2; C: 1, 2, 3)", "1 row", "entity_id='ACO1'"),
    "safety-net category outside Exhibit 7": (
        "entities", lambda f: f.assign(safety_net_category=pd.array([6, None, None, None], dtype="Int64")),
        "entities.parquet", "safety_net_category", "one of 1, 2, 3, 4, 5", "1 row", "safety_net_category=6"),
    "duplicate grain": ("enrollment", lambda f: pd.concat([f, f.iloc[[0, 0]]]),
                        "enrollment.parquet", "member_id, month", "unique (the table's grain)",
                        "3 rows share 1 key", "member_id='01060', month=2018-01-01: 3 rows"),
    "dangling foreign key": ("claims", lambda f: f.assign(member_id=["01060", "M9", "M9"]),
                             "claims.parquet", "member_id", "in members.member_id", "2 rows (1 distinct value)",
                             "member_id='M9': 2 rows"),
    "foreign key of the wrong entity type": ("cp_engagement", lambda f: f.assign(cp_id=["ACO1"]),
                                             "cp_engagement.parquet", "cp_id",
                                             "in entities.entity_id with entity_type cp_bh or cp_ltss", "1 row",
                                             "cp_id='ACO1'"),
    "overlapping spans": ("pcp_assignments",
                          lambda f: f.assign(start_date=[D(2018, 1, 1), D(2018, 2, 1), D(2018, 1, 1)]),
                          "pcp_assignments.parquet", "member_id, start_date, end_date",
                          "a member's assignment spans do not overlap", "1 row",
                          "member_id='01060': span 2018-02-01..open starts before an earlier span ends (2018-02-14)"),
    "span nested in an open span": ("pcp_assignments",
                                    lambda f: f.assign(end_date=[None, D(2018, 3, 1), D(2018, 12, 31)]),
                                    "pcp_assignments.parquet", "member_id, start_date, end_date",
                                    "a member's assignment spans do not overlap", "1 row", "earlier span ends (open)"),
    "CHC flag contradicting the assigned PCP": (
        "enrollment", lambda f: f.assign(chc_pcp=[True, True, True, False]),
        "enrollment.parquet", "chc_pcp", "chc_pcp is the is_chc of the PCP assigned on the month's last day", "1 row",
        "member_id='01060', month=2018-02-01: chc_pcp=True, assigned PCP '0987654321' has is_chc=False"),
    "CHC flag without an assigned PCP": (
        "enrollment", lambda f: f.assign(chc_pcp=[True, False, True, True]),
        "enrollment.parquet", "chc_pcp", "chc_pcp is the is_chc", "1 row",
        "member_id='M3', month=2018-01-01: chc_pcp=True, assigned PCP none has is_chc=False"),
    "missing column": ("providers", lambda f: f.drop(columns="apm_paid"),
                       "providers.parquet", "apm_paid", "required column is missing", "", ""),
    "extra column": ("providers", lambda f: f.assign(zip="01060"),
                     "providers.parquet", "zip", "unexpected column", "", ""),
    "null in a required column": ("claims", lambda f: f.assign(paid_amount=[1.0, None, 2.0]),
                                  "claims.parquet", "paid_amount", "not null", "1 row", "claim_id='C2'"),
    # NaN (not null) needs Arrow: pandas writes NaN as null
    "NaN money": ("claims", lambda f: pa.Table.from_pandas(f, preserve_index=False).set_column(
        6, "paid_amount", pa.array([1.0, 2.0, float("nan")])),
                  "claims.parquet", "paid_amount", ">= 0", "1 row", "paid_amount=nan"),
    "service date outside the program": ("claims", lambda f: f.assign(service_date=[D(2016, 12, 31), D(2018, 1, 1),
                                                                                  D(2023, 1, 1)]),
                                         "claims.parquet", "service_date", "between 2017-01-01 and 2022-12-31",
                                         "2 rows", "service_date=2016-12-31"),
}


@pytest.mark.parametrize("case", BREAKAGES, ids=list(BREAKAGES))
def test_each_rule_family_names_file_column_rule_count_and_examples(tmp_path, case):
    table, change, file, column, rule, count, example = BREAKAGES[case]
    frames = valid_frames()
    frames[table] = change(frames[table])
    message = problems_of(write(tmp_path, frames))
    block = message.split(f"\n{file}:\n", 1)[1]
    line = next(line for line in block.splitlines() if line.startswith(f"  - column {column}:"))
    assert rule in line
    assert f": {count}" in line if count else True
    assert example in block


def test_all_problems_of_a_directory_in_one_message_grouped_by_file(tmp_path):
    frames = valid_frames()
    frames["enrollment"] = frames["enrollment"].assign(month=D(2018, 3, 9))
    frames["members"] = frames["members"].drop(columns="sex")
    frames["measure_results"] = frames["measure_results"].assign(numerator=[11.0, None])
    message = problems_of(write(tmp_path, frames))
    assert message.startswith(f"data directory {tmp_path} breaks the data contract")
    # files in the contract's order, each problem under its file
    assert message.index("members.parquet:") < message.index("enrollment.parquet:") < message.index(
        "measure_results.parquet:")
    assert "  - column sex: rule \"required column is missing\"" in message


def test_examples_are_capped_at_five_and_count_covers_every_batch(tmp_path, monkeypatch):
    monkeypatch.setattr("dsrip_lib.inputs.validation.BATCH_ROWS", 4)
    frames = valid_frames()
    members = pd.DataFrame({"member_id": [f"M{i:03d}" for i in range(23)], "birth_date": D(1990, 1, 1),
                            "sex": ["X"] * 23, "dual_eligible": False})
    frames["members"] = pd.concat([frames["members"], members])
    message = problems_of(write(tmp_path, frames))
    assert 'rule "one of F, M": 23 rows' in message
    shown = [line for line in message.splitlines() if "sex='X'" in line]
    assert len(shown) == 5
    assert shown[0].strip().startswith("row 4: member_id='M000'")


def test_missing_required_table(tmp_path):
    frames = valid_frames()
    del frames["providers"]
    message = problems_of(write(tmp_path, frames))
    assert "providers.parquet:" in message and "required table is missing" in message


def test_missing_optional_table_passes(tmp_path):
    frames = valid_frames()
    del frames["measure_results"]
    absent = next(line for line in validate_dir(write(tmp_path, frames)).splitlines() if "absent" in line)
    assert "measure_results" in absent


@pytest.mark.parametrize("table", ["enrollment", "claims"])
def test_an_empty_required_table_is_refused(tmp_path, table):
    frames = valid_frames()
    frames[table] = frames[table].iloc[0:0]
    message = problems_of(write(tmp_path, frames))
    assert f"{table}.parquet:" in message and "a required table has rows (this one is empty)" in message


def test_an_empty_optional_table_is_reported_as_empty(tmp_path):
    frames = valid_frames()
    frames["measure_results"] = frames["measure_results"].iloc[0:0]
    line = next(x for x in validate_dir(write(tmp_path, frames)).splitlines() if "measure_results" in x)
    assert line.rstrip().endswith("0 rows  (empty)")


def test_enrollment_naming_an_aco_before_it_joins_is_refused(tmp_path):
    """ACO1 joins in BP 2 (2019): enrollment in it in 2018 is a data problem (Sec 4.4.1)."""
    frames = valid_frames()
    frames["entities"] = frames["entities"].assign(join_budget_period=[2, 1, 0, 0])
    message = problems_of(write(tmp_path, frames))
    assert "enrollment.parquet:" in message and "an ACO is named only from the first month of its join" in message
    assert "member_id='01060', month=2018-01-01: aco_id='ACO1' joins in budget period 2" in message


def test_unreadable_file(tmp_path):
    write(tmp_path, valid_frames())
    (tmp_path / "members.parquet").write_bytes(b"not parquet at all")
    message = problems_of(tmp_path)
    assert "members.parquet:" in message and "readable parquet" in message


def test_csv_ids_keep_leading_zeros(tmp_path):
    frames = valid_frames()
    del frames["providers"]
    write(tmp_path, frames)
    (tmp_path / "providers.csv").write_text(
        "npi,provider_type,is_chc,aco_id,apm_paid\n1234567890,pcp,true,ACO1,true\n0987654321,pcp,false,,false\n")
    assert locate(tmp_path, "providers") == tmp_path / "providers.csv"
    # 0987654321 read as a number would be 987654321: 9 digits, and a dangling provider_npi in claims
    assert "providers.csv" in validate_dir(tmp_path)


def test_csv_value_that_does_not_parse(tmp_path):
    frames = valid_frames()
    del frames["members"]
    write(tmp_path, frames)
    (tmp_path / "members.csv").write_text(
        "member_id,birth_date,sex,dual_eligible\n"
        "01060,1980-01-01,F,false\nM2,2001-13-02,M,false\nM3,1950-07-09,F,true\n")
    message = problems_of(tmp_path)
    assert "members.csv:" in message and 'column birth_date: rule "type date"' in message and "2001-13-02" in message


def test_parquet_and_csv_of_one_table_is_ambiguous(tmp_path):
    write(tmp_path, valid_frames())
    valid_frames()["members"].to_csv(tmp_path / "members.csv", index=False)
    assert "one file per table" in problems_of(tmp_path)


def test_validate_table_in_memory():
    frames = valid_frames()
    validate_table("enrollment", frames["enrollment"])
    validate_table("enrollment", frames["enrollment"].astype({"plan_type": "category"}))  # dictionary strings
    bad = pd.concat([frames["enrollment"], frames["enrollment"].iloc[[0]]])
    with pytest.raises(InputValidationError, match=r"(?s)enrollment \(test\).*2 rows share 1 key"):
        validate_table("enrollment", bad, source="enrollment (test)")
    with pytest.raises(InputValidationError, match="unknown table"):
        validate_table("enrolment", bad)


def test_timestamps_are_not_dates():
    members = valid_frames()["members"]
    with pytest.raises(InputValidationError, match=r"type date.*\n.*found type timestamp"):
        validate_table("members", members.assign(birth_date=pd.to_datetime(members["birth_date"])))


def _cli(data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dsrip_lib.cli", "validate", "--data", str(data_dir)],
                          capture_output=True, text=True, timeout=120)


def test_cli_bad_directory_exits_2_without_traceback(tmp_path):
    frames = valid_frames()
    frames["enrollment"] = frames["enrollment"].assign(month=D(2018, 3, 9))
    result = _cli(write(tmp_path, frames))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "enrollment.parquet:" in result.stderr and "first day of a month" in result.stderr
    assert result.stdout == ""


def test_cli_valid_directory_exits_0(tmp_path):
    result = _cli(write(tmp_path, valid_frames()))
    assert result.returncode == 0, result.stderr
    assert "conforms to the data contract" in result.stdout


def test_synthetic_tiny_state_conforms(tiny_data):
    assert "conforms to the data contract" in validate_dir(tiny_data)


def test_masshealth_bounds_come_from_the_program_definition():
    bounds = Bounds.from_program(load_program())
    # protocol Sec 5.2.1.2 (CY2017 baseline), Sec 3.1.1 (BP 5 = CY2022), Exhibit 7 (categories 1-5),
    # Exhibit 8 (model A has no risk track, B has 1-2, C has 1-3)
    assert (bounds.first_day, bounds.last_day) == (D(2017, 1, 1), D(2022, 12, 31))
    assert bounds.budget_periods == (0, 1, 2, 3, 4, 5) and bounds.performance_periods == (1, 2, 3, 4, 5)
    assert bounds.sfys == tuple(range(2017, 2024))
    assert bounds.safety_net_categories == (1, 2, 3, 4, 5)
    assert sorted(bounds.model_risk_tracks, key=str) == sorted(
        [("A", None), ("B", 1), ("B", 2), ("C", 1), ("C", 2), ("C", 3)], key=str)


def test_another_program_calendar_moves_the_bounds():
    bounds = Bounds(first_day=D(2020, 1, 1), last_day=D(2020, 12, 31), budget_periods=(1, 2), sfys=(2020, 2021))
    claims = table_specs(bounds)["claims"]
    frame = (pa.Table.from_pandas(valid_frames()["claims"], preserve_index=False).cast(claims.arrow_schema)
             .to_pandas(types_mapper=pd.ArrowDtype))
    with pytest.raises(pandera.errors.SchemaError, match="between 2020-01-01 and 2020-12-31"):
        claims.schema().validate(frame)
    entities = table_specs(bounds)["entities"]
    assert not any("risk_track is one of" in r.description for r in entities.row_rules)  # no ACO exhibits


# -- how validation runs: one query per table over its parts, grain by hashes, one SQL form of each rule
def _claims_parts(data_dir: Path, parts: list[pd.DataFrame]) -> Path:
    """valid_frames() with claims written as one part file per frame."""
    frames = valid_frames()
    del frames["claims"]
    write(data_dir, frames)
    parts_dir = data_dir / "claims.parquet"
    parts_dir.mkdir()
    for i, part in enumerate(parts):
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), parts_dir / f"part-{i}.parquet")
    return data_dir


def test_counts_add_up_over_parts_and_examples_follow_file_order(tmp_path):
    claims = valid_frames()["claims"]
    bad = [claims.iloc[[i]].assign(paid_amount=-1.0, claim_id=f"X{i}") for i in range(3)]
    message = problems_of(_claims_parts(tmp_path, [bad[2], claims, bad[1], bad[0]]))
    line = next(line for line in message.splitlines() if "column paid_amount" in line)
    assert 'rule ">= 0": 3 rows' in line
    shown = [line.strip() for line in message.splitlines() if "paid_amount=-1.0" in line]
    assert [s.split(":")[0] for s in shown] == ["part-0.parquet row 1", "part-2.parquet row 1", "part-3.parquet row 1"]


def test_a_part_missing_a_column_still_has_its_other_columns_checked(tmp_path):
    claims = valid_frames()["claims"]
    parts = [claims.iloc[[0]], claims.iloc[[1]].drop(columns="exclusion_category").assign(paid_amount=-5.0),
             claims.iloc[[2]].assign(service_category="dental")]
    message = problems_of(_claims_parts(tmp_path, parts))
    assert 'column exclusion_category: rule "required column is missing"' in message
    assert "part-1.parquet row 1: claim_id='C2'" in message and "paid_amount=-5.0" in message
    assert "part-2.parquet row 1: claim_id='C3'" in message and "service_category='dental'" in message


def test_csv_rows_are_numbered_in_the_file(tmp_path):
    frames = valid_frames()
    del frames["providers"]
    write(tmp_path, frames)
    (tmp_path / "providers.csv").write_text(
        "npi,provider_type,is_chc,aco_id,apm_paid\n1234567890,pcp,true,ACO1,true\n098765432,pcp,false,,false\n")
    message = problems_of(tmp_path)
    assert "providers.csv:" in message and 'column npi: rule "10 digits": 1 row' in message
    assert "row 2: npi='098765432', provider_type='pcp'" in message


def test_null_keys_repeating_the_grain_are_found(tmp_path):
    frames = valid_frames()
    frames["claims"] = frames["claims"].assign(claim_id=[None, None, "C3"])
    message = problems_of(write(tmp_path, frames))
    assert 'column claim_id: rule "not null": 2 rows' in message
    assert "claim_id=null: 2 rows" in message


def test_grain_repeats_across_streamed_batches(monkeypatch):
    monkeypatch.setattr("dsrip_lib.inputs.validation.BATCH_ROWS", 2)  # the key hashes arrive 2 rows at a time
    members = pd.DataFrame({"member_id": [f"M{i}" for i in range(9)] + ["M0"], "birth_date": D(1990, 1, 1),
                            "sex": "F", "dual_eligible": False})
    validate_table("members", members.iloc[:9])
    with pytest.raises(InputValidationError, match="2 rows share 1 key.*\n.*member_id='M0': 2 rows"):
        validate_table("members", members)


def test_nan_is_caught_whatever_the_parquet_statistics_say(tmp_path):
    # pyarrow leaves NaN out of the min/max statistics: DuckDB must not fold the checks with them
    frames = valid_frames()
    frames["risk_scores"] = pa.table({"member_id": ["01060", "M2"], "year": [2018, 2018],
                                      "risk_score": pa.array([1.2, float("nan")])})
    message = problems_of(write(tmp_path, frames))
    assert 'column risk_score: rule "> 0": 1 row' in message and "risk_score=nan" in message


def test_pandera_schema_runs_the_same_rules_on_a_frame():
    spec = table_specs(Bounds.from_program(load_program()))["enrollment"]
    frame = (pa.Table.from_pandas(valid_frames()["enrollment"], preserve_index=False).cast(spec.arrow_schema)
             .to_pandas(types_mapper=pd.ArrowDtype))
    spec.schema().validate(frame)
    with pytest.raises(pandera.errors.SchemaError, match="aco_eligible is false when eligibility_group is 'other'"):
        spec.schema().validate(frame.assign(aco_eligible=pd.array([True] * 4, dtype=frame["aco_eligible"].dtype)))
    with pytest.raises(pandera.errors.SchemaError, match="first day of a month"):
        spec.schema().validate(frame.assign(month=pd.array([D(2018, 1, 2)] * 4, dtype=frame["month"].dtype)))


def test_a_damaged_page_behind_a_sound_footer_is_reported(tmp_path):
    write(tmp_path, valid_frames())
    path = tmp_path / "members.parquet"
    pq.write_table(pa.Table.from_pandas(valid_frames()["members"], preserve_index=False), path, compression="zstd")
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(0)  # member_id: read by the grain check
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    raw = bytearray(path.read_bytes())
    for i in range(start + 12, start + chunk.total_compressed_size - 2):
        raw[i] ^= 0x5A
    path.write_bytes(bytes(raw))
    message = problems_of(tmp_path)
    assert "members.parquet:" in message and 'rule "readable parquet"' in message
