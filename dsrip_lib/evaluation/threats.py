"""Threats to the impact estimates, measured from the data: selection, a shrinking comparison group,
COVID, attribution churn.

References
----------
MassHealth DSRIP Protocol, Sec 6.4.1 (independent evaluation). Austin, P. C. (2009), Balance
diagnostics for comparing the distribution of baseline covariates between treatment groups in
propensity-score matched samples, Statistics in Medicine 28, 3083-3107 (standardised
differences; above 0.1 is commonly read as imbalance).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dsrip_lib.evaluation.panel import NEVER


def baseline_balance(baseline: pd.DataFrame) -> pd.DataFrame:
    """Baseline-year characteristics of the members later attributed (``ever``) and of the never
    attributed, from :func:`~dsrip_lib.evaluation.panel.baseline_members`, with the standardised
    difference (ever - never over the pooled standard deviation).

    Returns ``characteristic``, ``ever_mean``, ``never_mean``, ``std_difference``, ``ever_members``,
    ``never_members``.
    """
    traits = [c.removesuffix("_n") for c in baseline.columns if c.endswith("_n")]
    by = baseline.set_index("group")
    rows = []
    for t in traits:
        stat = {}
        for grp in ("ever", NEVER):
            n, s, ss = (by.at[grp, f"{t}_{k}"] if grp in by.index else 0.0 for k in ("n", "sum", "sumsq"))
            mean = s / n if n else np.nan
            stat[grp] = (n, mean, (ss - s * s / n) / (n - 1) if n > 1 else np.nan)
        pooled = np.sqrt((stat["ever"][2] + stat[NEVER][2]) / 2)
        rows.append({"characteristic": t, "ever_mean": stat["ever"][1], "never_mean": stat[NEVER][1],
                     "std_difference": (stat["ever"][1] - stat[NEVER][1]) / pooled if pooled > 0 else 0.0,
                     "ever_members": int(stat["ever"][0]), "never_members": int(stat[NEVER][0])})
    return pd.DataFrame(rows)


def covid_years(years: Sequence[int], covid: Sequence[int]) -> list[int]:
    """The evaluator's COVID years that fall in the data's years (flagged, and left out in the sensitivity analysis)."""
    return sorted(set(int(y) for y in years) & set(int(c) for c in covid))


def churn_shares(churn: pd.DataFrame) -> pd.DataFrame:
    """Shares of the members ever attributed who moved to another ACO, left the ACOs, or either
    (:func:`~dsrip_lib.evaluation.panel.churn`)."""
    row = churn.iloc[0]
    members = int(row["members"])
    return pd.DataFrame([{"churn": k, "members": int(row[k]), "share": row[k] / members if members else 0.0}
                         for k in ("switched_aco", "left_aco", "either")])
