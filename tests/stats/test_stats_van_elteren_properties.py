"""Properties of van Elteren's test that any correct implementation has (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats
from stats_oracle import tables
from statsmodels.stats.contingency_tables import StratifiedTable

from dsrip_lib.stats import cmh_mean_score, van_elteren

SETTINGS = settings(max_examples=40, deadline=None)


def _same_test(r1, r2):
    """Equal statistics; an absolute floor because a zero statistic may come out as 1e-30."""
    assert_allclose(
        [r1.statistic, r1.pvalue, r1.zscore, r1.variance],
        [r2.statistic, r2.pvalue, r2.zscore, r2.variance],
        rtol=1e-12,
        atol=1e-14,
        equal_nan=True,
    )


def _same(r1, r2):
    _same_test(r1, r2)
    assert r1.strata_skipped == r2.strata_skipped


@SETTINGS
@given(tables())
def test_swapping_groups_flips_z_and_keeps_two_sided_p(df):
    a = van_elteren(df, "y", "g", "s", first="A")
    b = van_elteren(df, "y", "g", "s", first="B")
    assert_allclose(a.zscore, -b.zscore, rtol=1e-12, atol=1e-14, equal_nan=True)
    assert_allclose(a.pvalue, b.pvalue, rtol=1e-12, equal_nan=True)
    greater = van_elteren(df, "y", "g", "s", first="A", alternative="greater")
    less = van_elteren(df, "y", "g", "s", first="B", alternative="less")
    assert_allclose(greater.pvalue, less.pvalue, rtol=1e-12, equal_nan=True)


@SETTINGS
@given(tables())
def test_strictly_increasing_transform_within_stratum_changes_nothing(df):
    # sinh and a positive factor keep every float order strict (no additive offset to absorb tiny values)
    factor = df["s"].str[1:].astype(int) + 1
    transformed = df.assign(y=np.sinh(df["y"]) * factor)
    _same(van_elteren(df, "y", "g", "s", first="A"), van_elteren(transformed, "y", "g", "s", first="A"))


@SETTINGS
@given(tables(), st.randoms(use_true_random=False))
def test_reordering_rows_and_relabelling_strata_changes_nothing(df, rnd):
    order = list(range(len(df)))
    rnd.shuffle(order)
    relabel = {s: f"z{9 - int(s[1:])}" for s in df["s"].unique()}  # reverses the strata's sort order
    shuffled = df.iloc[order].assign(s=lambda d: d["s"].map(relabel))
    a = van_elteren(df, "y", "g", "s", first="A")
    b = van_elteren(shuffled, "y", "g", "s", first="A")
    _same_test(a, b)
    assert {relabel[k]: v for k, v in a.strata_skipped.items()} == b.strata_skipped


@SETTINGS
@given(tables(), st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=6), st.sampled_from("AB"))
def test_adding_a_one_group_stratum_changes_nothing(df, values, only):
    extra = pd.DataFrame({"g": only, "s": "extra", "y": values})
    a = van_elteren(df, "y", "g", "s", first="A")
    b = van_elteren(pd.concat([df, extra], ignore_index=True), "y", "g", "s", first="A")
    _same_test(a, b)
    assert b.strata_skipped["extra"] == "only one group present"


@SETTINGS
@given(tables(max_strata=1, max_per_group=25))
def test_one_stratum_is_the_tie_corrected_mann_whitney_z(df):
    x, y = df.loc[df["g"] == "A", "y"], df.loc[df["g"] == "B", "y"]
    assume(len(x) and len(y) and df["y"].nunique() > 1)
    res = van_elteren(df, "y", "g", "s", first="A")
    greater = stats.mannwhitneyu(x, y, alternative="greater", method="asymptotic", use_continuity=False)
    two = stats.mannwhitneyu(x, y, method="asymptotic", use_continuity=False)
    assume(1e-8 < greater.pvalue < 1 - 1e-8)  # where isf recovers z to full precision
    assert abs(res.zscore - stats.norm.isf(greater.pvalue)) < 1e-12
    assert_allclose(res.pvalue, two.pvalue, rtol=1e-12)


@SETTINGS
@given(tables(binary=True, max_per_group=12))
def test_binary_outcome_with_table_scores_is_the_mantel_haenszel_test(df):
    res = cmh_mean_score(df, "y", "g", "s", first="A", scores="table")
    assume(res.testable)
    tables_2x2 = [
        pd.crosstab(part["g"], part["y"]).reindex(index=["A", "B"], columns=[0.0, 1.0], fill_value=0).to_numpy()
        for _, part in df.groupby("s")
        if part["g"].nunique() == 2  # statsmodels divides by n - 1; one-group strata add nothing
    ]
    mh = StratifiedTable(tables_2x2).test_null_odds(correction=False)
    assert_allclose([res.statistic, res.pvalue], [mh.statistic, mh.pvalue], rtol=1e-10, atol=1e-14)


@SETTINGS
@given(tables(binary=True, max_per_group=12))
def test_binary_outcome_van_elteren_is_defined_or_says_not_testable(df):
    res = van_elteren(df, "y", "g", "s", first="A")
    if res.testable:
        assert 0 <= res.pvalue <= 1
        assert res.variance > 0
    else:
        assert np.isnan(res.pvalue) and res.n_informative_strata == 0
        assert set(res.strata_skipped.values()) <= {"only one group present", "all values tied"}
