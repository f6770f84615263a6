"""The attribution report's claims-scale steps at state scale: dsrip_lib (Ibis) vs hand-written DuckDB SQL.

Steps (the same calls the attribution report makes, with its default options):

* ``monthly``: monthly attribution and member-month counts per ACO and month
  (``attribution.rules.monthly_attribution`` then ``attribution.member_months.monthly_counts``);
* ``adoption``: the ACO/APM adoption rate of budget periods 0-5 in one pass
  (``accountability.adoption.adoption_rates``): denominator, numerator and each path's count;
* ``plurality``: claims-plurality attribution, 24-month look-back to the end of the last
  ACO budget period (``attribution.plurality.plurality_attribution``).

Each side of each step runs in its own fresh subprocess on the same Parquet files: Ibis on
``inputs.dataset.open_dataset(data, validate=False).table(name)`` (as the report reads them),
SQL on DuckDB's ``read_parquet`` of the same files. The time runs from opening the connection
to the result in memory, so it includes each side's set-up (Ibis reads the Parquet schemas
when it registers files). Both workers import the same modules (dsrip_lib, Ibis with its DuckDB
backend, DuckDB, pandas) and load the program definition before the clock starts. Peak memory
is each worker's own high-water mark (``VmHWM``), with its resident set when the clock started
(interpreter and imports, the same for both sides) beside it. Repeats alternate which side runs
first; the ratio Ibis / SQL is taken per repeat (a pair run back to back) and summarised as
median (min-max); so is the ratio of CPU time (user + system of all the worker's threads,
``time.process_time``), which depends less on what else the machine is running. The SQL is
written from the rules as dsrip_lib implements them today: when a rule changes, the reference
must change with it (the results check says so).

Exit status 1 when the two sides disagree on any step (checked exactly on the last repeat's
results: counts per ACO and month; denominator, numerator and path counts per period; the
attributed PCP, visits and last visit of every member), or when a step misses the targets:
median ratio <= 1.5 and every peak < 4 GiB.

    .venv/bin/python benchmarks/bench_attribution.py [--data DIR] [--repeat N] [--steps monthly,adoption]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from dataclasses import dataclass
from pathlib import Path

import duckdb
import ibis.backends.duckdb  # noqa: F401  (Ibis imports its backend on first connect: keep it off the clock)
import pandas as pd
from _common import GIB, ROOT, STATE_DATA, checkout, load_average, own_peak_rss, own_rss, require_data, show, spread

from dsrip_lib.accountability.adoption import PATHS, adoption_rates
from dsrip_lib.attribution.member_months import monthly_counts
from dsrip_lib.attribution.plurality import plurality_attribution
from dsrip_lib.attribution.rules import monthly_attribution
from dsrip_lib.inputs.dataset import open_dataset
from dsrip_lib.program import load_program

LOOKBACK_MONTHS = 24
BUDGET_PERIODS = (0, 1, 2, 3, 4, 5)
TARGET_RATIO, TARGET_PEAK_GIB = 1.5, 4.0


# -- the hand-written references: the rules of dsrip_lib, read from its code and written as SQL ----
# Snapshot day "last" (the report's default): the PCP assignment in effect on the month's last day.
# The program's ACO budget periods are filled in by calendar_sql().

# Enrollment months with the ACO they may be attributed to: an aco_a/aco_b month's enrolled ACO, or
# the ACO of the PCP assigned on the snapshot day; only months inside the budget periods. A span
# covers a month's last day when the month is on or after the span's first month and before the
# month of the day after it ends (two dates per span, as validation's chc_pcp rule). Adoption
# reads the PCP of mco months only ({pcp_months}).
MONTHS = """
acos AS (
    SELECT entity_id AS aco_id, aco_model, {join_date} AS joined FROM entities WHERE entity_type = 'aco'
),
spans AS (
    SELECT member_id, pcp_npi, date_trunc('month', start_date)::DATE AS first_month,
           date_trunc('month', end_date + 1)::DATE AS end_month
    FROM pcp_assignments
),
months AS (
    SELECT e.member_id, e.month, {period_of_month} AS budget_period, e.plan_type,
           CASE WHEN e.plan_type IN ('aco_a', 'aco_b') THEN e.aco_id ELSE p.aco_id END AS aco_id,
           coalesce(p.is_chc, false) AS chc, coalesce(p.apm_paid, false) AS pcp_apm_paid
    FROM enrollment e
    LEFT JOIN spans a
      ON a.member_id = e.member_id AND e.month >= a.first_month
     AND (a.end_month IS NULL OR e.month < a.end_month) {pcp_months}
    LEFT JOIN providers p ON p.npi = a.pcp_npi
    WHERE e.month BETWEEN DATE '{first}' AND DATE '{last}' {month_filter}
)"""
# A month m (joined with its ACO a) is attributed: enrolled in an ACO, or an mco month whose
# assigned PCP's ACO is model C; not before the first budget period with members (the program's
# attribution.first_budget_period_with_members), nor before the first day of the ACO's join period.
ATTRIBUTED = ("(m.plan_type IN ('aco_a', 'aco_b') OR (m.plan_type = 'mco' AND a.aco_model = 'C'))"
              " AND m.month >= DATE '{opening}' AND m.month >= a.joined")

MONTHLY_SQL = "WITH" + MONTHS.replace("{month_filter}", "").replace("{pcp_months}", "") + f"""
SELECT m.aco_id, m.month, count(*) AS members, count(*) FILTER (WHERE m.chc) AS chc_members
FROM months m JOIN acos a USING (aco_id)
WHERE {ATTRIBUTED}
GROUP BY m.aco_id, m.month ORDER BY m.aco_id, m.month
"""

# Denominator: the members with an ACO-eligible month in the period. Paths: an attributed month;
# an mco month whose assigned PCP is APM-paid; more than the threshold p/q of the period's
# non-primary-care spending paid to APM providers (exactly: whole cents, cross-multiplied).
ADOPTION_SQL = "WITH" + MONTHS.replace("{month_filter}", "AND e.aco_eligible").replace(
    "{pcp_months}", "AND e.plan_type = 'mco'") + f""",
member_paths AS (
    SELECT m.member_id, m.budget_period,
           coalesce(bool_or({ATTRIBUTED}), false) AS path_aco,
           bool_or(m.plan_type = 'mco' AND m.pcp_apm_paid) AS path_apm_pcp
    FROM months m LEFT JOIN acos a USING (aco_id)
    GROUP BY ALL
),
spend AS (
    SELECT c.member_id, {{period_of_claim}} AS budget_period, sum(round(c.paid_amount * 100)::BIGINT) AS total,
           sum(CASE WHEN p.apm_paid THEN round(c.paid_amount * 100)::BIGINT ELSE 0 END) AS apm
    FROM claims c JOIN providers p ON p.npi = c.provider_npi
    WHERE c.service_category <> 'primary_care' AND c.service_date BETWEEN DATE '{{first}}' AND DATE '{{last}}'
    GROUP BY ALL
),
spending_path AS (
    SELECT member_id, budget_period FROM spend WHERE total > 0 AND apm * {{q}} > total * {{p}}
)
SELECT m.budget_period, count(*) AS denominator,
       count(*) FILTER (WHERE m.path_aco OR m.path_apm_pcp OR s.member_id IS NOT NULL) AS numerator,
       count(*) FILTER (WHERE m.path_aco) AS path_aco,
       count(*) FILTER (WHERE m.path_apm_pcp) AS path_apm_pcp,
       count(s.member_id) AS path_apm_spending
FROM member_paths m LEFT JOIN spending_path s USING (member_id, budget_period)
GROUP BY m.budget_period ORDER BY m.budget_period
"""

# The participating PCP (type pcp, in an ACO) with the most primary-care visits in the window of
# whole calendar months ending with the as-of month wins; ties: the later last visit, then the
# smaller NPI.
PLURALITY_SQL = """
WITH visits AS (
    SELECT c.member_id, p.npi, p.aco_id, c.service_date
    FROM claims c JOIN providers p ON c.provider_npi = p.npi
    WHERE c.primary_care_visit AND p.aco_id IS NOT NULL AND p.provider_type = 'pcp'
      AND c.service_date BETWEEN CAST(date_trunc('month', DATE '{as_of}') - INTERVAL {months_before} MONTH AS DATE)
                             AND DATE '{as_of}'
), per_pcp AS (
    SELECT member_id, npi, aco_id, count(*) AS visits, max(service_date) AS last_visit
    FROM visits GROUP BY member_id, npi, aco_id
)
SELECT member_id, npi, aco_id, visits, last_visit FROM per_pcp
QUALIFY row_number() OVER (PARTITION BY member_id ORDER BY visits DESC, last_visit DESC, npi) = 1
"""


def calendar_sql(program) -> dict[str, str]:
    """The program's ACO budget periods as SQL: first and last day, first day with members, period of a
    month or claim, join date."""
    periods = program.calendar.budget_periods("aco")
    rules = program.attribution
    opening = periods[0] if rules is None else program.calendar.budget_period(rules.first_budget_period_with_members)

    def period_of(column: str) -> str:
        whens = " ".join(f"WHEN {column} BETWEEN DATE '{p.start}' AND DATE '{p.end}' THEN {p.number}" for p in periods)
        return f"CASE {whens} END"

    return {"first": periods[0].start.isoformat(), "last": periods[-1].end.isoformat(), "opening": opening.start,
            "period_of_month": period_of("e.month"), "period_of_claim": period_of("c.service_date"),
            "join_date": "CASE join_budget_period " + " ".join(f"WHEN {p.number} THEN DATE '{p.start}'"
                                                               for p in periods) + " END"}


def as_of(program):
    """End of the program's last ACO budget period."""
    return program.calendar.budget_periods("aco")[-1].end


# -- the steps ---------------------------------------------------------------------------------------
# Each side returns a pandas frame; the frames of the two sides must be equal once sorted by ``keys``.


def monthly_ibis(data: Path, program) -> pd.DataFrame:
    ds = open_dataset(data, validate=False)
    tables = (ds.table(n) for n in ("enrollment", "pcp_assignments", "providers", "entities"))
    return monthly_counts(monthly_attribution(*tables, program))


def monthly_sql(con, program) -> pd.DataFrame:
    df = con.sql(MONTHLY_SQL.format(**calendar_sql(program))).df()
    df["month"] = pd.to_datetime(df["month"])
    return df


def adoption_ibis(data: Path, program) -> pd.DataFrame:
    ds = open_dataset(data, validate=False)
    tables = (ds.table(n) for n in ("enrollment", "pcp_assignments", "providers", "entities", "claims"))
    results = adoption_rates(program, list(BUDGET_PERIODS), *tables)
    return pd.DataFrame([{"budget_period": r.budget_period, "denominator": r.denominator, "numerator": r.numerator,
                          **{p: r.by_path[p] for p in PATHS}} for r in results])


def adoption_sql(con, program) -> pd.DataFrame:
    if set(BUDGET_PERIODS) != {p.number for p in program.calendar.budget_periods("aco")}:
        raise SystemExit("the adoption SQL reference computes every ACO budget period of the program")
    threshold = program.require("state_accountability").adoption.apm_non_primary_care_share_threshold
    p, q = Fraction(repr(float(threshold))).as_integer_ratio()  # the decimal as written: 0.2 is 1/5
    return con.sql(ADOPTION_SQL.format(**calendar_sql(program), p=p, q=q)).df()


def plurality_ibis(data: Path, program) -> pd.DataFrame:
    ds = open_dataset(data, validate=False)
    return plurality_attribution(ds.table("claims"), ds.table("providers"), as_of(program), LOOKBACK_MONTHS).execute()


def plurality_sql(con, program) -> pd.DataFrame:
    return con.sql(PLURALITY_SQL.format(as_of=as_of(program).isoformat(), months_before=LOOKBACK_MONTHS - 1)).df()


@dataclass(frozen=True)
class Step:
    title: str
    tables: tuple[str, ...]  # the tables the SQL side reads
    keys: tuple[str, ...]  # sort order for the comparison
    ibis: Callable  # (data dir, program) -> DataFrame
    sql: Callable  # (DuckDB connection with the tables as views, program) -> DataFrame


STEPS = {
    "monthly": Step("monthly attribution + member-month counts per ACO and month",
                    ("enrollment", "pcp_assignments", "providers", "entities"), ("aco_id", "month"),
                    monthly_ibis, monthly_sql),
    "adoption": Step(f"ACO/APM adoption rate, budget periods {BUDGET_PERIODS[0]}-{BUDGET_PERIODS[-1]} in one pass",
                     ("enrollment", "pcp_assignments", "providers", "entities", "claims"), ("budget_period",),
                     adoption_ibis, adoption_sql),
    "plurality": Step(f"claims-plurality attribution, {LOOKBACK_MONTHS}-month look-back",
                      ("claims", "providers"), ("member_id",), plurality_ibis, plurality_sql),
}


# -- one side of one step in a fresh process ---------------------------------------------------------


def parquet_source(data: Path, table: str) -> str:
    """The Parquet file of a table, or a glob over its part files."""
    path = data / f"{table}.parquet"
    if not path.exists():
        raise SystemExit(f"{path}: missing (the SQL reference reads Parquet tables only)")
    return str(path / "**" / "*.parquet") if path.is_dir() else str(path)


def worker(step_name: str, kind: str, data: Path, out: Path) -> None:
    """Run one side of one step, write its result to ``out`` and its measurements to stdout (JSON)."""
    step, program = STEPS[step_name], load_program()
    rss_at_start = own_rss()
    start, cpu_start = time.perf_counter(), time.process_time()
    if kind == "ibis":
        result = step.ibis(data, program)
    else:
        con = duckdb.connect()
        for name in step.tables:
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{parquet_source(data, name)}')")
        result = step.sql(con, program)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    result.to_parquet(out)
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": len(result), "peak": own_peak_rss(),
                      "rss_at_start": rss_at_start}))


def run_worker(step: str, kind: str, data: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", step, kind, "--data", str(data), "--out", str(out)],
                          stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{step} {kind} worker failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def same_result(step: Step, ibis_file: Path, sql_file: Path) -> tuple[bool, str]:
    """Whether both sides give the same rows (exactly, after sorting by the step's keys); a hint when not."""
    a, b = (pd.read_parquet(f) for f in (ibis_file, sql_file))
    if list(a.columns) != list(b.columns):
        return False, f"columns differ: {list(a.columns)} vs {list(b.columns)}"
    a, b = (x.sort_values(list(step.keys), ignore_index=True) for x in (a, b))
    try:
        pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=True)
    except AssertionError as exc:
        return False, str(exc).splitlines()[0]
    return True, f"{len(a):,} rows"


def bench_step(name: str, data: Path, repeat: int, tmp: Path) -> bool:
    step = STEPS[name]
    runs: dict[str, list[dict]] = {"ibis": [], "sql": []}
    for i in range(repeat):
        # alternate the order so neither side always runs on a warmer cache
        for kind in ("sql", "ibis") if i % 2 == 0 else ("ibis", "sql"):
            runs[kind].append(run_worker(name, kind, data, tmp / f"{name}-{kind}.parquet"))
    identical, detail = same_result(step, tmp / f"{name}-ibis.parquet", tmp / f"{name}-sql.parquet")
    ratios = [i["seconds"] / s["seconds"] for i, s in zip(runs["ibis"], runs["sql"])]
    cpu_ratios = [i["cpu"] / s["cpu"] for i, s in zip(runs["ibis"], runs["sql"])]
    peak = max(r["peak"] for rs in runs.values() for r in rs) / GIB

    print(f"{name}: {step.title} (load average {load_average():.1f} at the end)")
    for kind, rs in runs.items():
        print(f"  {kind:4s}: {show([r['seconds'] for r in rs], unit=' s')}   CPU {show([r['cpu'] for r in rs], unit=' s')}"
              f"   peak RSS {show([r['peak'] / GIB for r in rs], unit=' GiB')}"
              f" (at start {show([r['rss_at_start'] / GIB for r in rs], unit=' GiB')})")
    print(f"  ratio ibis/sql per repeat: {show(ratios)} (target <= {TARGET_RATIO}), CPU {show(cpu_ratios)}")
    print(f"  identical results: {identical} ({detail})")
    ok = identical and spread(ratios)[1] <= TARGET_RATIO and peak < TARGET_PEAK_GIB
    print(f"  {'PASS' if ok else 'FAIL'}", flush=True)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=STATE_DATA)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side of each step (default 3)")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated, of {', '.join(STEPS)}")
    parser.add_argument("--worker", nargs=2, metavar=("STEP", "KIND"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker, args.data, args.out)
        return

    data = require_data(args.data)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    if unknown := set(steps) - set(STEPS):
        parser.error(f"unknown steps {sorted(unknown)}; choose from {', '.join(STEPS)}")
    print(f"Ibis (dsrip_lib at {ROOT}, commit {checkout(ROOT)}) vs hand-written DuckDB SQL on {data}:\n"
          f"median (min-max) of {args.repeat} repeats, each side in its own process; load average {load_average():.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        results = [bench_step(name, data, args.repeat, Path(tmp)) for name in steps]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
