"""Van Elteren's test on published examples: SAS's printed numbers where found, an
independent per-stratum computation otherwise."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from stats_oracle import LEHMANN, LEHMANN_SAS_CHISQ, LEHMANN_SAS_P, urininc, van_elteren_by_hand

from dsrip_lib.stats import van_elteren


def test_lehmann_example_matches_sas_printed_output():
    res = van_elteren(LEHMANN, "consumption", "treatment", "block", first=2)
    assert round(res.statistic, 3) == LEHMANN_SAS_CHISQ
    assert round(res.pvalue, 5) == LEHMANN_SAS_P
    assert res.zscore > 0  # treatment 2 consumed more in 3 of 4 blocks
    assert res.n_informative_strata == 4


def test_urininc_cell_sizes_as_printed():
    counts = urininc().groupby(["stratum", "therapy"]).size().unstack()
    # 20 data lines of ten slots; the note's "." slots: 8 placebo, 1 + 7 + 1 drug
    assert counts.to_numpy().sum() == 200 - 17
    assert (counts > 15).all().all()


def test_urininc_asymptotic_equals_per_stratum_computation():
    df = urininc()
    res = van_elteren(df, "change", "therapy", "stratum", first="Drug")
    t, var = van_elteren_by_hand(df, "change", "therapy", "stratum", "Drug")
    assert_allclose([res.observed_minus_expected, res.variance], [t, var], rtol=1e-12)
    assert_allclose(res.statistic, t * t / var, rtol=1e-12)
    assert_allclose(res.pvalue, stats.chi2.sf(t * t / var, 1), rtol=1e-10)
    assert res.zscore < 0  # the drug reduced episodes more: lower percent change


def test_urininc_exact_distribution_moments_and_monte_carlo():
    df = urininc()
    asym = van_elteren(df, "change", "therapy", "stratum", first="Drug")
    exact = van_elteren(df, "change", "therapy", "stratum", first="Drug", method="exact")
    null = exact.null_distribution
    assert_allclose(null["probability"].sum(), 1.0, rtol=1e-12)
    mean = (null["t"] * null["probability"]).sum()
    assert abs(mean) < 1e-12
    assert_allclose(((null["t"] - mean) ** 2 * null["probability"]).sum(), asym.variance, rtol=1e-9)
    mc = van_elteren(df, "change", "therapy", "stratum", first="Drug", method="permutation", random_state=2025)
    assert abs(mc.pvalue - exact.pvalue) <= 4 * mc.pvalue_mc_se + 1 / (mc.n_resamples + 1)
    # at this sample size (183 patients) the normal approximation is close to the exact test
    assert exact.pvalue == pytest.approx(asym.pvalue, rel=0.1)


@pytest.mark.parametrize("alternative", ["greater", "less"])
def test_one_sided_pvalues_split_the_two_sided(alternative):
    df = urininc()
    two = van_elteren(df, "change", "therapy", "stratum", first="Drug").pvalue
    one = van_elteren(df, "change", "therapy", "stratum", first="Drug", alternative=alternative).pvalue
    expected = two / 2 if alternative == "less" else 1 - two / 2  # z < 0 here
    assert_allclose(one, expected, rtol=1e-12)
    assert np.isfinite(one)
