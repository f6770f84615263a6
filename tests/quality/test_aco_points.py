"""Achievement and improvement points (Sec 5.3.1.2): rule edges, directions, monotonicity, exact comparisons."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.quality.points import (
    achievement_points,
    exact_rate,
    improvement_points,
    improvement_tests,
    meets_benchmark,
    misses_threshold,
)
from dsrip_lib.stats import proportion_improvement, rate_improvement

MAX = 2.0
rates = st.floats(0, 1, allow_nan=False)


def test_higher_is_better_edges():
    # below threshold 0, at threshold 0, at benchmark max, beyond max, midway half
    got = achievement_points(np.array([0.10, 0.45, 0.80, 0.95, 0.625]), 0.45, 0.80, higher_is_better=True,
                             max_points=MAX)
    assert_allclose(got, [0, 0, 2, 2, 1], atol=1e-12)


def test_lower_is_better_reverses_the_scale():
    # threshold 0.40 (worse), benchmark 0.20 (better)
    got = achievement_points(np.array([0.50, 0.40, 0.20, 0.10, 0.30]), 0.40, 0.20, higher_is_better=False,
                             max_points=MAX)
    assert_allclose(got, [0, 0, 2, 2, 1], atol=1e-12)


def test_series_in_series_out_with_per_row_direction():
    rate = pd.Series([0.6, 0.3], index=["a", "b"])
    got = achievement_points(rate, pd.Series([0.45, 0.4], index=["a", "b"]), pd.Series([0.8, 0.2], index=["a", "b"]),
                             higher_is_better=np.array([True, False]), max_points=MAX)
    assert list(got.index) == ["a", "b"]
    assert_allclose(got, [2 * 15 / 35, 1.0])


def test_scalar_in_float_out():
    assert isinstance(achievement_points(0.6, 0.45, 0.8, higher_is_better=True, max_points=MAX), float)


@pytest.mark.parametrize("threshold, benchmark, higher", [(0.8, 0.45, True), (0.5, 0.5, True), (0.2, 0.4, False)])
def test_threshold_on_the_wrong_side_of_the_benchmark_is_refused(threshold, benchmark, higher):
    with pytest.raises(ParameterError, match="attainment threshold"):
        achievement_points(0.5, threshold, benchmark, higher_is_better=higher, max_points=MAX)


def test_missing_rate_is_refused():
    with pytest.raises(InputValidationError, match="missing"):
        achievement_points(np.array([0.5, np.nan]), 0.45, 0.8, higher_is_better=True, max_points=MAX)


@settings(max_examples=200, deadline=None)
@given(rates, rates, rates, rates, st.booleans())
def test_points_never_fall_as_performance_improves_and_stay_in_range(a, b, t, gap, higher):
    lo, hi = sorted((t, min(1.0, t + gap)))
    if hi - lo < 1e-6:
        return
    threshold, benchmark = (lo, hi) if higher else (hi, lo)
    worse, better = (min(a, b), max(a, b)) if higher else (max(a, b), min(a, b))
    p_worse = achievement_points(worse, threshold, benchmark, higher_is_better=higher, max_points=MAX)
    p_better = achievement_points(better, threshold, benchmark, higher_is_better=higher, max_points=MAX)
    assert 0 <= p_worse <= p_better <= MAX


def test_exact_rate_uses_counts_when_given_else_the_rate_as_written():
    assert exact_rate(45, 100, np.nan) == Fraction(9, 20)
    assert exact_rate(np.nan, np.nan, 0.1) == Fraction(1, 10)


@pytest.mark.parametrize("higher", [True, False])
def test_threshold_and_benchmark_membership_is_exact_at_the_boundary(higher):
    # 0.1 + 0.2 style noise: 3/10 as counts is exactly the 0.3 threshold
    at = Fraction(3, 10)
    assert not misses_threshold(at, 0.3, higher_is_better=higher)
    assert meets_benchmark(at, 0.3, higher_is_better=higher)
    nudge = Fraction(1, 10**12) * (1 if higher else -1)
    assert misses_threshold(at - nudge, 0.3, higher_is_better=higher)
    assert not meets_benchmark(at - nudge, 0.3, higher_is_better=higher)
    assert not misses_threshold(at + nudge, 0.3, higher_is_better=higher)


@st.composite
def two_periods(draw):
    n0, n1 = draw(st.integers(1, 3000)), draw(st.integers(1, 3000))
    return draw(st.integers(0, n0)), n0, draw(st.integers(0, n1)), n1, draw(st.booleans())


@settings(max_examples=50, deadline=None)
@given(st.lists(two_periods(), min_size=1, max_size=5))
def test_closed_form_chi_square_is_proportion_improvement(rows):
    a0, n0, a1, n1, higher = (np.array(c) for c in zip(*rows))
    got = improvement_tests(["binomial"] * len(rows), a0, n0, a1, n1, higher_is_better=higher)
    for i, row in enumerate(rows):
        ref = proportion_improvement(*row[:4], higher_is_better=bool(row[4]))
        assert_allclose(got["statistic"][i], ref.statistic, rtol=1e-9, atol=1e-12, equal_nan=True)
        assert_allclose(got["pvalue"][i], ref.pvalue, rtol=1e-9, atol=1e-300, equal_nan=True)
        assert got["improved"][i] == (ref.direction == "improved")


def test_exhibit_34_rule_on_p_values():
    # p = 0.12 -> 0 points, p = 0.04 -> 2 points; "less than or equal to" alpha; worsening, no test: 0
    got = improvement_points([0.12, 0.04, 0.10, 0.1000001, 0.001, np.nan], [True, True, True, True, False, True],
                             alpha=0.10, points_per_measure=2.0)
    assert_allclose(got, [0, 2, 2, 0, 0, 0])


def test_ratio_measures_use_the_poisson_test_and_rates_alone_are_not_tested():
    got = improvement_tests(["ratio", "ratio", "binomial"], [120, np.nan, 450], [100.0, np.nan, 1000],
                            [80, 80, 500], [100.0, 100.0, 1000], higher_is_better=[False, False, True])
    ref = rate_improvement(120, 100.0, 80, 100.0, higher_is_better=False)
    assert_allclose(got["pvalue"][0], ref.pvalue) and got["improved"][0]
    assert np.isnan(got["pvalue"][1]) and not got["improved"][1]
    assert_allclose(got["pvalue"][2], 0.025, atol=5e-4)  # docs/protocol_discrepancies.md, Exhibit 34 observation


def test_lower_is_better_direction_flips_improved_not_the_p_value():
    up = improvement_tests(["binomial"], [500], [1000], [450], [1000], higher_is_better=[True])
    down = improvement_tests(["binomial"], [500], [1000], [450], [1000], higher_is_better=[False])
    assert up["pvalue"][0] == down["pvalue"][0] and not up["improved"][0] and down["improved"][0]


def test_unknown_kind_is_refused():
    with pytest.raises(ParameterError, match="utilization"):
        improvement_tests(["utilization"], [1], [2], [1], [2], higher_is_better=[False])
