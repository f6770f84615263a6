"""PMPM by eligibility group x ACO x year at state scale: dsrip_lib (Ibis) vs a hand-written DuckDB SQL query.

The step is what the tcoc_benchmarks report computes from claims: ``spending.pmpm.pmpm_cells``
(one grouped scan of claims by member and year, enrollment months joined to the attribution
stage's member-months, one grouped aggregate of member-months, spending shared by months and
risk sums per year, eligibility group and ACO), starting from the monthly attribution
(``attribution.rules.monthly_attribution``). The reference is the same rules written as one SQL
query (the attribution part is ``bench_attribution.py``'s), twice: ``sql`` sums floats as they
come, ``sql_exact`` sums them as dsrip_lib does (``dsrip_lib.exact.exact_sum``: each term as
DECIMAL(38, 9), so that a sum is the same on every run whatever order the engine's threads add
in, as the byte-identical reports need). ``sql_exact`` is the reference the target applies to
(the same arithmetic, written by hand); ``sql`` shows what the determinism costs. Every side runs
in a fresh process under the same DuckDB ``memory_limit``; the ratios Ibis / reference are taken
per repeat (the order rotating) and summarised as median (min-max), wall and CPU, with each
side's peak resident set (``VmHWM``).

Exit status 1 when the results differ (per cell, relative 1e-9 on sums) or the targets are
missed: median ratio to ``sql_exact`` <= 1.2 (wall) and every peak < 4 GiB.

    .venv/bin/python benchmarks/bench_tcoc.py [--data DIR] [--repeat N] [--memory-limit 3GB]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import ibis.backends.duckdb  # noqa: F401  (kept off the clock)
import pandas as pd
from _common import (GIB, ROOT, STATE_DATA, checkout, load_average, own_peak_rss, own_rss, require_data, run_worker,
                     same_frames, show, spread)
from bench_attribution import ATTRIBUTED, MONTHS, calendar_sql, parquet_source

from dsrip_lib.attribution.rules import monthly_attribution
from dsrip_lib.inputs.dataset import open_dataset
from dsrip_lib.program import load_program
from dsrip_lib.spending.pmpm import pmpm_cells

TARGET_RATIO, TARGET_PEAK_GIB = 1.2, 4.0
TABLES = ("enrollment", "pcp_assignments", "providers", "entities", "claims", "risk_scores")
KEYS = ["year", "eligibility_group", "aco_id"]

# Included spending per member-year; enrollment months with the ACO the attribution gives them;
# each member-year's spending shared among its cells by months; sums per year, group and ACO.
# ``{{s}}(x)`` is a float sum: plain (``sum``), or ``exact_sum``, the macro summing as dsrip_lib.exact.exact_sum does.
EXACT_SUM_MACRO = "CREATE MACRO exact_sum(x) AS CAST(sum(CAST(x AS DECIMAL(38, 9))) AS DOUBLE)"
CELLS_SQL = "WITH" + MONTHS.replace("{month_filter}", "").replace("{pcp_months}", "") + f""",
attributed AS (
    SELECT m.member_id, m.month, m.aco_id FROM months m JOIN acos a USING (aco_id) WHERE {ATTRIBUTED}
),
spend AS (
    SELECT member_id, year(service_date) AS year,
           {{s}}(CASE WHEN exclusion_category IS NULL OR exclusion_category NOT IN ({{excluded}})
                    THEN paid_amount ELSE 0 END) AS paid
    FROM claims GROUP BY ALL
),
cells AS (
    SELECT coalesce(e.member_id, t.member_id) AS member_id, year(coalesce(e.month, t.month)) AS year,
           e.eligibility_group, t.aco_id, count(*) AS months, count(*) FILTER (WHERE e.aco_eligible) AS eligible_months
    FROM enrollment e FULL JOIN attributed t ON e.member_id = t.member_id AND e.month = t.month
    GROUP BY ALL
),
shared AS (
    SELECT c.*, coalesce(s.paid, 0) / sum(c.months) OVER (PARTITION BY c.member_id, c.year) AS per_month,
           r.risk_score, CASE WHEN c.aco_id IS NULL THEN 0 ELSE c.months END AS aco_months
    FROM cells c LEFT JOIN spend s USING (member_id, year) LEFT JOIN risk_scores r USING (member_id, year)
)
SELECT year, eligibility_group, aco_id,
       sum(eligible_months) AS aco_eligible_member_months, {{s}}(per_month * eligible_months) AS aco_eligible_spending,
       {{s}}(coalesce(risk_score, 0) * eligible_months) AS aco_eligible_risk_months,
       sum(CASE WHEN risk_score IS NULL THEN 0 ELSE eligible_months END) AS aco_eligible_scored_months,
       sum(aco_months) AS aco_member_months, {{s}}(per_month * aco_months) AS aco_spending,
       {{s}}(coalesce(risk_score, 0) * aco_months) AS aco_risk_months,
       sum(CASE WHEN risk_score IS NULL THEN 0 ELSE aco_months END) AS aco_scored_months
FROM shared GROUP BY ALL
"""


def cells_ibis(data: Path, program, memory_limit: str) -> pd.DataFrame:
    ds = open_dataset(data, validate=False, program=program)
    ds.con.raw_sql(f"SET memory_limit = '{memory_limit}'")
    attribution = monthly_attribution(*(ds.table(n) for n in TABLES[:4]), program)
    out = pmpm_cells(ds.table("claims"), ds.table("enrollment"), attribution, ds.table("risk_scores"), program)
    return out.drop(columns=[c for c in out.columns if c.endswith("unscored_with_spending")])


def cells_sql(data: Path, program, memory_limit: str, exact: bool = False) -> pd.DataFrame:
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(EXACT_SUM_MACRO)
    for name in TABLES:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{parquet_source(data, name)}')")
    excluded = ", ".join(f"'{c}'" for c in program.spending.excluded_categories)
    s = "exact_sum" if exact else "sum"
    return con.sql(CELLS_SQL.format(**calendar_sql(program), excluded=excluded, s=s)).df()


KINDS = {"ibis": cells_ibis, "sql": cells_sql, "sql_exact": lambda *a: cells_sql(*a, exact=True)}


def worker(kind: str, data: Path, out: Path, memory_limit: str) -> None:
    program = load_program()
    rss_at_start = own_rss()
    start, cpu_start = time.perf_counter(), time.process_time()
    result = KINDS[kind](data, program, memory_limit)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    result.to_parquet(out)
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": len(result), "peak": own_peak_rss(),
                      "rss_at_start": rss_at_start}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=STATE_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-limit", default="3GB", help="DuckDB memory_limit of both sides (default 3GB)")
    parser.add_argument("--worker", metavar="KIND", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.data, args.out, args.memory_limit)
        return
    data = require_data(args.data)
    print(f"PMPM cells: Ibis (dsrip_lib at {ROOT}, commit {checkout(ROOT)}) vs hand-written DuckDB SQL on {data}, "
          f"memory_limit {args.memory_limit}: median (min-max) of {args.repeat} repeats; load {load_average():.1f}")
    kinds = list(KINDS)
    runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i in range(args.repeat):
            for kind in kinds[i % 3:] + kinds[:i % 3]:
                runs[kind].append(run_worker(__file__, kind, "--data", str(data), "--out", str(tmp / f"{kind}.parquet"),
                                              "--memory-limit", args.memory_limit))
        same = [same_frames(tmp / "ibis.parquet", tmp / f"{ref}.parquet", KEYS, "cells") for ref in ("sql", "sql_exact")]
    peak = max(r["peak"] for rs in runs.values() for r in rs) / GIB
    for kind, rs in runs.items():
        print(f"  {kind:9s}: {show([r['seconds'] for r in rs], unit=' s')}   CPU {show([r['cpu'] for r in rs], unit=' s')}"
              f"   peak RSS {show([r['peak'] / GIB for r in rs], unit=' GiB')}")
    ratios = {}
    for ref in ("sql_exact", "sql"):
        ratios[ref] = [i["seconds"] / s["seconds"] for i, s in zip(runs["ibis"], runs[ref])]
        cpu = [i["cpu"] / s["cpu"] for i, s in zip(runs["ibis"], runs[ref])]
        target = f" (target <= {TARGET_RATIO})" if ref == "sql_exact" else " (the cost of exact sums included)"
        print(f"  ratio ibis/{ref} per repeat: {show(ratios[ref])}{target}, CPU {show(cpu)}")
    identical = all(ok for ok, _ in same)
    print(f"  same results: {identical} ({'; '.join(detail for _, detail in same)}); load average "
          f"{load_average():.1f} at the end")
    ok = identical and spread(ratios["sql_exact"])[1] <= TARGET_RATIO and peak < TARGET_PEAK_GIB
    print(f"  {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
