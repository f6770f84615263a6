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
from dsrip_lib.evaluation.panel import AFTER, NEVER, OUTCOMES, TREATED

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
    outcomes = list(outcomes)
    kept = periods[periods["phase"] != AFTER]
    base = kept[kept["year"] == baseline_year].groupby("eligibility_group")[["months", *outcomes]].sum()
    later = kept[(kept["year"] > baseline_year) & kept["phase"].isin(list(POPULATIONS))]
    missing = sorted(set(later["eligibility_group"].unique()) - set(base.index[base["months"] > 0]))
    if missing:
        raise InputValidationError(f"enrollment.eligibility_group: {missing} have member-months after "
                                   f"{baseline_year} and none in it (rule: an expected count needs the group's "
                                   "baseline-year rate)")
    codes, groups = pd.factorize(later["eligibility_group"])
    rates = base[outcomes].div(base["months"], axis=0).reindex(groups).to_numpy()[codes]
    expected = later["months"].to_numpy()[:, None] * rates
    # the population as a boolean key: grouping on numbers, not on (Arrow-backed) strings
    frame = later[["year", "member", "months", *outcomes]].assign(
        aco=(later["phase"] == TREATED).to_numpy(), **{f"{o}_expected": expected[:, i] for i, o in enumerate(outcomes)})
    # per member (the cluster) within population and year, then per population and year
    per = frame.groupby(["aco", "year", "member"], sort=False).sum()
    cells = per.groupby(level=["aco", "year"])
    sums, n = cells.sum(), cells.size()
    out = []
    for o in outcomes:
        obs, exp = sums[o], sums[f"{o}_expected"]
        ratio = obs / exp
        resid = per[o] - ratio.reindex(per.index.droplevel("member")).to_numpy() * per[f"{o}_expected"]
        spread = (resid ** 2).groupby(level=["aco", "year"]).sum()
        se = np.sqrt(spread * n / np.maximum(n - 1, 1)) / exp
        aco = ratio.index.get_level_values("aco")
        out.append(pd.DataFrame({"outcome": o, "population": np.where(aco, POPULATIONS[TREATED], POPULATIONS[NEVER]),
                                 "year": ratio.index.get_level_values("year").astype("int64"),
                                 "member_months": sums["months"].astype("int64").to_numpy(),
                                 "observed": obs.astype(float).to_numpy(), "expected": exp.to_numpy(),
                                 "ratio": ratio.to_numpy(), "low": (ratio - z * se).to_numpy(),
                                 "high": (ratio + z * se).to_numpy()}))
    return pd.concat(out, ignore_index=True)
