"""Improvement tests for quality scoring (Sec 5.3.1.2, Exhibit 34) and O/E intervals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.program import load_program
from dsrip_lib.stats import oe_ratio_interval, proportion_improvement, rate_improvement

# Exhibit 34's threshold, from the program definition; the stats library never defaults it.
EXHIBIT_34_ALPHA = load_program("masshealth_dsrip").aco_accountability.improvement.alpha


@st.composite
def two_periods(draw):
    den_prev, den_curr = draw(st.integers(1, 3000)), draw(st.integers(1, 3000))
    return draw(st.integers(0, den_prev)), den_prev, draw(st.integers(0, den_curr)), den_curr


@settings(max_examples=60, deadline=None)
@given(two_periods())
def test_chi_square_is_the_textbook_2x2_formula(counts):
    a_prev, n_prev, a_curr, n_curr = counts
    b_prev, b_curr = n_prev - a_prev, n_curr - a_curr
    n = n_prev + n_curr
    margins = (a_prev + a_curr) * (b_prev + b_curr) * n_prev * n_curr
    assume(margins > 0)
    cross = abs(a_curr * b_prev - b_curr * a_prev)
    pearson = n * cross**2 / margins
    yates = n * max(cross - n / 2, 0) ** 2 / margins
    for method, chi2 in (("chi2", pearson), ("yates", yates)):
        res = proportion_improvement(a_prev, n_prev, a_curr, n_curr, higher_is_better=True, method=method)
        assert_allclose(res.statistic, chi2, rtol=1e-9, atol=1e-12)
        assert_allclose(res.pvalue, stats.chi2.sf(chi2, 1), rtol=1e-9, atol=1e-300)


def test_exhibit_34_45_to_50_percent_depends_on_the_denominators():
    # protocol_discrepancies.md: 45% -> 50% gives p = 0.113 with 500 + 500 and 0.025 with 1,000 + 1,000
    small = proportion_improvement(225, 500, 250, 500, higher_is_better=True)
    large = proportion_improvement(450, 1000, 500, 1000, higher_is_better=True)
    assert round(small.pvalue, 3) == 0.113 and round(large.pvalue, 3) == 0.025
    assert small.direction == large.direction == "improved"
    assert not small.significant_improvement(EXHIBIT_34_ALPHA)  # Scenario 1 of Exhibit 34: 0 points
    assert large.significant_improvement(EXHIBIT_34_ALPHA)  # Scenario 2: 2 points


def test_a_significant_worsening_earns_no_improvement():
    res = proportion_improvement(500, 1000, 450, 1000, higher_is_better=True)
    assert res.direction == "worsened" and res.pvalue < EXHIBIT_34_ALPHA
    assert not res.significant_improvement(EXHIBIT_34_ALPHA)
    inverse = proportion_improvement(500, 1000, 450, 1000, higher_is_better=False)
    assert inverse.direction == "improved" and inverse.significant_improvement(EXHIBIT_34_ALPHA)


def test_fisher_lady_tasting_tea():
    # Fisher (1935): 3 of 4 cups right against 1 of 4; two-sided p = 34/70
    res = proportion_improvement(1, 4, 3, 4, higher_is_better=True, method="fisher")
    assert_allclose(res.pvalue, 34 / 70, rtol=1e-12)
    assert res.statistic == pytest.approx(9.0)  # odds ratio (3*3)/(1*1)


def test_both_periods_at_zero_percent_is_not_testable_by_chi_square():
    res = proportion_improvement(0, 40, 0, 50, higher_is_better=False)
    assert np.isnan(res.pvalue) and res.direction == "unchanged"
    assert not res.significant_improvement(EXHIBIT_34_ALPHA)


@pytest.mark.parametrize(
    ("counts", "match"),
    [((5, 0, 1, 2), "previous period"), ((1, 2, 3, 2), "current period"), ((-1, 2, 1, 2), "non-negative")],
)
def test_impossible_counts_are_refused(counts, match):
    with pytest.raises(InputValidationError, match=match):
        proportion_improvement(*counts, higher_is_better=True)


def test_unknown_method_is_refused():
    with pytest.raises(ParameterError, match="method='z'"):
        proportion_improvement(1, 2, 1, 2, higher_is_better=True, method="z")


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 400), st.integers(0, 400), st.floats(10, 1e4), st.floats(10, 1e4))
def test_rate_score_test_is_the_conditional_score_z(events_prev, events_curr, exp_prev, exp_curr):
    assume(events_prev + events_curr > 0)
    res = rate_improvement(events_prev, exp_prev, events_curr, exp_curr, higher_is_better=False)
    # score test of rate ratio 1: z = (x1/t1 - x2/t2) / sqrt((x1 + x2) / (t1 t2)) (Gu et al. 2008, eq. 3)
    z = (events_curr / exp_curr - events_prev / exp_prev) / np.sqrt((events_prev + events_curr) / (exp_prev * exp_curr))
    assert_allclose(res.statistic, z, rtol=1e-9, atol=1e-12)
    assert_allclose(res.pvalue, 2 * stats.norm.sf(abs(z)), rtol=1e-9, atol=1e-300)


def test_rate_exact_conditional_test_is_a_binomial_test():
    res = rate_improvement(40, 1000.0, 22, 1200.0, higher_is_better=False, method="exact-cond")
    binom = stats.binomtest(22, 62, 1200 / 2200)
    assert_allclose(res.pvalue, binom.pvalue, rtol=1e-9)
    assert res.direction == "improved"


def test_rate_without_events_or_exposure():
    none = rate_improvement(0, 100.0, 0, 100.0, higher_is_better=False)
    assert np.isnan(none.pvalue) and none.direction == "unchanged"
    with pytest.raises(InputValidationError, match="current_exposure must be positive"):
        rate_improvement(1, 100.0, 1, 0.0, higher_is_better=False)


@pytest.mark.parametrize(("observed", "low", "high"), [(0, 0.0, 3.689), (5, 1.6235, 11.6683), (10, 4.7954, 18.3904)])
def test_exact_poisson_interval_matches_published_limits(observed, low, high):
    # 95% exact limits of a Poisson count (e.g. Ulm 1990, Am J Epidemiol 131:373-375, Table 1)
    expected = 2.0
    res = oe_ratio_interval(observed, expected, alpha=0.05)
    assert_allclose([res.low * expected, res.high * expected], [low, high], atol=5e-4)
    assert res.ratio == observed / expected and res.confidence == pytest.approx(0.95)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5000), st.floats(0.5, 5000), st.sampled_from([0.01, 0.05, 0.1, 0.2]))
def test_interval_is_garwood_chi_square_form(observed, expected, alpha):
    res = oe_ratio_interval(observed, expected, alpha=alpha)
    low = stats.chi2.ppf(alpha / 2, 2 * observed) / 2 / expected
    high = stats.chi2.ppf(1 - alpha / 2, 2 * observed + 2) / 2 / expected
    assert_allclose([res.low, res.high], [low, high], rtol=1e-9)
    assert res.low <= res.ratio <= res.high


@pytest.mark.parametrize(
    ("args", "error"),
    [((2.5, 3.0, 0.05), InputValidationError), ((3, 0.0, 0.05), InputValidationError), ((3, 3.0, 1.5), ParameterError)],
)
def test_interval_refuses_bad_input(args, error):
    observed, expected, alpha = args
    with pytest.raises(error):
        oe_ratio_interval(observed, expected, alpha=alpha)
