"""Cross-row rules in DuckDB: unique grain, foreign keys and the tables' SQL rules (spans, ``chc_pcp``).

Each table is a DuckDB view named after it (its checkable columns). The checks count the
offending keys or rows first and fetch examples only when there are some. A grain is first
checked without DuckDB's GROUP BY, whose hash table over tens of millions of distinct keys
is the dearest step of validation: see :func:`_may_repeat`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import duckdb
import numpy as np

from dsrip_lib.inputs.problems import FILE, MAX_EXAMPLES, Problems, values_text
from dsrip_lib.inputs.tables import ForeignKey, SqlRule, TableSpec, show


@dataclass
class Found:
    """A table found in a data directory (or in memory), with what row validation learned about it."""

    label: str
    rows: int
    usable: set[str]


def _may_repeat(con: duckdb.DuckDBPyConnection, spec: TableSpec, batch_rows: int) -> bool:
    """Whether two rows may share the table's grain: a 64-bit hash of every row's key, sorted
    (numpy), has two equal neighbours. Equal keys hash equally, so none proves the grain
    unique; a repeat (or, about once in 10^4 state-sized tables, a collision) calls for the exact check."""
    [(rows,)] = con.execute(f"SELECT count(*) FROM {spec.name}").fetchall()
    hashes = np.empty(rows, dtype=np.uint64)
    filled = 0
    for batch in con.sql(f"SELECT hash({', '.join(spec.grain)}) FROM {spec.name}").to_arrow_reader(batch_rows):
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


def _check_grain(con, spec: TableSpec, found: Found, problems: Problems, batch_rows: int) -> None:
    """Rows sharing the table's grain (its declared key)."""
    if not _may_repeat(con, spec, batch_rows):
        return
    cols = ", ".join(spec.grain)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _dup AS "
                f"SELECT {cols}, count(*) AS n FROM {spec.name} GROUP BY ALL HAVING count(*) > 1")
    keys, rows = con.execute("SELECT count(*), coalesce(sum(n), 0) FROM _dup").fetchone()
    if keys:
        examples = con.execute(f"SELECT * FROM _dup ORDER BY n DESC, {cols} LIMIT {MAX_EXAMPLES}").fetchall()
        problems.add(found.label, cols, "unique (the table's grain)", int(rows),
                     [f"{values_text(spec.grain, e[:-1])}: {e[-1]} rows" for e in examples],
                     detail=f" share {keys:,} key{'s' * (keys != 1)}")


def _check_foreign_key(con, spec: TableSpec, fk: ForeignKey, found: Found, problems: Problems) -> None:
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


def _check_sql_rule(con, rule: SqlRule, found: Found, problems: Problems) -> None:
    """Rows returned by a rule's query: their count and the first few."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _bad AS {rule.select}")
    (rows,) = con.execute("SELECT count(*) FROM _bad").fetchone()
    if rows:
        examples = con.execute(f"SELECT * FROM _bad ORDER BY ALL LIMIT {MAX_EXAMPLES}").fetchall()
        problems.add(found.label, rule.columns, rule.description, int(rows), [rule.example(e) for e in examples])


def check_cross_rows(con, specs: dict[str, TableSpec], found: dict[str, Found], problems: Problems,
                     batch_rows: int, foreign_keys: bool = True) -> int:
    """Cross-row rules of every found table whose columns allow them; returns how many ran.

    ``batch_rows``: rows per batch streamed from DuckDB to hash-check a grain.
    """
    ran = 0
    for name, f in found.items():
        spec = specs[name]
        checks = []
        if set(spec.grain) <= f.usable:
            checks.append(partial(_check_grain, con, spec, f, problems, batch_rows))
        checks += [partial(_check_sql_rule, con, rule, f, problems) for rule in spec.sql_rules
                   if all(t in found and set(cols) <= found[t].usable for t, cols in rule.needs)]
        checks += [partial(_check_foreign_key, con, spec, fk, f, problems) for fk in spec.foreign_keys
                   if foreign_keys and fk.column in f.usable and fk.ref_table in found
                   and fk.ref_columns <= found[fk.ref_table].usable]
        for check in checks:
            try:
                check()
            except duckdb.Error as exc:  # a damaged page behind a sound footer, in a column no row rule read
                problems.add(f.label, FILE, "readable parquet", examples=[str(exc)])
        ran += len(checks)
    return ran
