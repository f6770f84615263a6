"""Speed of the ACO quality scoring at state scale, against a naive pandas reference in the same run.

1. Measure points (domains 1-5): ``dsrip_lib.quality.measure_scores.score_aco_measures`` against a
   row-by-row ``DataFrame.apply`` that looks up each row's basis, benchmark and previous period
   and calls ``dsrip_lib.stats.proportion_improvement`` / ``rate_improvement`` per row. Both must
   give the same achievement and improvement points on every reported row.
2. Everything else of the ACO Quality Score: domain 6 (``score_utilization``), domain 7
   (``score_experience``), domain scores, the Quality Score and the reset trigger.
3. The State's van Elteren domain tests of every tested domain in every budget period with an
   earlier one (``dsrip_lib.quality.state_domains.domain_tests``, the deciding reading with its
   exact p-values, and ``sensitivity``, every other reading, asymptotic), against a pandas
   loop of ``scipy.stats.rankdata`` per stratum for the deciding reading (z must agree).

Target: the scoring and all the tests together under 5 s. Times are median (min-max) over the repeats; the
comparison alternates the two sides and takes the ratio per pair. Exits 1 if results disagree
or the target is missed.

    .venv/bin/python benchmarks/bench_quality.py [--data DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from _common import ROOT, STATE_DATA, checkout, load_average, require_data, show, timed

from dsrip_lib.program import load_program
from dsrip_lib.quality.benchmarks import benchmarks_frame
from dsrip_lib.quality.domain_scores import aco_domain_scores, aco_quality_score
from dsrip_lib.quality.experience import score_experience
from dsrip_lib.quality.measure_scores import RESULT_KINDS, score_aco_measures
from dsrip_lib.quality.reset import benchmark_reset_flags
from dsrip_lib.quality.state_domains import domain_tests, sensitivity, van_elteren_domains
from dsrip_lib.quality.utilization import score_utilization
from dsrip_lib.stats import proportion_improvement, rate_improvement

TARGET_S = 5.0


def reference(results: pd.DataFrame, program, benchmarks: pd.DataFrame) -> pd.DataFrame:
    """Points of every reported row, computed row by row with plain lookups."""
    slate = {m.id: m for m in program.measures.slate("aco") if m.kind in RESULT_KINDS}
    cells = {(r.measure_id, r.budget_period): (r.attainment_threshold, r.excellence_benchmark)
             for r in benchmarks[benchmarks.entity_type == "aco"].itertuples()}
    minimum = program.measure_benchmarks.minimum_denominator
    achievement, improvement = program.aco_accountability.achievement, program.aco_accountability.improvement
    by_key = {(r.entity_id, r.budget_period, r.measure_id): r for r in results.itertuples()}

    def size(r):
        return r.denominator if not pd.isna(r.denominator) else r.eligible_members

    def rate(r):
        return r.numerator / r.denominator if not pd.isna(r.denominator) else r.rate

    def score(r):
        m = slate[r.measure_id]
        basis = m.basis_in(r.budget_period)
        if basis is None or size(r) < minimum:
            return pd.Series({"achievement_points": 0.0, "improvement_points": 0.0})
        if basis == "reporting":
            return pd.Series({"achievement_points": achievement.max_points_per_measure, "improvement_points": 0.0})
        t, b = cells[(r.measure_id, r.budget_period)]
        x = rate(r)
        frac = (x - t) / (b - t)  # the same for either direction: both differences change sign
        points = achievement.max_points_per_measure * min(1.0, max(0.0, frac))
        gained = 0.0
        prev = by_key.get((r.entity_id, r.budget_period - 1, r.measure_id))
        if prev is not None and m.basis_in(prev.budget_period) is not None and size(prev) >= minimum \
                and not pd.isna(r.denominator) and not pd.isna(prev.denominator):
            test = (proportion_improvement if m.kind != "ratio" else rate_improvement)(
                prev.numerator, prev.denominator, r.numerator, r.denominator, higher_is_better=m.higher_is_better)
            gained = improvement.points_per_measure if test.significant_improvement(improvement.alpha) else 0.0
        return pd.Series({"achievement_points": points, "improvement_points": gained})

    frame = results.copy()
    return pd.concat([frame, frame.apply(lambda r: score(r), axis=1)], axis=1)


def library_rest(program, benchmarks, scored, utilization, surveys):
    used = score_utilization(utilization, program)
    experience = score_experience(surveys, program, benchmarks)
    domains = aco_domain_scores(scored, program, utilization=used, survey_scores=experience,
                                missing_domain="reweight")
    quality = aco_quality_score(domains, program, missing_domain="reweight")
    flags = benchmark_reset_flags(pd.concat([scored, experience]), program)
    rates = pd.concat([scored, experience], ignore_index=True)
    return quality, flags, rates[rates["rate"].notna()], domains


def tested_periods(rates: pd.DataFrame) -> list[int]:
    return sorted(rates["budget_period"].unique())[1:]


def library_tests(program, rates: pd.DataFrame, domains: pd.DataFrame) -> dict[tuple[int, str], float]:
    """Every State domain test (deciding reading with exact p; every reading asymptotic); z by (BP, domain)."""
    z = {}
    for bp in tested_periods(rates):
        table = domain_tests(rates, bp, program).table()
        sensitivity(rates, bp, program, domain_scores=domains, exact=False)
        z |= {(bp, d): value for d, value in zip(table["domain"], table["z"])}
    return z


def reference_tests(program, rates: pd.DataFrame) -> dict[tuple[int, str], float]:
    """The deciding reading's z per (BP, domain): a groupby over ACO strata, scipy rankdata in each."""
    z = {}
    eligible = rates[rates["eligible"].astype(bool)]
    value = eligible["rate"].where(eligible["higher_is_better"].astype(bool), -eligible["rate"])
    eligible = eligible.assign(value=value)
    for bp in tested_periods(rates):
        for domain in van_elteren_domains(program, bp):
            rows = eligible[(eligible["domain"] == domain) & (eligible["budget_period"] <= bp)]
            t = var = 0.0
            for _, stratum in rows.groupby("entity_id"):
                x, first = stratum["value"].to_numpy(), (stratum["budget_period"] == bp).to_numpy()
                n, n1 = len(x), int(first.sum())
                if n1 in (0, n):
                    continue
                a = rankdata(x) / (n + 1)
                t += a[first].sum() - n1 * a.mean()
                var += n1 * (n - n1) / (n * (n - 1)) * ((a - a.mean()) ** 2).sum()
            z[(bp, domain)] = t / np.sqrt(var) if var > 0 else np.nan
    return z


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=STATE_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = require_data(args.data)
    program = load_program()
    benchmarks = benchmarks_frame(program)
    acos = pd.read_parquet(data / "entities.parquet").query("entity_type == 'aco'")["entity_id"]

    def read(name):
        frame = pd.read_parquet(data / f"{name}.parquet")
        return frame[frame["entity_id"].isin(acos)].reset_index(drop=True)

    results, utilization, surveys = read("measure_results"), read("utilization"), read("survey_scores")
    print(f"ACO quality scoring (dsrip_lib at {ROOT}, commit {checkout(ROOT)}) on {data}: {len(acos)} ACOs, "
          f"{len(results):,} measure results, {len(utilization):,} utilisation rows, {len(surveys):,} survey rows; "
          f"median (min-max) of {args.repeat}; load average {load_average():.1f}")
    t_ref, t_lib, t_rest, t_tests, t_tests_ref, t_total = [], [], [], [], [], []
    for _ in range(args.repeat):
        t, ref = timed(lambda: reference(results, program, benchmarks))
        u, scored = timed(lambda: score_aco_measures(results, program, benchmarks))
        v, (_, _, rates, domains) = timed(lambda: library_rest(program, benchmarks, scored, utilization, surveys))
        w, z_lib = timed(lambda: library_tests(program, rates, domains))
        x, z_ref = timed(lambda: reference_tests(program, rates))
        t_ref.append(t)
        t_lib.append(u)
        t_rest.append(v)
        t_tests.append(w)
        t_tests_ref.append(x)
        t_total.append(u + v + w)
    merged = scored.merge(ref, on=["entity_id", "budget_period", "measure_id"], suffixes=("", "_ref"))
    agree = len(merged) == len(results) and all(
        np.allclose(merged[c], merged[f"{c}_ref"], rtol=1e-9, atol=1e-12) for c in ("achievement_points",
                                                                                    "improvement_points"))
    print("measure points, domains 1-5")
    print(f"  reference (row-by-row apply):           {show(t_ref, '{:.3f}', ' s')}")
    print(f"  score_aco_measures:                     {show(t_lib, '{:.3f}', ' s')}")
    print(f"  ratio reference / library per pair: {show([a / b for a, b in zip(t_ref, t_lib)])}   "
          f"points agree on all {len(merged):,} reported rows: {agree}")
    print(f"domains 6 and 7, domain scores, Quality Score, reset trigger: {show(t_rest, '{:.3f}', ' s')}")
    same_z = z_lib.keys() == z_ref.keys() and all(np.isclose(z_lib[k], z_ref[k], rtol=1e-9) for k in z_lib)
    print(f"State domain tests, {len(z_lib)} domain-periods")
    print(f"  reference (deciding reading, asymptotic; rankdata per stratum): {show(t_tests_ref, '{:.3f}', ' s')}")
    print(f"  domain_tests (exact p) + sensitivity (every reading):          {show(t_tests, '{:.3f}', ' s')}   "
          f"z agree: {same_z}")
    met = max(t_total) < TARGET_S
    print(f"all ACO scoring and every State test: {show(t_total, '{:.3f}', ' s')}   target < {TARGET_S:g} s: "
          f"{'met' if met else 'MISSED'}")
    return 0 if agree and same_z and met else 1


if __name__ == "__main__":
    sys.exit(main())
