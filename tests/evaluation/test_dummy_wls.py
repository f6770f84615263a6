"""The sums-based dummy WLS against statsmodels' WLS with the clustered (CR1) covariance, the reference."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

from dsrip_lib.attribution.rules import monthly_attribution
from dsrip_lib.errors import InputValidationError
from dsrip_lib.evaluation import did as did_module
from dsrip_lib.evaluation.dummy_wls import NONE, dummy_wls
from dsrip_lib.evaluation.panel import member_periods, outcome_panel
from dsrip_lib.inputs.dataset import open_dataset

RTOL = 1e-8


def _statsmodels(y, columns, w, groups, k):
    x = np.zeros((len(y), k))
    for c in columns.T:
        on = c != NONE
        x[np.flatnonzero(on), c[on]] = 1.0
    res = sm.WLS(y, x, weights=w).fit(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": True,
                                                                        "df_correction": True})
    return np.asarray(res.params), np.asarray(res.cov_params())


def _assert_same(y, columns, w, groups, k):
    fit = dummy_wls(y, columns, w, groups, k)
    params, cov = _statsmodels(y, columns, w, groups, k)
    assert_allclose(fit.params, params, rtol=RTOL, atol=1e-12 * np.abs(params).max())
    assert_allclose(fit.cov, cov, rtol=RTOL, atol=1e-12 * np.abs(cov).max())


def test_a_random_design_with_overlapping_dummies_matches_statsmodels():
    rng = np.random.default_rng(3)
    n, k = 4000, 9
    columns = np.stack([rng.integers(0, 4, n), np.where(rng.random(n) < 0.4, 4 + rng.integers(0, 4, n), NONE),
                        np.where(rng.random(n) < 0.2, 8, NONE)], axis=1)
    y = rng.poisson(2.0, n) + 0.3 * (columns[:, 1] != NONE)
    _assert_same(y.astype(float), columns, rng.integers(1, 13, n).astype(float), rng.integers(0, 700, n), k)


def test_a_dummy_without_rows_is_refused():
    columns = np.array([[0], [0], [1], [1]])
    with pytest.raises(InputValidationError, match="1 coefficient"):
        dummy_wls(np.ones(4), columns, np.ones(4), np.array([0, 1, 2, 3]), 3)


@pytest.mark.parametrize("profile", ["tiny_data", "small_state"])
def test_every_regression_of_the_impact_estimates_matches_statsmodels(profile, request, program, monkeypatch):
    """did (with its placebo, ACO clustering and COVID exclusion) and naive call the sums-based fit; each call is
    checked against statsmodels on the same rows."""
    d = open_dataset(request.getfixturevalue(profile), program=program, validate=False)
    att = monthly_attribution(*(d.table(n) for n in ("enrollment", "pcp_assignments", "providers", "entities")),
                              program)
    panel = outcome_panel(d.table("claims"), d.table("enrollment"), att, program)
    periods = member_periods(panel)
    calls = []

    def checked(y, columns, w, groups, k):
        _assert_same(y, columns, w, groups, k)
        calls.append(k)
        return dummy_wls(y, columns, w, groups, k)

    monkeypatch.setattr(did_module, "dummy_wls", checked)
    base = panel.baseline_year
    did_module.did(periods, base)
    did_module.did(periods, base, placebo=True)
    did_module.did(periods, base, cluster="aco", exclude_years=[2020])
    did_module.naive(periods, base)
    assert len(calls) == 4 * 3 + 4 * 2 and max(calls) > 5
