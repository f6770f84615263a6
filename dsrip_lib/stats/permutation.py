"""Monte Carlo p-value of the stratified CMH mean-score statistic: group labels are shuffled
within strata, so each resample draws from the same conditional null as the exact method."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from dsrip_lib.stats.cmh import StratumScores

# Scores held in memory at once: resamples per chunk x rows of informative strata.
_CHUNK_ELEMENTS = 8_000_000


def permutation_pvalue(
    cells: StratumScores,
    observed: float,
    variance: float,
    alternative: str,
    n_resamples: int,
    random_state: int | np.random.Generator | None,
) -> tuple[float, float]:
    """Monte Carlo p-value of the centred statistic ``observed`` and its standard error.

    The p-value counts the observed labelling as one of the resamples,
    (1 + #{T* at least as extreme}) / (1 + n_resamples), as scipy's permutation_test does,
    so it is never zero; its Monte Carlo standard error is sqrt(p (1 - p) / n_resamples).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 and Appendix C step 3(a), Exhibit A6.
    Phipson, B. and Smyth, G. K. (2010), Permutation p-values should never be zero,
    Stat. Appl. Genet. Mol. Biol. 9(1).
    """
    rng = np.random.default_rng(random_state)
    frame = cells.table
    strata = []
    for row in frame.loc[frame["used"]].itertuples():
        start = int(cells.cell_start[row.Index])
        scores = cells.score[start : start + int(row.n)]
        n1 = int(row.n_first)
        # draw the smaller group; the first group's sum is then the complement
        take_first = n1 <= row.n / 2
        strata.append((scores, n1 if take_first else int(row.n_second), take_first, scores.sum(), row.expected))

    total_rows = sum(len(s[0]) for s in strata)
    chunk = max(1, _CHUNK_ELEMENTS // total_rows)
    t_star = np.empty(n_resamples)
    for begin in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - begin)
        t = np.zeros(size)
        for scores, m, take_first, total, expected in strata:
            drawn = rng.permuted(np.tile(scores, (size, 1)), axis=1)[:, :m].sum(axis=1)
            t += (drawn if take_first else total - drawn) - expected
        t_star[begin : begin + size] = t

    tol = 1e-9 * np.sqrt(variance)  # sums of the same scores in another order differ by rounding only
    if alternative == "greater":
        hits = np.count_nonzero(t_star >= observed - tol)
    elif alternative == "less":
        hits = np.count_nonzero(t_star <= observed + tol)
    else:
        hits = np.count_nonzero(np.abs(t_star) >= abs(observed) - tol)
    pvalue = (hits + 1) / (n_resamples + 1)
    return pvalue, float(np.sqrt(pvalue * (1 - pvalue) / n_resamples))
