"""The vectorised form gives, for every test id, what the single test gives on that test's rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from dsrip_lib.stats import cmh_mean_score, cmh_mean_score_many, van_elteren, van_elteren_many
from dsrip_lib.stats.cmh import _cell_value_order


def _long_table(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for domain in ["care_integration", "prevention", "chronic", "behavioral"]:
        n = rng.integers(20, 60)
        parts.append(
            pd.DataFrame(
                {
                    "domain": domain,
                    "aco": rng.choice([f"ACO{i:02d}" for i in range(6)], size=n),
                    "period": rng.choice(["current", "pooled"], size=n),
                    "score": np.round(rng.uniform(0, 1, size=n), 1),  # rounding makes ties
                }
            )
        )
    # a domain whose two periods never share an ACO: not testable
    parts.append(
        pd.DataFrame({"domain": "untestable", "aco": ["X", "Y"], "period": ["current", "pooled"], "score": 0.5})
    )
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("alternative", ["two-sided", "less"])
@pytest.mark.parametrize("scores", ["modridit", "rank", "table"])
def test_many_equals_one_test_per_id(alternative, scores):
    df = _long_table(5)
    many = cmh_mean_score_many(
        df, "score", "period", "aco", "domain", first="current", scores=scores, alternative=alternative
    )
    assert list(many.index) == sorted(df["domain"].unique())
    for domain, part in df.groupby("domain"):
        one = cmh_mean_score(part, "score", "period", "aco", first="current", scores=scores, alternative=alternative)
        row = many.loc[domain]
        assert_allclose(
            [row["statistic"], row["pvalue"], row["zscore"], row["variance"]],
            [one.statistic, one.pvalue, one.zscore, one.variance],
            rtol=1e-12,
            equal_nan=True,
        )
        assert row["n_strata_used"] == one.n_informative_strata
        assert row["strata_skipped"] == one.strata_skipped


def test_untestable_row_is_nan_with_reasons():
    many = van_elteren_many(_long_table(1), "score", "period", "aco", "domain", first="current")
    row = many.loc["untestable"]
    assert np.isnan(row["pvalue"]) and row["n_strata_used"] == 0
    assert row["strata_skipped"] == {"X": "only one group present", "Y": "only one group present"}


def test_many_matches_van_elteren_default_scores():
    df = _long_table(9)
    many = van_elteren_many(df, "score", "period", "aco", "domain", first="pooled")
    one = van_elteren(df[df["domain"] == "chronic"], "score", "period", "aco", first="pooled")
    assert_allclose(many.loc["chronic", "pvalue"], one.pvalue, rtol=1e-12)


@pytest.mark.parametrize("n_pairs", [200, 60_000, 100_000])
def test_cell_order_is_lexsort_order_for_8_16_and_64_bit_cell_codes(n_pairs):
    rng = np.random.default_rng(n_pairs)
    pair = rng.integers(0, n_pairs, 300_000)
    values = np.round(rng.normal(size=len(pair)), 1)
    order = _cell_value_order(pair, values, n_pairs)
    reference = np.lexsort((values, pair))
    assert np.array_equal(pair[order], pair[reference])
    assert np.array_equal(values[order], values[reference])
