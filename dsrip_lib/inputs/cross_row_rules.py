"""Cross-row rules as Ibis expressions: unique grain, foreign keys and the tables' SQL rules (spans, ``chc_pcp``).

They run on an Ibis backend over :class:`Views` of the tables (their checkable columns): the
validation's own DuckDB by default, or the run's engine (Spark, a warehouse), so a state's data is
checked where it lies and only counts and a few example rows come back. A table's SQL rules are
written once in DuckDB's dialect (:class:`~dsrip_lib.inputs.tables.SqlRule`); Ibis translates them
to the engine's. The checks count the offending keys or rows first and fetch examples only when
there are some. On DuckDB a grain is first checked without DuckDB's GROUP BY, whose hash table over
tens of millions of distinct keys is the dearest step of validation: see :func:`_may_repeat`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import sqlglot
from ibis.backends import BaseBackend
from sqlglot.expressions import replace_tables

from dsrip_lib.inputs.backends import register, unique_name
from dsrip_lib.inputs.files import locate
from dsrip_lib.inputs.problems import FILE, MAX_EXAMPLES, Problems, values_text
from dsrip_lib.inputs.tables import ForeignKey, SqlRule, TableSpec, show


@dataclass
class Found:
    """A table found in a data directory (or in memory), with what row validation learned about it."""

    label: str
    rows: int
    usable: set[str]


@dataclass
class Views:
    """The found tables' checkable columns as Ibis tables on one backend, and the view names by
    which SQL rules read them (``sql_names``); ``duckdb`` is the raw connection when the backend
    is validation's own DuckDB, whose ``errors`` (a damaged page behind a sound footer) are
    problems of the file."""

    con: BaseBackend
    tables: dict[str, ir.Table]
    sql_names: dict[str, str]
    duckdb: duckdb.DuckDBPyConnection | None = None
    errors: tuple[type[Exception], ...] = ()

    @classmethod
    def on_duckdb(cls, con: duckdb.DuckDBPyConnection, found: dict[str, Found]) -> Views:
        """The views named after the tables on validation's DuckDB connection."""
        backend = ibis.duckdb.from_connection(con)
        names = [n for n, f in found.items() if f.usable]
        return cls(backend, {n: backend.table(n) for n in names}, {n: n for n in names}, con, (duckdb.Error,))

    @classmethod
    def on_backend(cls, con: BaseBackend, data_dir: Path, specs: dict[str, TableSpec],
                   found: dict[str, Found]) -> Views:
        """The found tables' files registered on ``con`` (the run's engine), under names unique to this
        check; a view over the contract's types only for the tables a SQL rule names (a view costs a query)."""
        named = {t for spec in specs.values() for rule in spec.sql_rules for t, _ in rule.needs}
        tables, sql_names = {}, {}
        for name, f in found.items():
            if not f.usable:
                continue
            spec = specs[name]
            tables[name] = register(con, locate(data_dir, name), spec, [c for c in spec.column_names if c in f.usable])
            if name in named:
                sql_names[name] = unique_name(name)
                tables[name] = con.create_view(sql_names[name], tables[name], overwrite=True)
        return cls(con, tables, sql_names)


def _may_repeat(con: duckdb.DuckDBPyConnection, view: str, spec: TableSpec, batch_rows: int) -> bool:
    """Whether two rows may share the table's grain: a 64-bit hash of every row's key, sorted
    (numpy), has two equal neighbours. Equal keys hash equally, so none proves the grain
    unique; a repeat (or, about once in 10^4 state-sized tables, a collision) calls for the exact check.
    DuckDB only: on a distributed engine the keys stay where they are and the exact check runs."""
    [(rows,)] = con.execute(f"SELECT count(*) FROM {view}").fetchall()
    hashes = np.empty(rows, dtype=np.uint64)
    filled = 0
    for batch in con.sql(f"SELECT hash({', '.join(spec.grain)}) FROM {view}").to_arrow_reader(batch_rows):
        hashes[filled:filled + batch.num_rows] = batch.column(0).to_numpy()
        filled += batch.num_rows
    _sort(hashes)
    return bool((hashes[1:] == hashes[:-1]).any())


def _sort(values: np.ndarray) -> None:
    """Sort in place on every core: split around the quantiles (``partition``), then sort the
    pieces in threads (numpy sorts without holding the GIL)."""
    pieces = max(1, min(os.cpu_count() or 1, len(values)))
    bounds = [len(values) * i // pieces for i in range(pieces + 1)]
    if pieces > 1:
        values.partition(bounds[1:-1])
    with ThreadPoolExecutor(pieces) as pool:
        list(pool.map(np.ndarray.sort, [values[lo:hi] for lo, hi in zip(bounds, bounds[1:])]))


@dataclass(frozen=True)
class _Check:
    """One cross-row rule: ``counts`` is a one-row table of the offending keys (or rows) and rows;
    ``report`` adds the problem, with a few examples, when there are some. ``screen`` is a cheaper
    pass that may clear the rule first (false: nothing to count)."""

    counts: ir.Table
    report: Callable[[int, int], None]
    screen: Callable[[], bool] = lambda: True


def _tally(table: ir.Table, n: str | None = None) -> ir.Table:
    """One row: ``keys``, the table's rows, and ``rows``, the sum of its column ``n`` (default: its rows)."""
    rows = table.count() if n is None else table[n].sum().fill_null(0)
    return table.aggregate(keys=table.count().cast("int64"), rows=rows.cast("int64"))


def _examples(table: ir.Table, order: list) -> list[tuple]:
    """The first offending rows, as Python values (dates as dates, nulls as None)."""
    return [tuple(r.values()) for r in table.order_by(order).limit(MAX_EXAMPLES).to_pyarrow().to_pylist()]


def _grain(views: Views, spec: TableSpec, found: Found, problems: Problems, batch_rows: int) -> _Check:
    """Rows sharing the table's grain (its declared key)."""
    t = views.tables[spec.name]
    dup = t.group_by(list(spec.grain)).aggregate(n=t.count())
    dup = dup.filter(dup.n > 1)

    def report(keys: int, rows: int) -> None:
        examples = _examples(dup, [ibis.desc("n"), *spec.grain])
        problems.add(found.label, ", ".join(spec.grain), "unique (the table's grain)", rows,
                     [f"{values_text(spec.grain, e[:-1])}: {e[-1]} rows" for e in examples],
                     detail=f" share {keys:,} key{'s' * (keys != 1)}")

    if views.duckdb is None:  # the keys stay on the engine: no screen on the driver
        return _Check(_tally(dup, "n"), report)
    return _Check(_tally(dup, "n"), report,
                  partial(_may_repeat, views.duckdb, views.sql_names[spec.name], spec, batch_rows))


def _foreign_key(views: Views, spec: TableSpec, fk: ForeignKey, found: Found, problems: Problems) -> _Check:
    """Non-null values of ``fk.column`` absent from the referenced table."""
    t, ref = views.tables[spec.name], views.tables[fk.ref_table]
    if fk.entity_types:
        ref = ref.filter(ref.entity_type.isin(fk.entity_types))
    keys = ref.select(_key=ref[fk.ref_column])
    values = t.filter(t[fk.column].notnull()).select(value=fk.column)
    orphans = values.anti_join(keys, values.value == keys._key)
    orphans = orphans.group_by("value").aggregate(n=orphans.count())

    def report(distinct: int, rows: int) -> None:
        examples = _examples(orphans, [ibis.desc("n"), "value"])
        problems.add(found.label, fk.column, fk.description, rows,
                     [f"{fk.column}={show(v)}: {n} row{'s' * (n != 1)}" for v, n in examples],
                     detail=f" ({distinct:,} distinct value{'s' * (distinct != 1)})")

    return _Check(_tally(orphans, "n"), report)


def _rule_table(views: Views, rule: SqlRule) -> ir.Table:
    """A SQL rule's offending rows on the views' backend: its DuckDB SQL with each table's view
    name, translated by Ibis into the backend's dialect."""
    query = replace_tables(sqlglot.parse_one(rule.select, read="duckdb"), views.sql_names).sql("duckdb", comments=False)
    schema = None
    if views.duckdb is not None:  # Ibis 12 asks DuckDB for a query's schema by a method DuckDB 2 dropped
        schema = ibis.Schema.from_pyarrow(views.duckdb.sql(query).limit(0).to_arrow_table().schema)
    return views.con.sql(query, schema=schema, dialect="duckdb")


def _sql_rule(views: Views, rule: SqlRule, found: Found, problems: Problems) -> _Check:
    """Rows returned by a rule's query: their count and the first few."""
    bad = _rule_table(views, rule)

    def report(rows: int, _: int) -> None:
        problems.add(found.label, rule.columns, rule.description, rows,
                     [rule.example(e) for e in _examples(bad, list(bad.columns))])

    return _Check(_tally(bad), report)


def _count_together(checks: list[_Check]) -> list[tuple[int, int]]:
    """Every check's counts in one query: on a distributed engine a query has a fixed cost (about half a
    second on a local Spark session, docs/scale.md) whatever its size."""
    union = ibis.union(*(c.counts.mutate(check=ibis.literal(i, type="int64")) for i, c in enumerate(checks)))
    counted = {r["check"]: (r["keys"], r["rows"]) for r in union.to_pyarrow().to_pylist()}
    return [counted[i] for i in range(len(checks))]


def check_cross_rows(views: Views, specs: dict[str, TableSpec], found: dict[str, Found], problems: Problems,
                     batch_rows: int, foreign_keys: bool = True) -> int:
    """Cross-row rules of every found table whose columns allow them; returns how many ran.

    On DuckDB the rules run one by one (a grain screened first, :func:`_may_repeat`), so a damaged
    file is reported against its table; on another engine their counts come back in one query.
    ``batch_rows``: rows per batch streamed from DuckDB to hash-check a grain.
    """
    checks: list[tuple[Found, _Check]] = []
    for name, f in found.items():
        spec = specs[name]
        if set(spec.grain) <= f.usable:
            checks.append((f, _grain(views, spec, f, problems, batch_rows)))
        checks += [(f, _sql_rule(views, rule, f, problems)) for rule in spec.sql_rules
                   if all(t in found and set(cols) <= found[t].usable for t, cols in rule.needs)]
        checks += [(f, _foreign_key(views, spec, fk, f, problems)) for fk in spec.foreign_keys
                   if foreign_keys and fk.column in f.usable and fk.ref_table in found
                   and fk.ref_columns <= found[fk.ref_table].usable]
    counted = _count_together([c for _, c in checks]) if views.duckdb is None and checks else None
    for i, (f, check) in enumerate(checks):
        try:
            if counted is not None:
                keys, rows = counted[i]
            elif check.screen():
                keys, rows = check.counts.to_pyarrow().to_pylist()[0].values()
            else:
                continue
            if keys:
                check.report(keys, rows)
        except views.errors as exc:  # a damaged page behind a sound footer, in a column no row rule read
            problems.add(f.label, FILE, "readable parquet", examples=[str(exc)])
    return len(checks)
