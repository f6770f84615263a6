"""The midpoint assessment's uncertainty: intervals of the trends it claims and what the data can detect.

The protocol scores point estimates; the Independent Evaluator's midpoint assessment (Sec 6.4.1)
also says how sure each finding is. Every helper here takes the data's own spread: a confidence
interval for a claimed change, and the minimum detectable difference (MDD) at the run's power and
level, from statsmodels' power functions, so a change smaller than the MDD is reported as
"below what the data can detect" rather than "no change".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower, TTestPower
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from dsrip_lib.errors import InputValidationError


@dataclass(frozen=True)
class Estimate:
    """A change or level with its two-sided interval and the minimum detectable difference."""

    value: float
    low: float
    high: float
    mdd: float

    @property
    def detectable(self) -> bool:
        """Whether the estimate is at least as large as the smallest difference the data can detect."""
        return abs(self.value) >= self.mdd

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def z_of(confidence: float) -> float:
    """The two-sided normal quantile of a confidence level."""
    return float(stats.norm.ppf((1 + confidence) / 2))


def normal_estimate(value: float, se: float, n: int, confidence: float, power: float) -> Estimate:
    """A normally distributed estimate with standard error ``se`` from ``n`` independent units.

    The MDD is statsmodels' one-sample normal power solution (``NormalIndPower`` with
    ``ratio=0``) in standardised units, times the unit standard deviation ``se * sqrt(n)``.
    """
    half = z_of(confidence) * se
    d = NormalIndPower().solve_power(effect_size=None, nobs1=n, alpha=1 - confidence, power=power, ratio=0)
    return Estimate(value, value - half, value + half, float(d * se * np.sqrt(n)))


def paired_change(differences: pd.Series, confidence: float, power: float) -> Estimate:
    """The mean of paired differences (one per unit, e.g. per ACO) with its t interval and the MDD of
    a paired t-test (statsmodels ``TTestPower``) at the differences' own spread.

    Raises
    ------
    InputValidationError
        Fewer than two differences (no spread to estimate).
    """
    d = differences.dropna().to_numpy(float)
    if len(d) < 2:
        raise InputValidationError(f"a paired change needs two units or more, got {len(d)}")
    stats_ = DescrStatsW(d)
    low, high = stats_.tconfint_mean(alpha=1 - confidence) if d.std(ddof=1) > 0 else (d.mean(), d.mean())
    effect = TTestPower().solve_power(effect_size=None, nobs=len(d), alpha=1 - confidence, power=power)
    return Estimate(float(d.mean()), float(low), float(high), float(effect * d.std(ddof=1)))


def proportion_interval(count: int, nobs: int, confidence: float) -> tuple[float, float]:
    """Wilson interval of a proportion (statsmodels ``proportion_confint``)."""
    low, high = proportion_confint(count, nobs, alpha=1 - confidence, method="wilson")
    return float(low), float(high)


def mean_changes(changes: pd.DataFrame, by: str, value: str, confidence: float) -> pd.DataFrame:
    """Per group, the mean of ``value`` over its rows with a t interval, a two-sided p-value against
    zero and the Benjamini-Hochberg adjusted p-value across the groups.

    Returns ``by, units, mean, ci_low, ci_high, statistic, pvalue, adjusted_pvalue`` (groups with fewer than two
    rows are left out: no spread to estimate).
    """
    grouped = changes.groupby(by)[value]
    out = pd.DataFrame({"units": grouped.size(), "mean": grouped.mean(), "sd": grouped.std(ddof=1)})
    out = out[out["units"] >= 2]
    se = out["sd"] / np.sqrt(out["units"])
    quantile = stats.t.ppf((1 + confidence) / 2, out["units"] - 1)
    out["ci_low"], out["ci_high"] = out["mean"] - quantile * se, out["mean"] + quantile * se
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, out["mean"] / se, 0.0)
    out["statistic"] = t
    out["pvalue"] = 2 * stats.t.sf(np.abs(t), out["units"] - 1)
    out["adjusted_pvalue"] = multipletests(out["pvalue"], method="fdr_bh")[1] if len(out) else []
    return out.drop(columns="sd").reset_index()
