"""Event study around launch: the launch cohort against never-attributed members, period by period.

Each coefficient is the difference between the two groups' mean change in outcome from the
reference period (the last period before launch), from the engine's cells
(:func:`~dsrip_lib.evaluation.panel.event_cells`). A member counts once per cell and the groups
are distinct members, so each coefficient's variance is the sum of the two means' variances: the
member-clustered variance of that coefficient, exactly. Coefficients before launch show whether
the groups trended alike (parallel pre-trends); the reference period is 0 by construction.

References
----------
MassHealth DSRIP Protocol, Sec 6.4.1 (independent evaluation). Freyaldenhoven, S. et al. (2021),
Visualization, identification, and estimation in the linear panel event-study design, NBER
w29170 (plotting pre-period coefficients with pointwise intervals).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from dsrip_lib.errors import InputValidationError
from dsrip_lib.evaluation.panel import NEVER, OUTCOMES, TREATED

REFERENCE = -1  # the last period before launch: every change is from it, so its coefficient is 0 and not shown


def event_study(cells: pd.DataFrame, *, outcomes: Sequence[str] = OUTCOMES, alpha: float = 0.05) -> pd.DataFrame:
    """Per outcome and event period: the effect on the mean per member-month and its interval.

    Returns ``outcome``, ``event_period``, ``period_start``, ``estimate``, ``se``, ``low``,
    ``high``, ``treated_members``, ``comparison_members``.

    Raises
    ------
    InputValidationError
        An event period with treated members and no comparison member (or fewer than two in a group).
    """
    z = float(stats.norm.ppf(1 - alpha / 2))
    wide = cells.pivot(index=["event_period", "period_start"], columns="group")
    n_t = wide[("members", TREATED)] if ("members", TREATED) in wide else None
    n_c = wide[("members", NEVER)] if ("members", NEVER) in wide else None
    if n_t is None or n_c is None or (n_t.notna() & (n_c.fillna(0) < 2)).any():
        short = wide.index if n_c is None else wide.index[n_t.notna() & (n_c.fillna(0) < 2)]
        shown = ", ".join(str(p) for p, _ in list(short)[:5])
        raise InputValidationError(f"enrollment / attribution: event period(s) {shown} have launch-cohort members "
                                   "and fewer than two never-attributed comparison members (rule: every period of "
                                   "the event study needs comparison members)")
    keep = n_t.notna() & (n_t >= 2) & (wide.index.get_level_values("event_period") != REFERENCE)
    out = []
    for o in outcomes:
        mean, var = {}, {}
        for grp, n in ((TREATED, n_t), (NEVER, n_c)):
            s, ss = wide[(f"{o}_sum", grp)], wide[(f"{o}_sumsq", grp)]
            mean[grp] = s / n
            var[grp] = np.maximum(ss - s * s / n, 0) / (n - 1) / n
        est = mean[TREATED] - mean[NEVER]
        se = np.sqrt(var[TREATED] + var[NEVER])
        frame = pd.DataFrame({"outcome": o, "estimate": est, "se": se, "low": est - z * se, "high": est + z * se,
                              "treated_members": n_t, "comparison_members": n_c})[keep]
        out.append(frame.reset_index())
    res = pd.concat(out, ignore_index=True)
    return res.astype({"treated_members": "int64", "comparison_members": "int64"})
