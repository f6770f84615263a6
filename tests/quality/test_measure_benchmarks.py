"""Benchmark tables: the program's illustrative values as a frame, a run's file, checks, override."""

from __future__ import annotations

import pandas as pd
import pytest

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.quality.benchmarks import (
    COLUMNS,
    benchmarks_frame,
    check_benchmarks,
    read_benchmarks,
    replace_benchmarks,
)


def _row(entity_type="aco", measure_id="fuh_7_day", bp=4, threshold=0.35, benchmark=0.6):
    return dict(zip(COLUMNS, (entity_type, measure_id, bp, threshold, benchmark)))


def _frame(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=COLUMNS)


def test_frame_has_one_row_per_stated_cell(program):
    frame = benchmarks_frame(program)
    assert list(frame.columns) == COLUMNS
    cells = sum(len(by_bp) for et in ("aco", "cp_bh", "cp_ltss", "csa")
                for by_bp in program.measure_benchmarks.table(et).values())
    assert len(frame) == cells and not frame.duplicated(COLUMNS[:3]).any()
    check_benchmarks(frame, program)
    fuh = frame.query("entity_type == 'aco' and measure_id == 'fuh_7_day'")
    assert fuh["budget_period"].tolist() == [2, 3, 4, 5]


def test_frame_for_one_entity_type(program):
    csa = benchmarks_frame(program, "csa")
    assert set(csa["entity_type"]) == {"csa"} and len(csa) > 0
    with pytest.raises(ParameterError, match="'mco'"):
        benchmarks_frame(program, "mco")


def test_a_program_without_benchmarks_is_a_parameter_error(program):
    with pytest.raises(ParameterError, match="no 'measure_benchmarks' block"):
        benchmarks_frame(program.model_copy(update={"measure_benchmarks": None}))


@pytest.mark.parametrize("row, column, rule", [
    (_row(measure_id="adhd"), "measure_id", "a measure of the entity type's slate"),
    (_row(entity_type="csa", measure_id="adhd_continuation", bp=3), "measure_id", "a measure of the entity type's slate"),
    (_row(entity_type="mco"), "entity_type", "one of aco, cp_bh, cp_ltss, csa"),
    (_row(measure_id="ppa"), "measure_id", "a measure of the entity type's slate"),       # quartile-scored
    (_row(measure_id="oral_evaluation", bp=2), "budget_period", "pay-for-performance"),     # "RRPPP"
    (_row(threshold=0.6, benchmark=0.35), "attainment_threshold", "below the excellence benchmark"),
    (_row(threshold=0.6, benchmark=0.6), "attainment_threshold", "below the excellence benchmark"),
    (_row(measure_id="a1c_poor_control", threshold=0.29, benchmark=0.48), "attainment_threshold", "above it when lower"),
    (_row(entity_type="cp_bh", measure_id="readmissions", bp=3, threshold=0.85, benchmark=1.1), "attainment_threshold",
     "above it when lower"),
])
def test_bad_row_is_named_by_column_rule_and_row(program, row, column, rule):
    frame = _frame(_row(measure_id="aod_initiation"), row)
    with pytest.raises(InputValidationError) as info:
        check_benchmarks(frame, program)
    message = str(info.value)
    assert f"column {column}" in message and rule in message and "1 row, e.g." in message
    assert "row 2: entity_type=" in message and "row 1:" not in message


def test_right_side_for_either_direction_passes(program):
    check_benchmarks(_frame(_row(), _row(measure_id="a1c_poor_control", threshold=0.48, benchmark=0.29),
                            _row(entity_type="cp_bh", measure_id="readmissions", bp=3, threshold=1.1, benchmark=0.85)),
                     program)


def test_duplicates_and_missing_values(program):
    frame = _frame(_row(), _row(benchmark=0.7), _row(bp=5, threshold=None))
    with pytest.raises(InputValidationError) as info:
        check_benchmarks(frame, program)
    message = str(info.value)
    assert "one row per entity_type, measure_id and budget_period\": 2 rows" in message
    assert "column attainment_threshold: rule \"no missing value\": 1 row" in message and "row 3:" in message


def test_reordering_rows_changes_nothing(program):
    frame = benchmarks_frame(program)
    check_benchmarks(frame.sample(frac=1, random_state=3), program)
    shuffled = replace_benchmarks(frame.sample(frac=1, random_state=4), frame.iloc[:5].sample(frac=1, random_state=5))
    assert shuffled.equals(replace_benchmarks(frame, frame.iloc[:5]))


# -- a run's file -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_read_round_trip(program, tmp_path, suffix):
    frame = benchmarks_frame(program, "cp_bh")
    path = tmp_path / f"benchmarks{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path, index=False)
    read = read_benchmarks(path)
    pd.testing.assert_frame_equal(read, frame)
    assert read.attrs["source"] == path.name


def _read_error(tmp_path, text, name="run_benchmarks.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputValidationError) as info:
        read_benchmarks(path)
    return str(info.value)


HEADER = ",".join(COLUMNS)


def test_missing_and_unknown_columns(tmp_path):
    message = _read_error(tmp_path, "entity_type,measure_id,budget_period,attainment_threshold,excellence\n")
    assert "run_benchmarks.csv:" in message
    assert "column excellence_benchmark: rule \"the column is present\"" in message
    assert "column excellence: rule \"a known column" in message


def test_non_numbers_and_missing_values_name_the_rows(tmp_path):
    message = _read_error(tmp_path, f"{HEADER}\naco,fuh_7_day,4,0.3,0.6\naco,fuh_7_day,5,high,0.6\naco,fuh_7_day,3,,0.6\n"
                                    "aco,fuh_7_day,2.5,0.3,0.6\n")
    assert "column attainment_threshold: rule \"a number\": 1 row, e.g." in message and "row 2:" in message
    assert "column attainment_threshold: rule \"no missing value\": 2 rows" in message
    assert "column budget_period: rule \"a whole number\": 1 row" in message and "row 4:" in message


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(InputValidationError, match="the file exists"):
        read_benchmarks(tmp_path / "absent.csv")
    assert "is .csv or .parquet, not '.xlsx'" in _read_error(tmp_path, "x", name="b.xlsx")


def test_errors_after_reading_name_the_file(program, tmp_path):
    path = tmp_path / "state_benchmarks.csv"
    _frame(_row(measure_id="nope")).to_csv(path, index=False)
    with pytest.raises(InputValidationError, match=r"(?s)state_benchmarks.csv:.*column measure_id"):
        check_benchmarks(read_benchmarks(path), program)


# -- override -------------------------------------------------------------------------------------------
def test_override_replaces_matching_rows_and_keeps_the_rest(program):
    base = benchmarks_frame(program)
    override = _frame(_row(bp=4, threshold=0.31, benchmark=0.55), _row(entity_type="csa", measure_id="fuh_7_day", bp=3,
                                                                      threshold=0.5, benchmark=0.7))
    out = replace_benchmarks(base, override)
    assert len(out) == len(base)
    fuh = out.set_index(COLUMNS[:3])
    assert tuple(fuh.loc[("aco", "fuh_7_day", 4)]) == (0.31, 0.55)
    assert tuple(fuh.loc[("aco", "fuh_7_day", 5)]) == (0.30, 0.58)          # other periods untouched
    assert tuple(fuh.loc[("csa", "fuh_7_day", 3)]) == (0.5, 0.7)
    check_benchmarks(out, program)


def test_override_adds_new_keys_and_refuses_its_own_duplicates(program):
    base = benchmarks_frame(program, "aco")
    out = replace_benchmarks(base, _frame(_row(entity_type="csa", measure_id="oral_evaluation", bp=4)))
    assert len(out) == len(base) + 1
    with pytest.raises(InputValidationError, match="one row per entity_type"):
        replace_benchmarks(base, _frame(_row(), _row(benchmark=0.7)))
