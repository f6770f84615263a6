"""The exact and Monte Carlo methods against brute-force enumeration and each other."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from stats_oracle import LEHMANN, enumerate_null, tables

from dsrip_lib.errors import ParameterError
from dsrip_lib.stats import cmh_mean_score, van_elteren
from dsrip_lib.stats.exact import subset_sum_distribution


@settings(max_examples=40, deadline=None)
@given(tables(max_strata=3, max_per_group=4), st.sampled_from(["modridit", "rank"]))
def test_exact_pvalues_equal_brute_force_enumeration(df, scores):
    support, observed = enumerate_null(df, "y", "g", "s", "A", ridit=scores == "modridit")
    tol = 1e-9
    for alternative, hits in [
        ("two-sided", np.abs(support) >= abs(observed) - tol),
        ("greater", support >= observed - tol),
        ("less", support <= observed + tol),
    ]:
        res = cmh_mean_score(df, "y", "g", "s", first="A", scores=scores, method="exact", alternative=alternative)
        if not res.testable:
            assert np.isnan(res.pvalue)
            continue
        assert_allclose(res.pvalue, hits.mean(), rtol=1e-10)


@settings(max_examples=30, deadline=None)
@given(tables(max_strata=4, max_per_group=8))
def test_exact_null_mean_and_variance_equal_the_asymptotic_ones(df):
    res = van_elteren(df, "y", "g", "s", first="A", method="exact")
    assume(res.testable)
    null = res.null_distribution
    mean = (null["t"] * null["probability"]).sum()
    assert abs(mean) < 1e-12
    assert_allclose(((null["t"] - mean) ** 2 * null["probability"]).sum(), res.variance, rtol=1e-9)


@settings(max_examples=8, deadline=None)
@given(tables(max_strata=3, max_per_group=8))
def test_monte_carlo_agrees_with_exact_within_its_error(df):
    exact = van_elteren(df, "y", "g", "s", first="A", method="exact")
    assume(exact.testable)
    mc = van_elteren(df, "y", "g", "s", first="A", method="permutation", n_resamples=4000, random_state=11)
    assert abs(mc.pvalue - exact.pvalue) <= 4.5 * mc.pvalue_mc_se + 1 / (mc.n_resamples + 1)


def test_lehmann_exact_pvalue_by_enumeration():
    support, observed = enumerate_null(LEHMANN, "consumption", "treatment", "block", 2)
    assert len(support) == 2 * 3 * 3 * 20  # C(2,1) C(3,1) C(3,1) C(6,3) labellings
    res = van_elteren(LEHMANN, "consumption", "treatment", "block", first=2, method="exact", alternative="greater")
    assert_allclose(res.pvalue, np.mean(support >= observed - 1e-12), rtol=1e-12)


def test_monte_carlo_is_reproducible_with_random_state():
    df = pd.DataFrame({"g": list("ABABABAB") * 2, "s": [1] * 8 + [2] * 8, "y": range(16)})
    a = van_elteren(df, "y", "g", "s", first="A", method="permutation", n_resamples=500, random_state=3)
    b = van_elteren(df, "y", "g", "s", first="A", method="permutation", n_resamples=500, random_state=3)
    assert a.pvalue == b.pvalue and a.pvalue_mc_se > 0 and a.n_resamples == 500


def test_subset_sum_distribution_counts_combinations():
    # subsets of size 2 of {0, 1, 1, 3}: sums 1, 1, 3, 2, 4, 4 -> P(1)=2/6, P(2)=1/6, P(3)=1/6, P(4)=2/6
    p = subset_sum_distribution(np.array([0, 1, 1, 3]), 2)
    assert_allclose(p, [0, 2 / 6, 1 / 6, 1 / 6, 2 / 6])


def test_exact_refuses_a_support_too_large_with_a_clear_message():
    rng = np.random.default_rng(0)
    sizes = [150, 151, 157, 163]  # pairwise co-prime n + 1: a huge common lattice
    df = pd.concat(
        [pd.DataFrame({"s": h, "g": np.arange(n) % 2, "y": rng.normal(size=n)}) for h, n in enumerate(sizes)]
    )
    with pytest.raises(ParameterError, match="too large.*method='permutation'"):
        van_elteren(df, "y", "g", "s", first=1, method="exact")


def test_exact_with_table_scores_needs_integers():
    df = pd.DataFrame({"g": list("ABAB"), "s": 1, "y": [0.5, 1.0, 2.0, 3.0]})
    with pytest.raises(ParameterError, match="integer values"):
        cmh_mean_score(df, "y", "g", "s", first="A", scores="table", method="exact")
    ok = cmh_mean_score(df.assign(y=[1, 2, 3, 5]), "y", "g", "s", first="A", scores="table", method="exact")
    # 2 of 4 values {1,2,3,5}: first-group sums 1+3=4 of {3,4,6,5,7,8}; |sum - 5.5| >= 1.5: 3,4,7,8
    assert_allclose(ok.pvalue, 4 / 6)
