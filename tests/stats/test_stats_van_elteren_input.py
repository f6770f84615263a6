"""Bad input raises an error that says what is wrong; uninformative data say "not testable"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.stats import van_elteren, van_elteren_many

GOOD = pd.DataFrame({"g": ["A", "B", "A", "B"], "s": [1, 1, 2, 2], "y": [1.0, 2.0, 3.0, 4.0]})


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (GOOD.assign(g="A"), "other group is missing everywhere"),
        (GOOD.assign(y=[1.0, np.nan, 3.0, 4.0]), "column 'y' has missing values in 1 row"),
        (GOOD.assign(s=[1, None, 2, 2]), "column 's' has missing values"),
        (GOOD.assign(g=["A", "B", "C", "B"]), "3 groups .* exactly two"),
        (GOOD.iloc[0:0], "data is empty"),
        (GOOD.drop(columns="s"), r"no column\(s\) \['s'\]"),
        (GOOD.assign(y=["a", "b", "c", "d"]), "must be numeric"),
        (GOOD.assign(y=[1.0, np.inf, 3.0, 4.0]), "infinite values"),
    ],
)
def test_bad_tables_are_refused_with_the_reason(data, match):
    with pytest.raises(InputValidationError, match=match):
        van_elteren(data, "y", "g", "s", first="A")


def test_first_must_be_one_of_the_group_labels():
    with pytest.raises(InputValidationError, match="first='C' is not a label"):
        van_elteren(GOOD, "y", "g", "s", first="C")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alternative": "two_sided"}, "alternative='two_sided'"),
        ({"method": "bootstrap"}, "method='bootstrap'"),
        ({"method": "permutation", "n_resamples": 0}, "n_resamples must be a positive integer"),
    ],
)
def test_bad_options_are_parameter_errors(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        van_elteren(GOOD, "y", "g", "s", first="A", **kwargs)


def test_groups_never_together_is_not_testable_and_says_why():
    data = pd.DataFrame({"g": ["A", "A", "B", "B"], "s": [1, 1, 2, 2], "y": [1.0, 2.0, 3.0, 4.0]})
    res = van_elteren(data, "y", "g", "s", first="A")
    assert not res.testable and res.n_informative_strata == 0
    assert np.isnan(res.pvalue) and np.isnan(res.zscore)
    assert res.strata_skipped == {1: "only one group present", 2: "only one group present"}
    for method in ("exact", "permutation"):
        assert np.isnan(van_elteren(data, "y", "g", "s", first="A", method=method).pvalue)


def test_all_tied_stratum_is_skipped_and_reported():
    data = pd.DataFrame({"g": list("ABAB" * 2), "s": [1] * 4 + [2] * 4, "y": [5.0] * 4 + [1.0, 2.0, 3.0, 4.0]})
    res = van_elteren(data, "y", "g", "s", first="A")
    assert res.strata_used == [2]
    assert res.strata_skipped == {1: "all values tied"}
    assert res.strata.set_index("stratum").loc[1, "variance"] == 0


def test_per_stratum_table_has_the_terms_a_reviewer_needs():
    res = van_elteren(GOOD, "y", "g", "s", first="A")
    row = res.strata.set_index("stratum").loc[1]
    # stratum 1: A=1 (rank 1), B=2 (rank 2); n = 2, scores 1/3 and 2/3
    assert (row["n_first"], row["n_second"], row["n"]) == (1, 1, 2)
    assert row["weight"] == pytest.approx(1 / 3)
    assert row["score_sum_first"] == pytest.approx(1 / 3)
    assert row["expected"] == pytest.approx(1 / 2)
    assert row["variance"] == pytest.approx(1 * 1 / (2 * 1) * 2 * (1 / 6) ** 2)
    assert res.first == "A" and res.second == "B"


def test_many_refuses_a_missing_test_column():
    with pytest.raises(InputValidationError, match="no column"):
        van_elteren_many(GOOD, "y", "g", "s", "domain", first="A")
