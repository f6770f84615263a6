"""Exact conditional permutation distribution of the stratified CMH mean-score statistic.

Within each stratum, the first group's score sum is the sum of a random subset of fixed
size of that stratum's scores; its distribution is computed with the shift algorithm
(Streitberg and Roehmel 1986, as in R's coin and StatXact) on integer scores. The strata
are independent, so the distribution of T is the convolution of the within-stratum
distributions, placed on a common integer lattice.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dsrip_lib.errors import ParameterError

if TYPE_CHECKING:
    from dsrip_lib.stats.cmh import StratumScores

# Refuse beyond these sizes (a few seconds of numpy work at most); Monte Carlo is the way out.
MAX_WORK = 2e9
MAX_SUPPORT = 2e7


def subset_sum_distribution(k: np.ndarray, m: int) -> np.ndarray:
    """Distribution of the sum of a random ``m``-subset of non-negative integers ``k``.

    Shift algorithm: ``counts[j, s]`` is the number of ``j``-subsets of the items seen so far
    that sum to ``s``; each item shifts row ``j - 1`` by its value into row ``j``.

    Returns
    -------
    numpy.ndarray
        ``p[s] = P(sum = s)`` for ``s = 0 .. sum of the m largest k``.

    References
    ----------
    Streitberg, B. and Roehmel, J. (1986), Exact distributions for permutation and rank
    tests: an introduction to some recently published algorithms. Statistical Software
    Newsletter 12(1), 10-17.
    """
    span = int(np.sort(k)[len(k) - m :].sum()) if m else 0
    counts = np.zeros((m + 1, span + 1))
    counts[0, 0] = 1.0
    for seen, kj in enumerate(k.tolist()):
        top = min(seen + 1, m)
        # numpy reads the right-hand side before writing, so each item is used at most once
        counts[1 : top + 1, kj:] += counts[:top, : span + 1 - kj]
    return counts[m] / counts[m].sum()


def _integer_scores(cells: StratumScores, scores: str, start: int, stop: int) -> tuple[np.ndarray, int]:
    """Integer scores k of one stratum and q such that score = k / q."""
    if scores == "table":
        values = cells.values[start:stop]
        if not np.array_equal(values, np.round(values)):
            raise ParameterError(
                "method='exact' with scores='table' needs integer values; rescale the values "
                "or use method='permutation'"
            )
        return values.astype(np.int64), 1
    n = stop - start
    return cells.rank2[start:stop].astype(np.int64), 2 * (n + 1) if scores == "modridit" else 2


def exact_pvalue(cells: StratumScores, scores: str, alternative: str) -> tuple[float, pd.DataFrame]:
    """Exact p-value of T and its null distribution (columns ``t`` and ``probability``).

    Two-sided: P(|T| >= |t|) with T centred at its null expectation; "greater":
    P(T >= t); "less": P(T <= t).

    Raises
    ------
    ParameterError
        When the lattice or the work to fill it is too large.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 and Appendix C step 3(a), Exhibit A6.
    Hothorn, Hornik, van de Wiel and Zeileis (2008), Implementing a class of permutation
    tests: the coin package, J. Stat. Softw. 28(8).
    """
    frame = cells.table
    strata = []
    for row in frame.loc[frame["used"]].itertuples():
        start = int(cells.cell_start[row.Index])
        stop = start + int(row.n)
        k, q = _integer_scores(cells, scores, start, stop)
        k = k - k.min()  # a constant shift per score moves T and its null expectation alike
        n1, n2 = int(row.n_first), int(row.n_second)
        m = min(n1, n2)
        span = int(np.sort(k)[len(k) - m :].sum())
        observed = int(k[cells.is_first[start:stop]].sum())
        strata.append(dict(k=k, q=q, n1=n1, m=m, span=span, total=int(k.sum()), observed=observed))

    lcm = math.lcm(*(s["q"] for s in strata))
    weights = [lcm // s["q"] for s in strata]
    common = math.gcd(*weights)
    weights = [w // common for w in weights]
    work = sum(len(s["k"]) * (s["m"] + 1) * (s["span"] + 1) for s in strata)  # shift algorithm
    support = 1  # lattice length after each convolution, which costs about min(non-zeros) x length
    for w, s in zip(weights, strata):
        work += min(support, s["span"] + 1) * (support + w * s["span"])
        support += w * s["span"]
    if support > MAX_SUPPORT or work > MAX_WORK:
        raise ParameterError(
            f"the exact distribution is too large to compute ({support:,.0f} lattice points, "
            f"about {work:,.0f} operations; limits {MAX_SUPPORT:,.0f} and {MAX_WORK:,.0f}); "
            "use method='permutation'"
        )

    dist = np.ones(1)
    observed_index = 0
    expected_index = Fraction(0)  # exact: two-sided ties are decided against it
    for w, s in zip(weights, strata):
        p = subset_sum_distribution(s["k"], s["m"])
        if s["m"] == s["n1"]:
            k1_min = 0
        else:  # p is the second group's sum K2; K1 = total - K2 runs from total - span
            p = p[::-1]
            k1_min = s["total"] - s["span"]
        observed_index += w * (s["observed"] - k1_min)
        expected_index += w * (Fraction(s["n1"] * s["total"], len(s["k"])) - k1_min)
        dist = _convolve_strided(dist, p, w)

    index = np.flatnonzero(dist)
    prob = dist[index]
    if alternative == "greater":
        pvalue = prob[index >= observed_index].sum()
    elif alternative == "less":
        pvalue = prob[index <= observed_index].sum()
    else:
        pvalue = prob[_at_least_as_far(index, observed_index, expected_index)].sum()
    unit = common / lcm
    null = pd.DataFrame({"t": (index - float(expected_index)) * unit, "probability": prob})
    return float(min(pvalue, 1.0)), null


def _at_least_as_far(index: np.ndarray, observed: int, centre: Fraction) -> np.ndarray:
    """Mask of lattice points with |index - centre| >= |observed - centre|, decided exactly.

    Floats settle every point clearly apart from the threshold; the few within rounding
    distance of it are compared in exact rational arithmetic.
    """
    threshold = abs(observed - centre)
    gap = np.abs(index - float(centre)) - float(threshold)
    mask = gap >= 0
    near = np.flatnonzero(np.abs(gap) < 1e-6)
    mask[near] = [abs(int(i) - centre) >= threshold for i in index[near]]
    return mask


def _convolve_strided(a: np.ndarray, p: np.ndarray, w: int) -> np.ndarray:
    """``a`` convolved with ``p`` placed every ``w`` points (direct sums, no FFT error).

    A kernel on a stride-``w`` lattice acts on each residue class of ``a`` modulo ``w`` on its
    own, so the convolution is ``w`` direct convolutions of ``a[r::w]`` with the compact ``p``
    (about 2x faster than adding shifted copies of the upsampled kernel, the same operations).
    """
    out = np.zeros(len(a) + w * (len(p) - 1))
    for r in range(min(w, len(a))):
        part = np.convolve(a[r::w], p)
        out[r::w][: len(part)] = part
    return out
