"""Validation of a data directory against the data contract.

Built to run at state scale within a few GiB of memory:

* row rules (types, nullability, code sets, ranges, per-row rules) are checked by pandera,
  file by file and batch by batch (pyarrow batches -> pandas -> ``schema.validate(lazy=True)``),
  aggregating counts and examples across batches;
* cross-row rules (unique grain, foreign keys, non-overlapping PCP-assignment spans) are SQL
  run by an in-process DuckDB over the files, which spills to disk instead of holding tables.

Every problem is reported with its file, column, rule, count and a few example rows.
"""

from __future__ import annotations

import csv
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pandera.pandas as pa
import pyarrow as arrow
import pyarrow.parquet as pq

from dsrip_lib.errors import InputValidationError
from dsrip_lib.inputs.files import csv_reader, locate, table_files
from dsrip_lib.inputs.tables import ForeignKey, ProgramArg, SqlRule, TableSpec, show, spec_of, tables

DOC = "docs/data_contract.md"
BATCH_ROWS = 250_000
MAX_EXAMPLES = 5
FILE = "(file)"  # the "column" of a problem with a whole file
# DuckDB's budget for the cross-row checks; beyond it, it spills to a temporary directory.
DUCKDB_MEMORY_LIMIT = "2GB"


# -- problems --------------------------------------------------------------------------------------
@dataclass
class Problem:
    """One broken rule in one table: how many rows (or keys) break it and a few examples."""

    column: str
    rule: str
    count: int = 0
    detail: str = ""
    examples: list[str] = field(default_factory=list)

    def add(self, count: int, examples: list[str]) -> None:
        self.count += count
        self.examples.extend(examples[: MAX_EXAMPLES - len(self.examples)])

    def __str__(self) -> str:
        head = f"  - rule \"{self.rule}\"" if self.column == FILE else f"  - column {self.column}: rule \"{self.rule}\""
        if self.count:
            head += f": {self.count:,} row{'s' * (self.count != 1)}{self.detail}"
        return "\n".join([head + (", e.g." if self.examples and self.count else ""),
                          *(f"      {e}" for e in self.examples)])


class _Problems:
    """Problems grouped by table location, in the order found."""

    def __init__(self) -> None:
        self.by_file: dict[str, dict[tuple[str, str], Problem]] = {}

    def add(self, file: str, column: str, rule: str, count: int = 0, examples: list[str] = (),
            detail: str = "") -> None:
        problems = self.by_file.setdefault(file, {})
        problems.setdefault((column, rule), Problem(column, rule, detail=detail)).add(count, list(examples))

    def __bool__(self) -> bool:
        return bool(self.by_file)

    def message(self, what: str, order: list[str] = ()) -> str:
        """All problems, one block per file, files in ``order`` (the contract's table order)."""
        rank = {label: i for i, label in enumerate(order)}
        files = sorted(self.by_file, key=lambda f: rank.get(f, len(rank)))
        n = sum(len(p) for p in self.by_file.values())
        lines = [f"{what} breaks the data contract ({DOC}): {n} problem{'s' * (n != 1)} "
                 f"in {len(self.by_file)} file{'s' * (len(self.by_file) != 1)}"]
        for file in files:
            lines.append(f"{file}:")
            lines.extend(str(p) for p in self.by_file[file].values())
        return "\n".join(lines)


def _row_text(prefix: str, row: pd.Series) -> str:
    return prefix + ", ".join(f"{k}={show(v)}" for k, v in row.items())


# -- row rules: per file, per batch ---------------------------------------------------------------
def _usable_columns(file_schema: arrow.Schema, spec: TableSpec, file: str, problems: _Problems) -> set[str]:
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


def _to_frame(batch: arrow.RecordBatch | arrow.Table, spec: TableSpec, usable: set[str], offset: int) -> pd.DataFrame:
    """Contract columns of ``batch`` as canonical Arrow-backed pandas columns, indexed by row number."""
    cols = [c for c in spec.columns if c.name in usable]
    table = arrow.table([batch.column(c.name).cast(c.kind.canonical) for c in cols], names=[c.name for c in cols])
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    frame.index = pd.RangeIndex(offset, offset + len(frame))
    return frame


_PANDERA_CHECK_NAMES = {"not_nullable": "not null"}


def _check_frame(frame: pd.DataFrame, schema: pa.DataFrameSchema, spec: TableSpec, file: str, part: str,
                 problems: _Problems) -> None:
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.copy()
        # a row rule is reported once per row (pandera lists it once per column of the row)
        is_rule = cases["schema_context"] == "DataFrameSchema"
        cases.loc[is_rule, "column"] = cases.loc[is_rule, "check"].map({r.description: ", ".join(r.columns)
                                                                         for r in spec.row_rules})
        cases["column"] = cases["column"].fillna(FILE)
        cases["check"] = cases["check"].replace(_PANDERA_CHECK_NAMES)
        for (column, check), group in cases.groupby(["column", "check"], sort=False):
            rows = pd.Index(group["index"].dropna().unique())
            if rows.empty:  # a check that could not run at all: show pandera's reason
                reasons = group["failure_case"].unique()[:MAX_EXAMPLES]
                problems.add(file, column, check, examples=[str(v) for v in reasons])
                continue
            shown = frame.loc[rows[:MAX_EXAMPLES].astype(int)]
            problems.add(file, column, check, len(rows),
                         [_row_text(f"{part}row {i + 1}: ", row) for i, row in shown.iterrows()])


def _check_batches(batches, spec: TableSpec, usable: set[str], file: str, part: str, problems: _Problems) -> int:
    """Row rules over the Arrow batches of one file; returns the number of rows checked."""
    schema, offset = spec.schema(usable), 0
    for batch in batches:
        frame = _to_frame(batch, spec, usable, offset)
        _check_frame(frame, schema, spec, file, part, problems)
        offset += len(frame)
    return offset


def _check_rows(location: Path, spec: TableSpec, label: str,
                problems: _Problems) -> tuple[int, set[str], arrow.Table | None]:
    """Row rules of every file of a table; returns (rows, checkable columns, the CSV's table)."""
    files = table_files(location)
    if not files:
        problems.add(label, FILE, "a Parquet directory holds at least one part file")
        return 0, set(), None
    total, usable_all, csv_table = 0, set(spec.column_names), None
    for path in files:
        part = f"{path.relative_to(location)} " if location.is_dir() else ""
        kept: list[arrow.RecordBatch] = []  # a CSV is small by contract: kept for the cross-row checks
        try:
            batches, schema = _open_batches(path, spec)
            usable = _usable_columns(schema, spec, label, problems)
            usable_all &= usable
            if path.suffix == ".csv":
                batches = (kept.append(b) or b for b in batches)
            total += _check_batches(batches, spec, usable, label, part, problems)
        except (arrow.ArrowException, OSError) as exc:
            column = _csv_column(str(exc), path)
            if column:  # a CSV value that does not parse as its column's type
                problems.add(label, column, f"type {_kind_of(spec, column)}", examples=[f"{part}{exc}"])
            else:
                problems.add(label, FILE, f"readable {path.suffix[1:]}", examples=[f"{part}{exc}"])
            usable_all = set()  # cross-row rules wait until the table can be read
            continue
        if path.suffix == ".csv":
            csv_table = arrow.Table.from_batches(kept, schema=schema)
    return total, usable_all, csv_table


def _open_batches(path: Path, spec: TableSpec) -> tuple[Iterator[arrow.RecordBatch], arrow.Schema]:
    if path.suffix == ".csv":
        reader = csv_reader(path, spec)
        return iter(reader), reader.schema
    parquet = pq.ParquetFile(path)
    wanted = [c for c in spec.column_names if c in parquet.schema_arrow.names]
    return parquet.iter_batches(batch_size=BATCH_ROWS, columns=wanted), parquet.schema_arrow


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


# -- cross-row rules: SQL over the files ---------------------------------------------------------------
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


@dataclass
class _Found:
    """A table found in a data directory, with what row validation learned about it."""

    label: str
    rows: int
    usable: set[str]


def _register(con, name: str, location: Path | None, table: arrow.Table | None) -> None:
    if table is not None:
        con.register(name, table)
    else:
        con.read_parquet([str(p) for p in table_files(location)], union_by_name=True).create_view(name)


def _keys_text(names: tuple[str, ...], values: tuple) -> str:
    return ", ".join(f"{k}={show(v)}" for k, v in zip(names, values))


def _check_grain(con, spec: TableSpec, found: _Found, problems: _Problems) -> None:
    """Rows sharing the table's grain (its declared key)."""
    cols = ", ".join(spec.grain)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _dup AS "
                f"SELECT {cols}, count(*) AS n FROM {spec.name} GROUP BY ALL HAVING count(*) > 1")
    keys, rows = con.execute("SELECT count(*), coalesce(sum(n), 0) FROM _dup").fetchone()
    if keys:
        examples = con.execute(f"SELECT * FROM _dup ORDER BY n DESC, {cols} LIMIT {MAX_EXAMPLES}").fetchall()
        problems.add(found.label, cols, "unique (the table's grain)", int(rows),
                     [f"{_keys_text(spec.grain, e[:-1])}: {e[-1]} rows" for e in examples],
                     detail=f" share {keys:,} key{'s' * (keys != 1)}")


def _check_foreign_key(con, spec: TableSpec, fk: ForeignKey, found: _Found, problems: _Problems) -> None:
    """Non-null values of ``fk.column`` absent from the referenced table."""
    of_type = (f"WHERE entity_type IN ({', '.join(repr(t) for t in fk.entity_types)})" if fk.entity_types else "")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _orphan AS SELECT c.{fk.column} AS value, count(*) AS n "
                f"FROM {spec.name} c ANTI JOIN (SELECT {fk.ref_column} AS k FROM {fk.ref_table} {of_type}) r "
                f"ON c.{fk.column} = r.k WHERE c.{fk.column} IS NOT NULL GROUP BY c.{fk.column}")
    values, rows = con.execute("SELECT count(*), coalesce(sum(n), 0) FROM _orphan").fetchone()
    if values:
        examples = con.execute(f"SELECT * FROM _orphan ORDER BY n DESC, value LIMIT {MAX_EXAMPLES}").fetchall()
        problems.add(found.label, fk.column, fk.description, int(rows),
                     [f"{fk.column}={show(v)}: {n} row{'s' * (n != 1)}" for v, n in examples],
                     detail=f" ({values:,} distinct value{'s' * (values != 1)})")


def _check_sql_rule(con, rule: SqlRule, found: _Found, problems: _Problems) -> None:
    """Rows returned by a rule's query: their count and the first few."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _bad AS {rule.select}")
    (rows,) = con.execute("SELECT count(*) FROM _bad").fetchone()
    if rows:
        examples = con.execute(f"SELECT * FROM _bad ORDER BY ALL LIMIT {MAX_EXAMPLES}").fetchall()
        problems.add(found.label, rule.columns, rule.description, int(rows), [rule.example(e) for e in examples])


def _check_cross_rows(con, specs: dict[str, TableSpec], found: dict[str, _Found], problems: _Problems,
                      foreign_keys: bool = True) -> int:
    """Cross-row rules of every found table whose columns allow them; returns how many ran."""
    ran = 0
    for name, f in found.items():
        spec = specs[name]
        if set(spec.grain) <= f.usable:
            _check_grain(con, spec, f, problems)
            ran += 1
        for rule in spec.sql_rules:
            if all(t in found and set(cols) <= found[t].usable for t, cols in rule.needs):
                _check_sql_rule(con, rule, f, problems)
                ran += 1
        for fk in spec.foreign_keys if foreign_keys else ():
            ref = found.get(fk.ref_table)
            if fk.column in f.usable and ref is not None and fk.ref_columns <= ref.usable:
                _check_foreign_key(con, spec, fk, f, problems)
                ran += 1
    return ran


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
    problems = _Problems()
    table = arrow.Table.from_pandas(df, preserve_index=False)
    usable = _usable_columns(table.schema, spec, label, problems)
    _check_batches(table.to_batches(BATCH_ROWS), spec, usable, label, "", problems)
    with _duckdb() as con:
        _register(con, name, None, table)
        _check_cross_rows(con, {name: spec}, {name: _Found(label, len(df), usable)}, problems, foreign_keys=False)
    if problems:
        raise InputValidationError(problems.message(label))


def validate_dir(path: str | Path, program: ProgramArg = None) -> str:
    """Check every contract table in a data directory; return a short summary of what was checked.

    Required tables must be present; optional ones are checked when present. Row rules run
    file by file in batches (pandera); grain, foreign keys and span overlaps run in DuckDB.

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
    problems = _Problems()
    found: dict[str, _Found] = {}
    csv_tables: dict[str, arrow.Table | None] = {}
    for name, spec in specs.items():
        location = locate(data_dir, name)
        if location is None:
            if spec.required:
                problems.add(f"{name}.parquet", FILE, f"required table is missing (no {name}.parquet or {name}.csv)")
            continue
        label = location.name + ("/" if location.is_dir() else "")
        if location.suffix == ".parquet" and (data_dir / f"{name}.csv").exists():
            problems.add(label, FILE, f"one file per table: remove {name}.parquet or {name}.csv")
        rows, usable, csv_tables[name] = _check_rows(location, spec, label, problems)
        found[name] = _Found(label, rows, usable)
    with _duckdb() as con:
        for name in found:
            if found[name].usable:
                _register(con, name, locate(data_dir, name), csv_tables[name])
        ran = _check_cross_rows(con, specs, found, problems)
    if problems:
        order = [found[n].label if n in found else f"{n}.parquet" for n in specs]
        raise InputValidationError(problems.message(f"data directory {data_dir}", order))
    return _summary(data_dir, specs, found, ran, time.perf_counter() - started)


def _summary(data_dir: Path, specs: dict[str, TableSpec], found: dict[str, _Found], ran: int, seconds: float) -> str:
    width = max(len(f.label) for f in found.values())
    lines = [f"data directory {data_dir} conforms to the data contract ({DOC})"]
    lines += [f"  {f.label:<{width}}  {f.rows:>13,} row{'s' * (f.rows != 1)}" for f in found.values()]
    absent = [n for n in specs if n not in found]
    if absent:
        lines.append(f"  optional tables absent: {', '.join(absent)}")
    known = {Path(f.label.rstrip("/")).name for f in found.values()}
    ignored = sorted(p.name for p in data_dir.iterdir() if p.name not in known and not p.name.startswith("."))
    if ignored:
        lines.append(f"  not part of the contract (ignored): {', '.join(ignored)}")
    rules = sum(len(specs[n].columns) + len(specs[n].row_rules) for n in found)
    lines.append(f"  checked {rules} column and row rules (pandera) and {ran} grain, foreign-key and span rules "
                 f"(DuckDB) in {seconds:.1f} s")
    return "\n".join(lines)
