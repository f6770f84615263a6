"""Random variation of savings (dsrip_lib/spending/variation.py): a hand example and properties on simulated nulls.

The simulated states use fixed seeds, so each run draws the same numbers; the tolerances
are stated beside each check (binomial standard errors of the simulated proportions).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.spending.variation import pmpm_variance, savings_variation

BENCHMARK = 500.0


def null_state(entities: int, members: int, *, sigma: float, seed: int, zero_share: float = 0.2) -> pd.DataFrame:
    """Member costs with no true change: every entity's true PMPM is the benchmark.

    Each member has 1-12 member-months and a monthly cost that is 0 with ``zero_share`` and
    otherwise lognormal(sigma), scaled so its mean is ``BENCHMARK``.
    """
    rng = np.random.default_rng(seed)
    n = entities * members
    months = rng.integers(1, 13, size=n)
    location = math.log(BENCHMARK / (1 - zero_share)) - sigma**2 / 2
    monthly = rng.lognormal(location, sigma, size=n) * (rng.random(n) >= zero_share)
    return pd.DataFrame({"entity_id": np.repeat([f"E{i:04d}" for i in range(entities)], members),
                         "member_id": np.arange(n).astype(str), "member_months": months, "paid": months * monthly})


def benchmarks_for(costs: pd.DataFrame, **columns) -> pd.DataFrame:
    return pd.DataFrame({"entity_id": sorted(costs["entity_id"].unique()), "benchmark_pmpm": BENCHMARK, **columns})


def test_hand_computed_ratio_variance():
    # Members (paid, months): (120, 1), (0, 2), (360, 3) -> R = 480 / 6 = 80 PMPM.
    # Residuals y - R m: 40, -160, 120; squares 1,600 + 25,600 + 14,400 = 41,600.
    # Var(R) = n/(n-1) x 41,600 / 6^2 = 1.5 x 1,155.56 = 1,733.33; SE = 41.633.
    costs = pd.DataFrame({"entity_id": "E", "member_id": ["a", "b", "c", "c"], "member_months": [1, 2, 1, 2],
                          "paid": [120.0, 0.0, 100.0, 260.0]})  # member c's two rows are one member
    row = pmpm_variance(costs).iloc[0]
    assert (row.members, row.member_months, row.paid, row.actual_pmpm) == (3, 6, 480.0, 80.0)
    assert row.se_pmpm == pytest.approx(math.sqrt(1.5 * 41_600 / 36))
    # Benchmark 100: savings 20 PMPM x 6 = $120; z = 20 / 41.633 = 0.4804; p = 1 - Phi(0.4804) = 0.31548.
    result = savings_variation(costs, pd.DataFrame({"entity_id": ["E"], "benchmark_pmpm": [100.0], "msr": [0.1]}))
    out = result.entities.iloc[0]
    se = math.sqrt(1.5 * 41_600 / 36)
    assert out.savings_usd == pytest.approx(120.0) and out.savings_se_usd == pytest.approx(6 * se)
    assert out.statistic == pytest.approx(20 / se) and out.pvalue == pytest.approx(0.31548, abs=1e-5)
    z90 = stats.norm.ppf(0.95)
    assert (out.ci_low_usd, out.ci_high_usd) == pytest.approx((120 - z90 * 6 * se, 120 + z90 * 6 * se))
    assert out.ci_low_rate == pytest.approx(out.ci_low_usd / 600)
    # chance of a 10% savings rate (10 PMPM) under the null: 1 - Phi(10 / 41.633)
    assert out.pvalue_at_msr == pytest.approx(stats.norm.sf(10 / se))
    assert result.pvalue["E"] == out.pvalue and "1 entities" in result.summary()


def test_a_benchmark_with_its_own_error_adds_in_quadrature():
    costs = null_state(1, 200, sigma=0.5, seed=4)
    fixed = savings_variation(costs, benchmarks_for(costs)).entities.iloc[0]
    uncertain = savings_variation(costs, benchmarks_for(costs, benchmark_se_pmpm=12.0)).entities.iloc[0]
    assert uncertain.savings_se_pmpm == pytest.approx(math.hypot(fixed.se_pmpm, 12.0))
    assert uncertain.savings_usd == fixed.savings_usd and abs(uncertain.statistic) < abs(fixed.statistic)


def test_on_a_simulated_null_pvalues_are_uniform_and_intervals_cover():
    """400 entities of 300 members with moderately skewed costs and no true change.

    Tolerances: a proportion of 400 entities has binomial SE sqrt(0.1 x 0.9 / 400) = 1.5
    points; the checks allow 3 SE (4.5 points). The KS test against uniform must not reject at 1%.
    """
    costs = null_state(400, 300, sigma=0.5, seed=20261)
    out = savings_variation(costs, benchmarks_for(costs), confidence=0.90).entities
    assert abs((out["pvalue"] < 0.10).mean() - 0.10) <= 0.045
    assert abs((out["pvalue"] < 0.50).mean() - 0.50) <= 0.075
    covered = ((out["ci_low_usd"] <= 0) & (out["ci_high_usd"] >= 0)).mean()
    assert abs(covered - 0.90) <= 0.045
    assert stats.kstest(out["pvalue"], "uniform").pvalue > 0.01


def test_heavy_skew_makes_the_one_sided_pvalue_anti_conservative():
    """A documented limit of the normal approximation (docs/methodology/shared_savings.md).

    With lognormal(sigma 1.5) costs and 300 members, a sample with fewer very costly members
    both saves and looks precise, so chance savings look significant more than 10% of the
    time; more members bring it back towards 10%.
    """
    small = savings_variation(costs := null_state(400, 300, sigma=1.5, seed=7), benchmarks_for(costs)).entities
    large = savings_variation(costs := null_state(100, 4_000, sigma=1.5, seed=7), benchmarks_for(costs)).entities
    small_rate, large_rate = (small["pvalue"] < 0.10).mean(), (large["pvalue"] < 0.10).mean()
    assert small_rate > 0.10 + 0.045  # beyond 3 binomial SEs of the nominal 10%
    assert large_rate < small_rate


def test_interval_width_shrinks_as_one_over_root_n():
    """Mean SE over 100 entities of n and of 4n members: ratio 2 within 5% (the SEs of SEs average out)."""
    widths = {}
    for members in (250, 1_000):
        costs = null_state(100, members, sigma=0.5, seed=11)
        out = savings_variation(costs, benchmarks_for(costs)).entities
        widths[members] = ((out["ci_high_usd"] - out["ci_low_usd"]) / out["member_months"]).mean()
    assert widths[250] / widths[1_000] == pytest.approx(2.0, rel=0.05)


def test_larger_populations_make_clearing_a_fixed_msr_by_chance_rarer():
    costs = pd.concat([null_state(1, 300, sigma=0.5, seed=1).assign(entity_id="small"),
                       null_state(1, 30_000, sigma=0.5, seed=2).assign(entity_id="large")])
    out = savings_variation(costs, benchmarks_for(costs, msr=0.02)).entities.set_index("entity_id")
    assert out.loc["large", "pvalue_at_msr"] < 0.01 < out.loc["small", "pvalue_at_msr"] < 0.5


def test_no_spread_gives_a_decided_pvalue():
    costs = pd.DataFrame({"entity_id": "E", "member_id": ["a", "b"], "member_months": [12, 12], "paid": [5_400.0] * 2})
    saving = savings_variation(costs, pd.DataFrame({"entity_id": ["E"], "benchmark_pmpm": [500.0]})).entities.iloc[0]
    assert saving.se_pmpm == 0 and saving.pvalue == 0.0 and saving.statistic == -np.inf * -1
    level = savings_variation(costs, pd.DataFrame({"entity_id": ["E"], "benchmark_pmpm": [450.0]})).entities.iloc[0]
    assert level.savings_pmpm == 0 and level.pvalue == 1.0


def test_row_order_and_member_ids_do_not_matter():
    costs = null_state(5, 50, sigma=0.5, seed=3)
    forward = savings_variation(costs, benchmarks_for(costs)).entities.set_index("entity_id")
    backward = savings_variation(costs.iloc[::-1], benchmarks_for(costs).iloc[::-1]).entities.set_index("entity_id")
    pd.testing.assert_frame_equal(forward, backward.loc[forward.index], check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("change, message", [
    (lambda c, b: (c.assign(paid=c["paid"].where(c.index != 3, -1.0)), b), "column paid: must be a number >= 0"),
    (lambda c, b: (c.assign(member_months=c["member_months"].astype(float).where(c.index != 3, np.nan)), b),
     "column member_months"),
    (lambda c, b: (c[c["member_id"] != c["member_id"].iloc[1]], b), "fewer than two members"),
    (lambda c, b: (c, b.iloc[:1]), "without a benchmark"),
    (lambda c, b: (c, b.assign(benchmark_pmpm=[0.0, 500.0])), "benchmark_pmpm must be positive"),
    (lambda c, b: (c, b.assign(benchmark_se_pmpm=[-1.0, 1.0])), "benchmark_se_pmpm >= 0"),
    (lambda c, b: (c.drop(columns="paid"), b), "missing column"),
])
def test_bad_inputs_are_refused(change, message):
    costs = pd.DataFrame({"entity_id": ["A", "A", "B", "B", "B"], "member_id": ["1", "2", "3", "4", "5"],
                          "member_months": [12, 6, 12, 12, 3], "paid": [100.0, 2_000.0, 0.0, 50.0, 900.0]})
    bench = pd.DataFrame({"entity_id": ["A", "B"], "benchmark_pmpm": [500.0, 500.0]})
    costs, bench = change(costs, bench)
    with pytest.raises(InputValidationError, match=message):
        savings_variation(costs, bench)


def test_confidence_must_be_a_probability():
    costs = null_state(1, 10, sigma=0.5, seed=1)
    with pytest.raises(ParameterError, match="confidence"):
        savings_variation(costs, benchmarks_for(costs), confidence=90)
