"""Period-over-period improvement tests for quality scoring (improvement points).

The protocol awards improvement points when a measure's score "shows statistically
significant improvement (e.g., based on a Chi-square test) ... with a p-value less than or
equal to" the program's threshold. The threshold is the caller's (program definition).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.rates import method_names_poisson_2indep, test_poisson_2indep

from dsrip_lib.errors import InputValidationError
from dsrip_lib.stats._input import check_choice

PROPORTION_METHODS = ("chi2", "yates", "fisher")
RATE_METHODS = tuple(method_names_poisson_2indep["test"]["ratio"])


@dataclass(frozen=True)
class ImprovementResult:
    """Comparison of a measure's current period with its previous period.

    Attributes
    ----------
    statistic : float
        Chi-square (Pearson, or Yates-corrected), the odds ratio (Fisher), or the Poisson
        rate-ratio z statistic; NaN when the test is undefined.
    pvalue : float
        Two-sided; NaN when the test is undefined (e.g. both periods at 0% or 100%).
    previous_rate, current_rate : float
        Numerator / denominator (or events / exposure) of each period.
    direction : {"improved", "worsened", "unchanged"}
        Sign of the change, read with ``higher_is_better``.
    method : str
    """

    statistic: float
    pvalue: float
    previous_rate: float
    current_rate: float
    direction: str
    method: str

    def significant_improvement(self, alpha: float) -> bool:
        """True when the measure improved and ``pvalue <= alpha`` (the caller's level).

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.3.1.2, Improvement Points 2(a)-(b), Exhibit 34.
        """
        return self.direction == "improved" and bool(self.pvalue <= alpha)


def _direction(previous: float, current: float, higher_is_better: bool) -> str:
    if current == previous:
        return "unchanged"
    return "improved" if (current > previous) == higher_is_better else "worsened"


def _check_counts(**counts: float) -> None:
    for name, count in counts.items():
        if not np.isfinite(count) or count < 0:
            raise InputValidationError(f"{name} must be a finite non-negative number, got {count!r}")


def proportion_improvement(
    previous_numerator: int,
    previous_denominator: int,
    current_numerator: int,
    current_denominator: int,
    *,
    higher_is_better: bool,
    method: str = "chi2",
) -> ImprovementResult:
    """Test whether a proportion measure changed between two periods (2 x 2 table).

    Parameters
    ----------
    previous_numerator, previous_denominator, current_numerator, current_denominator : int
        Counts of each period (numerator <= denominator, denominator > 0).
    higher_is_better : bool
        Whether a higher rate is an improvement (False for inverse measures).
    method : {"chi2", "yates", "fisher"}
        Pearson chi-square without continuity correction (default, the protocol's example),
        with Yates' correction, or Fisher's exact test (two-sided).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.2, Improvement Points 2(a)-(b) and Exhibit 34
    ("statistically significant improvement (e.g., based on a Chi-square test)").
    """
    check_choice("method", method, PROPORTION_METHODS)
    counts = dict(
        previous_numerator=previous_numerator,
        previous_denominator=previous_denominator,
        current_numerator=current_numerator,
        current_denominator=current_denominator,
    )
    _check_counts(**counts)
    for period in ("previous", "current"):
        numerator, denominator = counts[f"{period}_numerator"], counts[f"{period}_denominator"]
        if denominator == 0 or numerator > denominator:
            raise InputValidationError(
                f"{period} period: numerator {numerator} and denominator {denominator} "
                "need 0 <= numerator <= denominator and denominator > 0"
            )
    previous_rate = previous_numerator / previous_denominator
    current_rate = current_numerator / current_denominator
    direction = _direction(previous_rate, current_rate, higher_is_better)
    table = np.array(
        [
            [current_numerator, current_denominator - current_numerator],
            [previous_numerator, previous_denominator - previous_numerator],
        ]
    )
    if method == "fisher":
        res = stats.fisher_exact(table)
        statistic, pvalue = float(res.statistic), float(res.pvalue)
    elif (table.sum(axis=0) == 0).any():
        # both periods at 0% or 100%: the chi-square statistic is 0/0, not a number
        statistic, pvalue = np.nan, np.nan
    else:
        res = stats.chi2_contingency(table, correction=method == "yates")
        statistic, pvalue = float(res.statistic), float(res.pvalue)
    return ImprovementResult(statistic, pvalue, previous_rate, current_rate, direction, method)


def rate_improvement(
    previous_events: float,
    previous_exposure: float,
    current_events: float,
    current_exposure: float,
    *,
    higher_is_better: bool,
    method: str = "score",
) -> ImprovementResult:
    """Test whether an event rate (events per member-months) changed between two periods.

    Compares two Poisson rates by their ratio with statsmodels' ``test_poisson_2indep``.

    Parameters
    ----------
    previous_events, previous_exposure, current_events, current_exposure : float
        Event counts and exposure (e.g. member-months, > 0) of each period.
    higher_is_better : bool
        Whether a higher rate is an improvement (False for utilisation such as ED visits).
    method : str
        A statsmodels ratio-test method: "score" (default; Gu et al. 2008), "exact-cond"
        (conditional binomial exact test), "cond-midp", "wald", "sqrt", ...

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.2, Improvement Points 2(a)-(b) and Exhibit 34.
    Gu, K., Ng, H. K. T., Tang, M. L. and Schucany, W. R. (2008), Testing the ratio of two
    Poisson rates, Biometrical Journal 50(2), 283-298.
    """
    check_choice("method", method, RATE_METHODS)
    _check_counts(
        previous_events=previous_events,
        previous_exposure=previous_exposure,
        current_events=current_events,
        current_exposure=current_exposure,
    )
    for name, exposure in (("previous_exposure", previous_exposure), ("current_exposure", current_exposure)):
        if exposure == 0:
            raise InputValidationError(f"{name} must be positive: a rate needs exposure")
    previous_rate = previous_events / previous_exposure
    current_rate = current_events / current_exposure
    direction = _direction(previous_rate, current_rate, higher_is_better)
    if previous_events + current_events == 0:
        # no events in either period: nothing to compare
        return ImprovementResult(np.nan, np.nan, previous_rate, current_rate, direction, method)
    with np.errstate(divide="ignore"):  # no previous events: statsmodels' reported ratio is inf, the test is fine
        res = test_poisson_2indep(current_events, current_exposure, previous_events, previous_exposure, method=method)
    return ImprovementResult(float(res.statistic), float(res.pvalue), previous_rate, current_rate, direction, method)
