"""The evaluation stage at state scale: dsrip_lib against a hand-written DuckDB SQL aggregation of the same panel.

Two workers, each in a fresh process on the same Parquet files:

* ``stage``: the whole evaluation stage as the midpoint assessment runs it
  (``reports.impact.impact_run``'s steps, default options): the member-month outcome panel
  aggregated in the engine to member x year x phase sums (``evaluation.panel.outcome_panel``,
  ``member_periods``: the only claims-scale result that reaches pandas), then the
  difference-in-differences with its placebo and COVID re-estimate, the naive estimates, the
  event study, the observed-to-expected ratios and the threats. Printed per step.
* ``sql``: the reference, the member x year x phase sums written as one DuckDB query (monthly
  attribution as ``bench_attribution.py`` writes it; events per member-month, included spending
  per member-year shared over the year's enrolled months, first attributed month and ACO per
  member, grouped aggregates joined back).

The panel of the two sides must agree (per row, relative 1e-9). Repeats alternate which side
runs first; the ratio stage-panel / SQL is taken per repeat. Peak memory is each worker's own
``VmHWM``. Exit status 1 when the panels differ or a target is missed: the whole stage under
120 s and 6 GiB (issue 14).

    .venv/bin/python benchmarks/bench_evaluation.py [--data DIR] [--repeat N] [--memory-limit 4GB]
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
from dsrip_lib.evaluation.did import did, naive
from dsrip_lib.evaluation.event_study import event_study
from dsrip_lib.evaluation.oe import oe_ratios
from dsrip_lib.evaluation.panel import baseline_members, churn, event_cells, group_shares, member_periods, outcome_panel
from dsrip_lib.evaluation.threats import baseline_balance, churn_shares, covid_years
from dsrip_lib.inputs.backends import DUCKDB_SETTINGS
from dsrip_lib.inputs.dataset import open_dataset
from dsrip_lib.program import load_program
from dsrip_lib.reports.impact import ImpactOptions

TARGET_SECONDS, TARGET_PEAK_GIB = 120.0, 6.0
TABLES = ("enrollment", "pcp_assignments", "providers", "entities", "claims")
KEYS = ["member", "year", "phase", "eligibility_group"]
OUTCOMES = ["pmpm", "primary_care_visits", "emergency_visits", "inpatient_admissions"]

# Eligible enrolled months with their attribution; a member's first attributed month, its ACO and
# the ACOs ever attributed; events per member-month (distinct service dates); included spending per
# member-year shared over the member's enrolled months of the year; the phase of each month; sums per
# member, year, phase and eligibility group.
PANEL_SQL = "WITH" + MONTHS.replace("{month_filter}", "").replace("{pcp_months}", "") + f""",
attributed AS (
    SELECT m.member_id, m.month, m.aco_id FROM months m JOIN acos a USING (aco_id) WHERE {ATTRIBUTED}
),
totals AS (SELECT member_id, year(month) AS year, count(*) AS total_months FROM enrollment GROUP BY ALL),
eligible AS (
    SELECT e.member_id, e.month, year(e.month) AS year, e.eligibility_group, t.aco_id
    FROM enrollment e LEFT JOIN attributed t USING (member_id, month) WHERE e.aco_eligible
),
firsts AS (
    SELECT member_id, min(month) AS first_month, arg_min(aco_id, month) AS first_aco, count(DISTINCT aco_id) AS acos
    FROM eligible WHERE aco_id IS NOT NULL GROUP BY member_id
),
events AS (
    SELECT member_id, date_trunc('month', service_date)::DATE AS month,
           count(DISTINCT service_date) FILTER (WHERE primary_care_visit) AS primary_care_visits,
           count(DISTINCT service_date) FILTER (WHERE service_category = 'emergency') AS emergency_visits,
           count(DISTINCT service_date) FILTER (WHERE service_category = 'inpatient') AS inpatient_admissions
    FROM claims WHERE primary_care_visit OR service_category IN ('emergency', 'inpatient') GROUP BY ALL
),
spend AS (
    SELECT member_id, year(service_date) AS year,
           sum(CASE WHEN exclusion_category IS NULL OR exclusion_category NOT IN ({{excluded}})
                    THEN paid_amount ELSE 0 END) AS paid
    FROM claims GROUP BY ALL
),
panel AS (
    SELECT hash(g.member_id) AS member, g.year, g.eligibility_group, f.first_month, f.first_aco,
           coalesce(f.acos, 0) AS acos,
           CASE WHEN g.aco_id IS NOT NULL THEN 'treated' WHEN f.first_month IS NULL THEN 'never'
                WHEN g.month < f.first_month THEN 'not_yet' ELSE 'after' END AS phase,
           coalesce(s.paid, 0) / t.total_months AS pmpm,
           coalesce(v.primary_care_visits, 0) AS primary_care_visits,
           coalesce(v.emergency_visits, 0) AS emergency_visits,
           coalesce(v.inpatient_admissions, 0) AS inpatient_admissions
    FROM eligible g JOIN totals t USING (member_id, year) LEFT JOIN firsts f USING (member_id)
    LEFT JOIN events v USING (member_id, month) LEFT JOIN spend s USING (member_id, year)
)
SELECT member, year, phase, eligibility_group, coalesce(max(year(first_month)), 0) AS cohort,
       max(first_aco) AS first_aco, max(acos) AS acos, count(*) AS months, sum(pmpm) AS pmpm,
       sum(primary_care_visits) AS primary_care_visits, sum(emergency_visits) AS emergency_visits,
       sum(inpatient_admissions) AS inpatient_admissions
FROM panel GROUP BY ALL
"""


def panel_sql(data: Path, program, memory_limit: str) -> pd.DataFrame:
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{DUCKDB_SETTINGS['temp_directory']}'")  # spill where the library does
    for name in TABLES:
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{parquet_source(data, name)}')")
    excluded = ", ".join(f"'{c}'" for c in program.spending.excluded_categories)
    out = con.sql(PANEL_SQL.format(**calendar_sql(program), excluded=excluded)).df()
    out["member"] = out["member"].to_numpy().view("int64")  # DuckDB's hash is unsigned; Ibis reads it as int64
    return out


def stage(data: Path, program, memory_limit: str) -> tuple[pd.DataFrame, dict[str, float]]:
    """The evaluation stage with the midpoint's default options; seconds per step."""
    opts = ImpactOptions()
    kwargs = {"alpha": opts.alpha, "power": opts.power, "cluster": opts.cluster, "min_clusters": opts.min_clusters,
              "small_clusters": opts.small_clusters}
    steps: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        steps[name] = now - clock
        clock = now

    ds = open_dataset(data, validate=False, program=program)
    ds.con.raw_sql(f"SET memory_limit = '{memory_limit}'")
    attribution = monthly_attribution(*(ds.table(n) for n in TABLES[:4]), program)
    panel = outcome_panel(ds.table("claims"), ds.table("enrollment"), attribution, program)
    periods = member_periods(panel)
    lap("panel (engine)")
    base = panel.baseline_year
    shares = group_shares(periods)
    covid = covid_years(shares["year"], opts.covid_years)
    did(periods, base, **kwargs)
    did(periods, base, placebo=True, **kwargs)
    did(periods, base, exclude_years=covid, **kwargs)
    naive(periods, base, alpha=opts.alpha)
    lap("regressions")
    event_study(event_cells(panel, opts.event_period), alpha=opts.alpha)
    oe_ratios(periods, base, alpha=opts.alpha)
    baseline_balance(baseline_members(panel, ds.table("members"), ds.table("risk_scores")))
    churn_shares(churn(periods))
    lap("event study, O/E, threats")
    return periods, steps


def worker(kind: str, data: Path, out: Path, memory_limit: str) -> None:
    program = load_program()
    rss_at_start = own_rss()
    start, cpu_start = time.perf_counter(), time.process_time()
    if kind == "sql":
        result, steps = panel_sql(data, program, memory_limit), {}
    else:
        result, steps = stage(data, program, memory_limit)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    result.to_parquet(out)
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": len(result), "peak": own_peak_rss(),
                      "rss_at_start": rss_at_start, "steps": steps}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=STATE_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB memory_limit of both sides (default 4GB)")
    parser.add_argument("--worker", metavar="KIND", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.data, args.out, args.memory_limit)
        return
    data = require_data(args.data)
    print(f"Evaluation stage: dsrip_lib at {ROOT} (commit {checkout(ROOT)}) vs a hand-written DuckDB SQL panel on "
          f"{data}, memory_limit {args.memory_limit}: median (min-max) of {args.repeat} repeats; "
          f"load {load_average():.1f}")
    runs: dict[str, list[dict]] = {"stage": [], "sql": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i in range(args.repeat):
            for kind in ("sql", "stage") if i % 2 == 0 else ("stage", "sql"):
                runs[kind].append(run_worker(__file__, kind, "--data", str(data), "--out", str(tmp / f"{kind}.parquet"),
                                              "--memory-limit", args.memory_limit))
        identical, detail = same_frames(tmp / "stage.parquet", tmp / "sql.parquet", KEYS, "member x year x phase rows")
    stage_runs = runs["stage"]
    for name in stage_runs[0]["steps"]:
        print(f"  stage step {name:26s} {show([r['steps'][name] for r in stage_runs], unit=' s')}")
    for kind, rs in runs.items():
        print(f"  {kind:5s}: {show([r['seconds'] for r in rs], unit=' s')}"
              f"   CPU {show([r['cpu'] for r in rs], unit=' s')}"
              f"   peak RSS {show([r['peak'] / GIB for r in rs], unit=' GiB')}")
    ratios = [s["steps"]["panel (engine)"] / q["seconds"] for s, q in zip(stage_runs, runs["sql"])]
    print(f"  ratio panel (dsrip_lib) / SQL per repeat: {show(ratios)}")
    seconds = spread([r["seconds"] for r in stage_runs])[1]
    peak = max(r["peak"] for r in stage_runs) / GIB
    print(f"  whole stage {seconds:.1f} s (target < {TARGET_SECONDS:.0f}), peak {peak:.2f} GiB "
          f"(target < {TARGET_PEAK_GIB:.0f}); same panel: {identical} ({detail}); load {load_average():.1f} at the end")
    ok = identical and seconds < TARGET_SECONDS and peak < TARGET_PEAK_GIB
    print(f"  {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
