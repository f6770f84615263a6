"""Confidence intervals for observed/expected utilisation ratios."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from statsmodels.stats.rates import confint_poisson

from dsrip_lib.errors import InputValidationError, ParameterError


@dataclass(frozen=True)
class RatioInterval:
    """An observed/expected ratio with its two-sided confidence interval."""

    ratio: float
    low: float
    high: float
    confidence: float


def oe_ratio_interval(observed: float, expected: float, *, alpha: float) -> RatioInterval:
    """Exact Poisson (Garwood) interval for an observed/expected ratio.

    The observed count is treated as Poisson and the expected count as fixed (it comes
    from a risk model), so the interval is the exact interval of the Poisson mean divided
    by ``expected``: [chi2(alpha/2; 2 O) / 2, chi2(1 - alpha/2; 2 O + 2) / 2] / E.

    Parameters
    ----------
    observed : float
        Observed events (a non-negative count).
    expected : float
        Risk-adjusted expected events (> 0).
    alpha : float
        1 - confidence level, from the caller (the protocol sets no level for ratios).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 (risk-adjusted observed-to-expected PPA and
    readmission ratios, Exhibit 29 reduction targets). Garwood, F. (1936), Fiducial limits
    for the Poisson distribution, Biometrika 28, 437-442.
    """
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha must be in (0, 1), got {alpha!r}")
    if not np.isfinite(observed) or observed < 0 or observed != np.round(observed):
        raise InputValidationError(f"observed must be a non-negative whole count, got {observed!r}")
    if not np.isfinite(expected) or expected <= 0:
        raise InputValidationError(f"expected must be a positive number, got {expected!r}")
    low, high = confint_poisson(observed, expected, method="exact-c", alpha=alpha)
    return RatioInterval(observed / expected, float(np.nan_to_num(low)), float(high), 1 - alpha)
