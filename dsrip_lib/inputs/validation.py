"""Validation of a data directory against the data contract.

Built to run at state scale (about 134 M rows) in seconds and within a few GiB of memory, in
one in-process DuckDB that spills to disk instead of holding tables:

* column types are checked from each file's schema alone (a Parquet footer; a CSV, small by
  contract, is read whole with the contract's types);
* row rules (nullability, code sets, ranges, per-row rules) are SQL predicates counted in
  one aggregate query per table over all its part files (:mod:`~dsrip_lib.inputs.row_rules`);
* cross-row rules (unique grain, foreign keys, non-overlapping PCP-assignment spans, ``chc_pcp``)
  are Ibis expressions over the same files (:mod:`~dsrip_lib.inputs.cross_row_rules`), run in the
  same DuckDB, or on the run's engine when that is not DuckDB (Spark, a warehouse: ``backend``).

Every problem is reported with its file, column, rule, count and a few example rows.
"""

from __future__ import annotations

import csv
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as arrow
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

from dsrip_lib.errors import InputValidationError
from dsrip_lib.inputs.backends import connect
from dsrip_lib.inputs.cross_row_rules import Found, Views, check_cross_rows
from dsrip_lib.inputs.files import locate, read_csv, table_files
from dsrip_lib.inputs.problems import DOC, FILE, Problems
from dsrip_lib.inputs.row_rules import Rows, check_rows, parquet_rows
from dsrip_lib.inputs.tables import Col, ProgramArg, TableSpec, spec_of, tables
from dsrip_lib.progress import Callback, Step

BATCH_ROWS = 2_000_000  # rows per batch streamed out of DuckDB (a grain's key hashes: 16 MB)
# DuckDB's memory budget; beyond it, it spills to a temporary directory.
DUCKDB_MEMORY_LIMIT = "2GB"


@contextmanager
def _duckdb() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-process DuckDB with a bounded memory budget that spills to a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="dsrip-validate-") as spill:
        con = duckdb.connect()
        try:
            con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
            con.execute(f"SET temp_directory = '{spill}'")
            con.execute("SET preserve_insertion_order = false")
            yield con
        finally:
            con.close()


# -- column types: from file schemas ------------------------------------------------------------
def _usable_columns(file_schema: arrow.Schema, spec: TableSpec, file: str, problems: Problems) -> set[str]:
    """Report missing, unexpected and mistyped columns; return the columns that can be checked."""
    present = {f.name: f.type for f in file_schema}
    for col in spec.columns:
        if col.name not in present:
            problems.add(file, col.name, "required column is missing")
    for name in present.keys() - set(spec.column_names):
        problems.add(file, name, f"unexpected column (the contract's columns: {', '.join(spec.column_names)})")
    usable = set()
    for col in spec.columns:
        found = present.get(col.name)
        if found is None:
            continue
        if col.kind.accepts(found) or arrow.types.is_null(found):
            usable.add(col.name)
        else:
            problems.add(file, col.name, f"type {col.kind.name}", examples=[f"found type {found}"])
    return usable


def _csv_column(error: str, path: Path) -> str | None:
    """The column named by pyarrow's CSV conversion error ("In CSV column #3: ..."), if any."""
    match = re.search(r"CSV column #(\d+)", error)
    if path.suffix != ".csv" or not match:
        return None
    with path.open(newline="") as f:
        header = next(csv.reader(f), [])
    index = int(match.group(1))
    return header[index] if index < len(header) else None


def _kind_of(spec: TableSpec, column: str) -> str:
    return next((c.kind.name for c in spec.columns if c.name == column), "?")


# -- one table: types, row rules, and its view for the cross-row rules ---------------------------
def _columns(spec: TableSpec, usable: set[str]) -> list[Col]:
    return [c for c in spec.columns if c.name in usable]


def _create_view(con, spec: TableSpec, rows: Rows, usable: set[str]) -> None:
    """Table ``spec.name`` for the cross-row rules: its checkable columns."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW {spec.name} AS "
                f"SELECT {', '.join(c.name for c in _columns(spec, usable))} FROM {rows.relation}")


def _check_arrow(con, spec: TableSpec, table: arrow.Table, label: str, problems: Problems) -> Found:
    """An in-memory table (a CSV read whole, or a frame): its types, then its rows in DuckDB."""
    usable = _usable_columns(table.schema, spec, label, problems)
    columns = _columns(spec, usable)
    rows = arrow.table([table[c.name].cast(c.kind.canonical) for c in columns]
                       + [arrow.nulls(table.num_rows, arrow.string()), np.arange(table.num_rows)],
                       names=[c.name for c in columns] + ["_part", "_row"])
    con.register(f"_{spec.name}_rows", rows)
    source = Rows(f"_{spec.name}_rows")
    check_rows(con, source, spec, usable, label, problems)
    if usable:
        _create_view(con, spec, source, usable)
    return Found(label, table.num_rows, usable)


def _check_csv(con, spec: TableSpec, path: Path, label: str, problems: Problems) -> Found:
    try:
        table = read_csv(path, spec)
    except (arrow.ArrowException, OSError) as exc:
        column = _csv_column(str(exc), path)
        if column:  # a CSV value that does not parse as its column's type
            problems.add(label, column, f"type {_kind_of(spec, column)}", examples=[str(exc)])
        else:
            problems.add(label, FILE, "readable csv", examples=[str(exc)])
        return Found(label, 0, set())
    return _check_arrow(con, spec, table, label, problems)


def _check_parquet(con, spec: TableSpec, location: Path, label: str, problems: Problems) -> Found:
    """A Parquet file or part directory: each part's schema, then the row rules over the parts
    whose checkable columns agree (normally all of them) in one query."""
    files = table_files(location)
    if not files:
        problems.add(label, FILE, "a Parquet directory holds at least one part file")
        return Found(label, 0, set())
    rows, usable_all = 0, set(spec.column_names)
    by_usable: dict[frozenset[str], list[Path]] = {}
    for path in files:
        try:
            with pq.ParquetFile(path) as parquet:  # reads the footer only
                schema, rows = parquet.schema_arrow, rows + parquet.metadata.num_rows
        except (arrow.ArrowException, OSError) as exc:
            part = f"{path.relative_to(location)} " if location.is_dir() else ""
            problems.add(label, FILE, "readable parquet", examples=[f"{part}{exc}"])
            usable_all = set()  # cross-row rules wait until the table can be read
            continue
        usable = _usable_columns(schema, spec, label, problems)
        usable_all &= usable
        by_usable.setdefault(frozenset(usable), []).append(path)
    for usable, paths in by_usable.items():
        try:
            check_rows(con, parquet_rows(location, paths, _columns(spec, usable)), spec, set(usable), label, problems)
        except duckdb.Error as exc:  # e.g. a damaged page behind a sound footer
            problems.add(label, FILE, "readable parquet", examples=[str(exc)])
            usable_all = set()
    if usable_all:
        _create_view(con, spec, parquet_rows(location, files, _columns(spec, usable_all)), usable_all)
    return Found(label, rows, usable_all)


# -- public entry points -----------------------------------------------------------------------------
def validate_table(name: str, df: pd.DataFrame, source: str | None = None, program: ProgramArg = None) -> None:
    """Check an in-memory frame against table ``name``'s row rules, grain and spans.

    Foreign keys need the other tables: ``validate_dir`` checks them.

    Raises
    ------
    InputValidationError
        Naming ``source`` (default: the table name), the column, the rule, the number of bad
        rows and up to five examples.
    """
    spec = spec_of(tables(program), name)
    label = source or f"{name} (in memory)"
    problems = Problems()
    with _duckdb() as con:
        found = _check_arrow(con, spec, arrow.Table.from_pandas(df, preserve_index=False), label, problems)
        check_cross_rows(Views.on_duckdb(con, {name: found}), {name: spec}, {name: found}, problems, BATCH_ROWS,
                         foreign_keys=False)
    if problems:
        raise InputValidationError(problems.message(label))


def validate_dir(path: str | Path, program: ProgramArg = None, progress: Callback | None = None,
                 backend: str | BaseBackend | None = None) -> str:
    """Check every contract table in a data directory; return a short summary of what was checked.

    Required tables must be present; optional ones are checked when present. Column types come
    from the file schemas; row rules, grain, foreign keys and span overlaps run in DuckDB.
    ``progress`` is told of each table checked, then of the cross-row rules (:mod:`dsrip_lib.progress`).
    ``backend``: the run's engine (as :func:`~dsrip_lib.inputs.backends.connect` takes it); when it
    is not DuckDB, the grain, foreign-key and span rules run there instead (docs/scale.md).

    Raises
    ------
    InputValidationError
        With every problem of the directory, grouped by file: the column, the rule, the
        number of bad rows and up to five examples.
    """
    started = time.perf_counter()
    data_dir = Path(path)
    if not data_dir.is_dir():
        raise InputValidationError(f"data directory {data_dir} does not exist or is not a directory")
    specs = tables(program)
    problems = Problems()
    found: dict[str, Found] = {}
    steps = len(specs) + 1
    with _duckdb() as con:
        for done, (name, spec) in enumerate(specs.items(), start=1):
            step_started = time.perf_counter()
            location = locate(data_dir, name)
            if location is None:
                if spec.required:
                    problems.add(f"{name}.parquet", FILE,
                                 f"required table is missing (no {name}.parquet or {name}.csv)")
                if progress:
                    progress(Step("validate", done, steps, f"{name} (absent)"))
                continue
            label = location.name + ("/" if location.is_dir() else "")
            if location.suffix == ".parquet" and (data_dir / f"{name}.csv").exists():
                problems.add(label, FILE, f"one file per table: remove {name}.parquet or {name}.csv")
            check = _check_csv if location.suffix == ".csv" else _check_parquet
            found[name] = check(con, spec, location, label, problems)
            if spec.required and found[name].rows == 0 and found[name].usable:
                problems.add(label, FILE, "a required table has rows (this one is empty)")
            if progress:
                progress(Step("validate", done, steps, label, time.perf_counter() - step_started))
        step_started = time.perf_counter()
        engine = _engine(backend)
        views = Views.on_duckdb(con, found) if engine is None else Views.on_backend(engine, data_dir, specs, found)
        ran = check_cross_rows(views, specs, found, problems, BATCH_ROWS)
        if progress:
            progress(Step("validate", steps, steps, "cross-row rules", time.perf_counter() - step_started))
    if problems:
        order = [found[n].label if n in found else f"{n}.parquet" for n in specs]
        raise InputValidationError(problems.message(f"data directory {data_dir}", order))
    where = "DuckDB" if engine is None else f"row rules in DuckDB, the others on {engine.name}"
    return _summary(data_dir, specs, found, ran, where, time.perf_counter() - started)


def _engine(backend: str | BaseBackend | None) -> BaseBackend | None:
    """Where the cross-row rules run: None for validation's own DuckDB (the run computes on DuckDB,
    on this machine, too), else the run's engine."""
    if backend is None or (isinstance(backend, str) and (backend == "duckdb" or backend.startswith("duckdb://"))):
        return None
    con = connect(backend)
    return None if con.name == "duckdb" else con


def _summary(data_dir: Path, specs: dict[str, TableSpec], found: dict[str, Found], ran: int, where: str,
             seconds: float) -> str:
    width = max(len(f.label) for f in found.values())
    lines = [f"data directory {data_dir} conforms to the data contract ({DOC})"]
    lines += [f"  {f.label:<{width}}  {f.rows:>13,} row{'s' * (f.rows != 1)}" + ("  (empty)" if not f.rows else "")
              for f in found.values()]
    absent = [n for n in specs if n not in found]
    if absent:
        lines.append(f"  optional tables absent: {', '.join(absent)}")
    known = {Path(f.label.rstrip("/")).name for f in found.values()}
    ignored = sorted(p.name for p in data_dir.iterdir() if p.name not in known and not p.name.startswith("."))
    if ignored:
        lines.append(f"  not part of the contract (ignored): {', '.join(ignored)}")
    rules = sum(len(specs[n].columns) + len(specs[n].row_rules) for n in found)
    lines.append(f"  checked {rules} column and row rules and {ran} grain, foreign-key and span rules "
                 f"({where}) in {seconds:.1f} s")
    return "\n".join(lines)
