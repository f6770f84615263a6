"""Observed-to-expected ratios against the baseline year, per outcome, population and year.

Expected = each member-month at its eligibility group's baseline-year rate among all ACO-eligible
members (indirect standardisation by eligibility group, Sec 5.2.1.2's groups), so a ratio above 1
is more than the same mix of members had in the baseline year. The interval is the ratio
estimator's linearised (delta-method) interval clustered by member: events are overdispersed and
a member's months are correlated, which an exact Poisson interval would ignore.

References
----------
MassHealth DSRIP Protocol, Sec 5.2.1.2 (CY2017 baseline, eligibility groups), Sec 6.4.1
(independent evaluation). Cochran, W. G. (1977), Sampling Techniques, 3rd ed., Sec 6.4 (variance
of the ratio estimator).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from dsrip_lib.errors import InputValidationError
from dsrip_lib.evaluation.panel import NEVER, OUTCOMES, TREATED

POPULATIONS = {TREATED: "ACO-attributed", NEVER: "never attributed"}


def oe_ratios(periods: pd.DataFrame, baseline_year: int, *, outcomes: Sequence[str] = OUTCOMES,
              alpha: float = 0.05) -> pd.DataFrame:
    """Observed / expected per outcome, population (:data:`POPULATIONS`) and later year, with intervals.

    Returns ``outcome``, ``population``, ``year``, ``member_months``, ``observed``, ``expected``,
    ``ratio``, ``low``, ``high``.

    Raises
    ------
    InputValidationError
        An eligibility group with member-months after the baseline year and none in it (no
        baseline rate to expect from).
    """
    z = float(stats.norm.ppf(1 - alpha / 2))
    base = periods[periods["year"] == baseline_year].groupby("eligibility_group")[["months", *outcomes]].sum()
    later = periods[(periods["year"] > baseline_year) & periods["phase"].isin(list(POPULATIONS))]
    missing = sorted(set(later["eligibility_group"]) - set(base.index[base["months"] > 0]))
    if missing:
        raise InputValidationError(f"enrollment.eligibility_group: {missing} have member-months after "
                                   f"{baseline_year} and none in it (rule: an expected count needs the group's "
                                   "baseline-year rate)")
    rates = base[list(outcomes)].div(base["months"], axis=0)
    out = []
    for o in outcomes:
        frame = later.assign(expected=later["months"] * rates[o].reindex(later["eligibility_group"]).to_numpy())
        per = frame.groupby(["phase", "year", "member"], as_index=False).agg(
            months=("months", "sum"), observed=(o, "sum"), expected=("expected", "sum"))
        for (phase, year), g in per.groupby(["phase", "year"]):
            obs, exp = g["observed"].sum(), g["expected"].sum()
            ratio = obs / exp
            n = len(g)
            se = np.sqrt(((g["observed"] - ratio * g["expected"]) ** 2).sum() * n / max(n - 1, 1)) / exp
            out.append({"outcome": o, "population": POPULATIONS[phase], "year": int(year),
                        "member_months": int(g["months"].sum()), "observed": float(obs), "expected": float(exp),
                        "ratio": ratio, "low": ratio - z * se, "high": ratio + z * se})
    return pd.DataFrame(out)
