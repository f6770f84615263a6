"""Attainment thresholds and excellence benchmarks as a table a run can replace.

The protocol never published them (Sec 5.3.1.1), so the program definition ships illustrative
values (``measure_benchmarks``). A run reads its own from a file (:func:`read_benchmarks`),
checks them against the slates (:func:`check_benchmarks`) and lays them over the program's
(:func:`replace_benchmarks`). One row per entity type, measure and budget period.

References
----------
MassHealth DSRIP Protocol, Sec 5.3.1.1 (Attainment Thresholds and Excellence Benchmarks),
Sec 5.3.1.2 (achievement points), Sec 5.4.4.1, Appendix D.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dsrip_lib.errors import InputValidationError
from dsrip_lib.inputs.problems import FILE, Problems, values_text
from dsrip_lib.program import Program
from dsrip_lib.program.measures import SLATE_ENTITY_TYPES, is_benchmarked, wrong_side

KEY = ["entity_type", "measure_id", "budget_period"]
VALUES = ["attainment_threshold", "excellence_benchmark"]
COLUMNS = KEY + VALUES
SOURCE_ATTR = "source"  # DataFrame.attrs key: the file a frame was read from, named in errors
_READERS = {".csv": lambda p: pd.read_csv(p, dtype={"entity_type": str, "measure_id": str}),
            ".parquet": pd.read_parquet}


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[COLUMNS].astype({"entity_type": str, "measure_id": str, "budget_period": "int64",
                                 "attainment_threshold": "float64", "excellence_benchmark": "float64"})
    return out.reset_index(drop=True)


def benchmarks_frame(program: Program, entity_type: str | None = None) -> pd.DataFrame:
    """The program's attainment thresholds and excellence benchmarks, one row per stated cell.

    Parameters
    ----------
    program
        A program with a ``measure_benchmarks`` block.
    entity_type
        One of ``aco``, ``cp_bh``, ``cp_ltss``, ``csa``; all of them when None.

    Returns
    -------
    DataFrame with columns entity_type, measure_id, budget_period, attainment_threshold,
    excellence_benchmark, in slate order.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.1 (the values are illustrative: none were published).
    """
    bench = program.require("measure_benchmarks")
    types = SLATE_ENTITY_TYPES if entity_type is None else (entity_type,)
    rows = [(et, measure_id, bp, cell.attainment_threshold, cell.excellence_benchmark)
            for et in types for measure_id, cells in bench.table(et).items() for bp, cell in sorted(cells.items())]
    return _typed(pd.DataFrame(rows, columns=COLUMNS))


def _raise(problems: Problems, what: str) -> None:
    n = sum(len(p) for p in problems.by_file.values())
    lines = [f"{what}: {n} problem{'s' * (n != 1)} (docs/methodology/measure_slates.md, benchmarks)"]
    for file, found in problems.by_file.items():
        lines.append(f"{file}:")
        lines.extend(str(p) for p in found.values())
    raise InputValidationError("\n".join(lines))


def _examples(frame: pd.DataFrame, mask: pd.Series) -> list[str]:
    rows = frame[mask]
    return [f"row {i + 1}: " + values_text(COLUMNS, r) for i, r in zip(rows.index, rows[COLUMNS].itertuples(index=False))]


def read_benchmarks(path: str | Path) -> pd.DataFrame:
    """Read a benchmark file (CSV or Parquet) with the columns of :func:`benchmarks_frame`.

    Checks the shape only (columns, numbers, no missing values); :func:`check_benchmarks`
    checks the rows against a program. The frame remembers its file (``attrs["source"]``) so
    later errors name it. Example rows are numbered from 1 (the first data row).

    Raises
    ------
    InputValidationError
        Missing file, unknown format, a missing or unknown column, a value that is not a
        number, or a missing value: naming the file, the column, the rule and the rows.
    """
    path = Path(path)
    label = path.name
    problems = Problems()
    if path.suffix.lower() not in _READERS:
        problems.add(label, FILE, f"a benchmark file is .csv or .parquet, not {path.suffix or 'no suffix'!r}")
    elif not path.is_file():
        problems.add(label, FILE, f"the file exists ({path})")
    if problems:
        _raise(problems, "benchmark file")
    raw = _READERS[path.suffix.lower()](path)
    missing = [c for c in COLUMNS if c not in raw.columns]
    unknown = [c for c in raw.columns if c not in COLUMNS]
    for column in missing:
        problems.add(label, column, "the column is present")
    for column in unknown:
        problems.add(label, column, f"a known column (expected {', '.join(COLUMNS)})")
    if problems:
        _raise(problems, "benchmark file")
    for column in KEY[2:] + VALUES:
        number = pd.to_numeric(raw[column], errors="coerce")
        bad = number.isna() & raw[column].notna()
        if bad.any():
            problems.add(label, column, "a number", int(bad.sum()), _examples(raw, bad))
        raw[column] = number
    periods = raw["budget_period"]
    fractional = periods.notna() & (periods != periods.round())
    if fractional.any():
        problems.add(label, "budget_period", "a whole number", int(fractional.sum()), _examples(raw, fractional))
    for column in COLUMNS:
        empty = raw[column].isna()
        if empty.any():
            problems.add(label, column, "no missing value", int(empty.sum()), _examples(raw, empty))
    if problems:
        _raise(problems, "benchmark file")
    out = _typed(raw)
    out.attrs[SOURCE_ATTR] = label
    return out


def check_benchmarks(frame: pd.DataFrame, program: Program) -> None:
    """Check benchmark rows against the program's slates.

    Every row names a measure of its entity type's slate that is scored against benchmarks
    and is pay-for-performance in the row's budget period; no key appears twice; no value is
    missing; the attainment threshold is strictly worse than the excellence benchmark for the
    measure's direction (below it when higher is better, above it when lower is better).

    Raises
    ------
    InputValidationError
        Every broken rule, naming the file (``frame.attrs["source"]``), column, rule and rows.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.2 (points rise from the Attainment Threshold to the
    Excellence Benchmark), Appendix D (slates, phase-in).
    """
    label = frame.attrs.get(SOURCE_ATTR, "benchmarks")
    problems = Problems()
    missing = [c for c in COLUMNS if c not in frame.columns]
    for column in missing:
        problems.add(label, column, "the column is present")
    if problems:
        _raise(problems, "benchmarks")
    frame = frame.reset_index(drop=True)
    for column in COLUMNS:
        empty = frame[column].isna()
        if empty.any():
            problems.add(label, column, "no missing value", int(empty.sum()), _examples(frame, empty))
    duplicated = frame.duplicated(KEY, keep=False)
    if duplicated.any():
        problems.add(label, "measure_id", "one row per entity_type, measure_id and budget_period",
                     int(duplicated.sum()), _examples(frame, duplicated))
    slates = program.require("measures")
    by_id = {(et, m.id): m for et in SLATE_ENTITY_TYPES for m in slates.slate(et)}
    rules = {"entity_type": [], "measure_id": [], "budget_period": [], "attainment_threshold": []}
    for i, row in enumerate(frame[COLUMNS].itertuples(index=False)):
        if pd.isna(row.budget_period) or pd.isna(row.attainment_threshold) or pd.isna(row.excellence_benchmark):
            continue
        measure = by_id.get((row.entity_type, row.measure_id))
        if row.entity_type not in SLATE_ENTITY_TYPES:
            rules["entity_type"].append(i)
        elif measure is None or not is_benchmarked(row.entity_type, measure):
            rules["measure_id"].append(i)
        elif measure.basis.get(int(row.budget_period)) != "performance":
            rules["budget_period"].append(i)
        elif wrong_side(row.attainment_threshold, row.excellence_benchmark, measure.higher_is_better):
            rules["attainment_threshold"].append(i)
    text = {
        "entity_type": f"one of {', '.join(SLATE_ENTITY_TYPES)}",
        "measure_id": "a measure of the entity type's slate scored against benchmarks (program measures)",
        "budget_period": "a budget period in which the measure is pay-for-performance (Appendix D)",
        "attainment_threshold": "below the excellence benchmark when higher is better, above it when lower is better",
    }
    for column, rows in rules.items():
        if rows:
            mask = frame.index.isin(rows)
            problems.add(label, column, text[column], len(rows), _examples(frame, mask))
    if problems:
        _raise(problems, "benchmarks")


def replace_benchmarks(base: pd.DataFrame, override: pd.DataFrame) -> pd.DataFrame:
    """``base`` with the rows of ``override`` in place of base rows with the same key.

    Override rows whose key is not in ``base`` are added. This is how a run's benchmark file
    replaces the program's illustrative values; check the result with :func:`check_benchmarks`.

    Raises
    ------
    InputValidationError
        If ``override`` has a key twice (which row would win is ambiguous).
    """
    label = override.attrs.get(SOURCE_ATTR, "override")
    duplicated = override.duplicated(KEY, keep=False)
    if duplicated.any():
        problems = Problems()
        problems.add(label, "measure_id", "one row per entity_type, measure_id and budget_period",
                     int(duplicated.sum()), _examples(override.reset_index(drop=True), duplicated.to_numpy()))
        _raise(problems, "benchmark override")
    override = _typed(override)
    kept = base.merge(override[KEY], on=KEY, how="left", indicator=True)["_merge"].eq("left_only").to_numpy()
    out = _typed(pd.concat([_typed(base)[kept], override], ignore_index=True))
    return out.sort_values(KEY, kind="stable", ignore_index=True)
