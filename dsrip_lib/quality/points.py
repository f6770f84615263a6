"""Measure points: achievement points against a threshold and benchmark, improvement points.

Achievement points are continuous: 0 below the attainment threshold, the maximum at or beyond
the excellence benchmark, linear in between (so a rate exactly at either end gets the same
points from the formula and from the rule, and floating-point noise moves points by ~1e-16,
never across a step). The discrete questions -- does a rate miss the threshold, does it meet
the benchmark (the reset trigger) -- are decided exactly (:func:`misses_threshold`,
:func:`meets_benchmark`, ``dsrip_lib.exact``).

References
----------
MassHealth DSRIP Protocol, Sec 5.3.1.2, Achievement Points 1-3 and Exhibit 33; Improvement
Points 1-2 and Exhibit 34.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
from scipy import stats

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.exact import exact
from dsrip_lib.stats import rate_improvement

# Measure kinds whose counts are a proportion (numerator of denominator) or events over exposure.
PROPORTION_KINDS = ("binomial", "engagement", "survey")
RATE_KINDS = ("ratio",)


def achievement_points(rate, threshold, benchmark, *, higher_is_better, max_points: float):
    """Achievement points of a performance score (scalar, array or Series, broadcast together).

    Higher is better: 0 when ``rate < threshold``, ``max_points`` when ``rate >= benchmark``,
    else ``max_points * (rate - threshold) / (benchmark - threshold)``. Lower is better
    (threshold above benchmark): the same with the scale reversed, 0 when ``rate > threshold``,
    ``max_points`` when ``rate <= benchmark``.

    Parameters
    ----------
    rate, threshold, benchmark : float, array-like or Series
        Performance score, attainment threshold and excellence benchmark (same units).
    higher_is_better : bool or array-like of bool
        The measure's direction (per row when an array).
    max_points : float
        ``program.aco_accountability.achievement.max_points_per_measure``.

    Returns
    -------
    float, ndarray or Series (with ``rate``'s index)

    Raises
    ------
    InputValidationError
        A missing (NaN) rate, threshold or benchmark.
    ParameterError
        A threshold on the wrong side of (or equal to) its benchmark for the direction.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.2, Achievement Points 3(a)-(c) and Exhibit 33
    (45% / 80%: 25% -> 0, 90% -> 2, 60% -> 2 x 15/35 = 0.86).
    """
    index = rate.index if isinstance(rate, pd.Series) else None
    r, t, b = (np.asarray(v, dtype=float) for v in (rate, threshold, benchmark))
    higher = np.asarray(higher_is_better, dtype=bool)
    if np.isnan(r).any() or np.isnan(t).any() or np.isnan(b).any():
        raise InputValidationError("achievement points need a rate, a threshold and a benchmark; got a missing value")
    sign = np.where(higher, 1.0, -1.0)
    span = sign * (b - t)
    if (span <= 0).any():
        raise ParameterError(
            "an attainment threshold must be below its excellence benchmark (above it for a lower-is-better "
            f"measure); got threshold(s) {np.atleast_1d(t)[np.atleast_1d(span <= 0)][:5].tolist()} against "
            f"benchmark(s) {np.atleast_1d(b)[np.atleast_1d(span <= 0)][:5].tolist()}"
        )
    points = max_points * np.clip(sign * (r - t) / span, 0.0, 1.0)
    if index is not None:
        return pd.Series(points, index=index, name="achievement_points")
    return float(points) if points.ndim == 0 else points


def exact_rate(numerator: float, denominator: float, rate: float) -> Fraction:
    """A performance score as an exact fraction: ``numerator/denominator`` when both are counts, else ``rate``."""
    if not (pd.isna(numerator) or pd.isna(denominator)) and float(numerator).is_integer() \
            and float(denominator).is_integer():
        return Fraction(int(numerator), int(denominator))
    return exact(float(rate))


def misses_threshold(score: Fraction, threshold: float, *, higher_is_better: bool) -> bool:
    """Whether a score earns no achievement points: below the threshold (above, lower-is-better), exactly.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.2, Achievement Points 3(a) and 4.
    """
    t = exact(threshold)
    return score < t if higher_is_better else score > t


def meets_benchmark(score: Fraction, benchmark: float, *, higher_is_better: bool) -> bool:
    """Whether a score meets the excellence benchmark (at or beyond it for the direction), exactly.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.2, Achievement Points 3(b) and 4.
    """
    b = exact(benchmark)
    return score >= b if higher_is_better else score <= b


def improvement_tests(kind, previous_numerator, previous_denominator, current_numerator, current_denominator, *,
                      higher_is_better) -> pd.DataFrame:
    """Two-sided tests of each measure's change over the previous period (arrays of equal length).

    Proportions (kinds ``PROPORTION_KINDS``: binomial, engagement, and survey composites read as
    proportions of respondents) get the Pearson chi-square of the 2 x 2 table without continuity
    correction, computed in closed form for all rows at once: n (ad - bc)^2 / (row and column
    margins), 1 degree of freedom; undefined (NaN) when both periods are at 0% or both at 100%.
    It is the statistic of ``dsrip_lib.stats.proportion_improvement`` (a test checks they agree).
    Ratio measures with counts get ``dsrip_lib.stats.rate_improvement`` (Poisson rate-ratio score
    test; observed events over expected events or exposure), row by row. A row without counts
    in either period (a rate alone) is not tested.

    Returns
    -------
    DataFrame
        ``statistic``, ``pvalue`` (NaN where no test ran or it is undefined) and ``improved``
        (the change is in the better direction), one row per input row.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.2, Improvement Points 2(a)-(b) ("e.g., based on a
    Chi-square test") and Exhibit 34.
    """
    kind = np.asarray(kind, dtype=object)
    a0, n0, a1, n1 = (np.asarray(v, dtype=float) for v in (previous_numerator, previous_denominator,
                                                            current_numerator, current_denominator))
    higher = np.broadcast_to(np.asarray(higher_is_better, dtype=bool), a0.shape)
    unknown = sorted(set(kind) - set(PROPORTION_KINDS) - set(RATE_KINDS))
    if unknown:
        raise ParameterError(f"no improvement test for measure kind(s) {unknown}")
    counted = ~(np.isnan(a0) | np.isnan(n0) | np.isnan(a1) | np.isnan(n1))
    with np.errstate(divide="ignore", invalid="ignore"):
        p0, p1 = a0 / n0, a1 / n1
        successes, failures = a0 + a1, (n0 - a0) + (n1 - a1)
        chi2 = (n0 + n1) * (a1 * (n0 - a0) - a0 * (n1 - a1)) ** 2 / (successes * failures * n0 * n1)
    chi2 = np.where((successes > 0) & (failures > 0), chi2, np.nan)
    statistic = np.where(counted & np.isin(kind, PROPORTION_KINDS), chi2, np.nan)
    pvalue = stats.chi2.sf(statistic, 1)
    for i in np.flatnonzero(counted & np.isin(kind, RATE_KINDS)):
        res = rate_improvement(a0[i], n0[i], a1[i], n1[i], higher_is_better=bool(higher[i]))
        statistic[i], pvalue[i] = res.statistic, res.pvalue
    improved = counted & (p1 != p0) & ((p1 > p0) == higher)
    return pd.DataFrame({"statistic": statistic, "pvalue": pvalue, "improved": improved})


def improvement_points(pvalue, improved, *, alpha: float, points_per_measure: float):
    """``points_per_measure`` where the change is significant (p <= alpha) and an improvement, else 0.

    A NaN p-value (no previous score, no counts, an undefined test) earns 0.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.2, Improvement Points 2(a)-(b) and Exhibit 34
    (p = 0.12 -> 0 points, p = 0.04 -> 2 points at the program's alpha of 0.10).
    """
    pvalue = np.asarray(pvalue, dtype=float)
    significant = np.where(np.isnan(pvalue), False, pvalue <= alpha)
    return np.where(significant & np.asarray(improved, dtype=bool), points_per_measure, 0.0)
