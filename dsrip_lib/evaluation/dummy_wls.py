"""Weighted least squares on an all-dummy design with a cluster-robust (CR1) covariance, from sums.

The impact estimates regress on dummies only (year effects, treated-by-year effects, a level
intercept), so each row's regressors are a few column indices with value 1. The normal
equations and the clustered meat are then sums over rows: ``X'WX`` and ``X'Wy`` are weighted
counts per column pair and column, and a cluster's score is the sum of ``w * e`` over its rows
per column (``numpy.bincount``). That costs a few passes over the rows instead of the dense
design and QR factorisation a general solver needs, and gives statsmodels' numbers
(``WLS(...).fit(cov_type="cluster", cov_kwds={"use_correction": True})``: the same CR1
small-sample factor G/(G-1) (N-1)/(N-K)); the tests compare the two to 1e-8.

References
----------
Cameron, A. C. and Miller, D. L. (2015), A practitioner's guide to cluster-robust inference,
J. Human Resources 50, 317-372 (CR1). MassHealth DSRIP Protocol, Sec 6.4.1 (the independent
evaluation these estimates serve).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsrip_lib.errors import InputValidationError

NONE = -1  # a row without a regressor in that slot


@dataclass(frozen=True)
class DummyFit:
    """Coefficients, their CR1 covariance, and the sizes the correction used."""

    params: np.ndarray
    cov: np.ndarray
    nobs: int
    clusters: int


def dummy_wls(y: np.ndarray, columns: np.ndarray, weights: np.ndarray, groups: np.ndarray,
              n_params: int) -> DummyFit:
    """WLS of ``y`` on dummies with the member- (or other) clustered CR1 covariance.

    Parameters
    ----------
    y, weights
        One value and one positive weight per row.
    columns
        Integer array (rows x slots): the columns where the row's regressor is 1, ``NONE`` for an
        empty slot; a column appears at most once in a row.
    groups
        Non-negative integer cluster codes per row (G: the distinct codes).
    n_params
        Number of coefficients K.

    Raises
    ------
    InputValidationError
        A coefficient the rows do not identify (a singular ``X'WX``): a dummy without rows.
    """
    columns = np.asarray(columns, dtype=np.int64)
    w = np.asarray(weights, dtype=float)
    y = np.asarray(y, dtype=float)
    k = n_params
    slots = [columns[:, s] for s in range(columns.shape[1])]
    xtwx = np.zeros((k, k))
    xtwy = np.zeros(k)
    for a, ca in enumerate(slots):
        on = ca != NONE
        xtwy += np.bincount(ca[on], w[on] * y[on], minlength=k)
        for cb in slots[a:]:
            both = on & (cb != NONE)
            pair = np.bincount(ca[both] * k + cb[both], w[both], minlength=k * k).reshape(k, k)
            xtwx += pair if cb is ca else pair + pair.T
    if np.linalg.matrix_rank(xtwx) < k:
        raise InputValidationError(f"regression: {k - np.linalg.matrix_rank(xtwx)} coefficient(s) without rows "
                                   "to estimate them (rule: every dummy of the design needs observations)")
    bread = np.linalg.inv(xtwx)
    params = bread @ xtwy
    fitted = sum(np.where(c != NONE, params[np.maximum(c, 0)], 0.0) for c in slots)
    score = w * (y - fitted)
    g = np.asarray(groups, dtype=np.int64)
    size = int(g.max()) + 1
    per_cluster = np.zeros(size * k)
    for c in slots:
        on = c != NONE
        per_cluster += np.bincount(g[on] * k + c[on], score[on], minlength=size * k)
    per_cluster = per_cluster.reshape(size, k)
    meat = per_cluster.T @ per_cluster
    n, n_groups = len(y), int(np.count_nonzero(np.bincount(g)))  # G counts the clusters with rows
    scale = n_groups / (n_groups - 1) * (n - 1) / (n - k)
    return DummyFit(params, scale * bread @ meat @ bread, n, n_groups)
