"""Row rules in DuckDB: nullability, value checks and per-row rules, every one counted in one pass.

A table's rows (all its part files at once, or an in-memory Arrow table) are a SQL relation
with the checkable columns cast to their canonical types, plus ``_part`` (the file a row
comes from) and ``_row`` (its 0-based number in that file). One aggregate query counts the
rows breaking each rule (``count_if`` per rule; a second one for the rules reading a float
column, see :func:`_statistics`); only a rule with a non-zero count costs another query, for
its first offending rows in file order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from dsrip_lib.inputs.problems import MAX_EXAMPLES, Problems, values_text
from dsrip_lib.inputs.tables import FLOAT, Col, TableSpec, sql_literal


@dataclass(frozen=True)
class Rows:
    """Rows to check: a SQL relation with ``_part``, ``_row`` and the contract columns, and the
    prefix each ``_part`` gets in an example line (e.g. ``"part-2.parquet "``; none for a single file)."""

    relation: str
    prefixes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _RowCheck:
    """One rule as SQL: the column(s) it is reported under, its text, a predicate true for a row
    breaking it, and whether that predicate compares a float column's values."""

    column: str
    rule: str
    broken: str
    floats: bool = False


def parquet_rows(location: Path, files: list[Path], columns: list[Col]) -> Rows:
    """The rows of Parquet files, read by name (parts may order or widen columns differently)."""
    casts = ", ".join(f"CAST({c.name} AS {c.kind.sql}) AS {c.name}" for c in columns)
    paths = ", ".join(sql_literal(str(p)) for p in files)
    relation = (f"(SELECT filename AS _part, file_row_number AS _row, {casts} FROM read_parquet([{paths}], "
                "filename = true, file_row_number = true, union_by_name = true, hive_partitioning = false))")
    prefixes = {str(p): f"{p.relative_to(location)} " for p in files} if location.is_dir() else {}
    return Rows(relation, prefixes)


def _row_checks(spec: TableSpec, usable: set[str]) -> list[_RowCheck]:
    """The rules that the ``usable`` columns allow: a rule needing an absent or mistyped column waits."""
    floats = {c.name for c in spec.columns if c.kind is FLOAT}
    checks = []
    for col in spec.columns:
        if col.name not in usable:
            continue
        if not col.nullable:
            checks.append(_RowCheck(col.name, "not null", f"{col.name} IS NULL"))
        checks += [_RowCheck(col.name, check.description,
                            f"{col.name} IS NOT NULL AND ({col.passes(check)}) IS FALSE", col.name in floats)
                   for check in col.checks]
    checks += [_RowCheck(", ".join(rule.columns), rule.description, f"({rule.sql}) IS FALSE",
                        bool(floats & set(rule.columns)))
               for rule in spec.row_rules if set(rule.columns) <= usable]
    return checks


@contextmanager
def _statistics(con: duckdb.DuckDBPyConnection, trusted: bool) -> Iterator[None]:
    """DuckDB's statistics propagation, on when ``trusted``.

    It folds a predicate that the Parquet min/max and null-count statistics decide (``x IS
    NULL`` in a column without nulls, a date inside the bounds) and skips reading the column,
    which saves most of the work. But Parquet's min/max leave NaN out, as the format says,
    and DuckDB takes them as bounds of every value: it folds ``isnan(x)`` to false and
    ``x >= 0`` to true (duckdb/duckdb#25521). A predicate comparing a float column's values
    runs without it.
    """
    if trusted:
        yield
        return
    con.execute("SET disabled_optimizers = 'statistics_propagation'")
    try:
        yield
    finally:
        con.execute("RESET disabled_optimizers")


def check_rows(con: duckdb.DuckDBPyConnection, rows: Rows, spec: TableSpec, usable: set[str], label: str,
               problems: Problems) -> None:
    """Count every rule's offending rows in one query (two with float rules); fetch examples of
    the rules some row breaks."""
    checks = _row_checks(spec, usable)
    shown = [c.name for c in spec.columns if c.name in usable]
    for floats in (False, True):
        group = [c for c in checks if c.floats == floats]
        if not group:
            continue
        with _statistics(con, trusted=not floats):
            counts = con.execute(f"SELECT {', '.join(f'count_if({c.broken})' for c in group)} "
                                 f"FROM {rows.relation}").fetchone()
            for check, count in zip(group, counts):
                if count:
                    examples = con.execute(f"SELECT _part, _row, {', '.join(shown)} FROM {rows.relation} "
                                           f"WHERE {check.broken} ORDER BY _part, _row LIMIT {MAX_EXAMPLES}").fetchall()
                    problems.add(label, check.column, check.rule, count,
                                 [f"{rows.prefixes.get(part, '')}row {row + 1}: {values_text(shown, values)}"
                                  for part, row, *values in examples])
