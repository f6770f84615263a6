"""Speed of the van Elteren test at state scale, against a reference measured in the same run.

1. Asymptotic test on 1,000,000 rows in 17 strata: ``dsrip_lib.stats.van_elteren`` against a
   loop of ``scipy.stats.rankdata`` over strata combined by hand (targets: no slower than
   the reference, under 2 s).
2. Monte Carlo with 10,000 resamples on 20,000 rows (target: under 10 s).
3. ``van_elteren_many`` on the same 1,000,000 rows split into 24 tests, against 24 calls.

Times are median (min-max) over the repeats; a comparison alternates its two sides repeat by
repeat and takes the ratio per pair. Run: ``.venv/bin/python benchmarks/bench_stats.py``.
Exits 1 only if results disagree.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from _common import show, timed
from scipy.stats import rankdata

from dsrip_lib.stats import van_elteren, van_elteren_many


def make_table(n_rows: int, n_strata: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stratum = rng.integers(0, n_strata, n_rows)
    group = rng.integers(0, 2, n_rows)
    # stratum effects, a small group shift, and rounding so that ties are common
    value = np.round(rng.normal(stratum * 0.3 + group * 0.01, 1.0), 2)
    return pd.DataFrame({"stratum": stratum, "group": group, "value": value})


def reference(df: pd.DataFrame) -> tuple[float, float]:
    """T and Var from one scipy rankdata call per stratum."""
    t = var = 0.0
    values, is_first = df["value"].to_numpy(), df["group"].to_numpy() == 1
    for rows in df.groupby("stratum").indices.values():
        x, f = values[rows], is_first[rows]
        n, n1 = len(x), int(f.sum())
        a = rankdata(x) / (n + 1)
        mean = a.mean()
        t += a[f].sum() - n1 * mean
        var += n1 * (n - n1) / (n * (n - 1)) * ((a - mean) ** 2).sum()
    return t, var


def paired(repeat: int, reference, library):
    """Times of both sides, run alternately (a pair per repeat), and each side's last result."""
    t_ref, t_lib = [], []
    for _ in range(repeat):
        (t, ref), (u, lib) = timed(reference), timed(library)
        t_ref.append(t)
        t_lib.append(u)
    return t_ref, t_lib, ref, lib


def main() -> int:
    ok = True
    big = make_table(1_000_000, 17, seed=1)
    t_ref, t_lib, (t, var), res = paired(5, lambda: reference(big),
                                         lambda: van_elteren(big, "value", "group", "stratum", first=1))
    agree = np.isclose(res.observed_minus_expected, t, rtol=1e-9) and np.isclose(res.variance, var, rtol=1e-9)
    ok &= bool(agree)
    print("asymptotic van Elteren, 1,000,000 rows, 17 strata (median (min-max) of 5)")
    print(f"  reference (scipy rankdata per stratum): {show(t_ref, '{:.3f}', ' s')}")
    print(f"  dsrip_lib.stats.van_elteren:            {show(t_lib, '{:.3f}', ' s')}")
    print(f"  ratio reference / library per pair: {show([a / b for a, b in zip(t_ref, t_lib)])}"
          f"   results agree: {agree}   z = {res.zscore:.4f}")

    small = make_table(20_000, 17, seed=2)
    t_mc, mc = [], None
    for _ in range(3):
        t, mc = timed(lambda: van_elteren(small, "value", "group", "stratum", first=1, method="permutation",
                                          n_resamples=10_000, random_state=0))
        t_mc.append(t)
    asym = van_elteren(small, "value", "group", "stratum", first=1)
    mc_ok = abs(mc.pvalue - asym.pvalue) <= 4 * mc.pvalue_mc_se + 0.02  # normal approximation is close at n=20,000
    ok &= bool(mc_ok)
    print("Monte Carlo van Elteren, 20,000 rows, 10,000 resamples (median (min-max) of 3)")
    print(f"  time: {show(t_mc, '{:.3f}', ' s')}   p = {mc.pvalue:.4f} (MC s.e. {mc.pvalue_mc_se:.4f})")
    print(f"  asymptotic p = {asym.pvalue:.4f}   agree within MC error: {mc_ok}")

    tests = big.assign(test=np.arange(len(big)) % 24)
    t_loop, t_many, loop, many = paired(
        3,
        lambda: [van_elteren(part, "value", "group", "stratum", first=1).pvalue for _, part in tests.groupby("test")],
        lambda: van_elteren_many(tests, "value", "group", "stratum", "test", first=1),
    )
    many_ok = np.allclose(many["pvalue"].to_numpy(), loop, rtol=1e-9)
    ok &= bool(many_ok)
    print("24 tests from one 1,000,000-row table (median (min-max) of 3)")
    print(f"  van_elteren_many: {show(t_many, '{:.3f}', ' s')}   24 single calls: {show(t_loop, '{:.3f}', ' s')}"
          f"   ratio per pair: {show([a / b for a, b in zip(t_loop, t_many)])}")
    print(f"  results agree: {many_ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
