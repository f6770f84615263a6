"""Member-months and attributed-member counts per ACO (Sec 4.4.4).

Input is the monthly attribution (``dsrip_lib.attribution.monthly_attribution``,
one row per attributed member-month). The monthly aggregation runs on the
backend; everything after it is entity-level pandas (tens of ACOs x months).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

import ibis.expr.types as ir
import pandas as pd

from dsrip_lib.errors import ParameterError
from dsrip_lib.program import BudgetPeriod, DateRange


def monthly_counts(attribution: ir.Table) -> pd.DataFrame:
    """Attributed members per ACO per month, in total and to CHC PCPs.

    A member attributed to an ACO in a month is one member-month for it.
    Returns ``aco_id``, ``month`` (Timestamp), ``members``, ``chc_members``,
    sorted by ACO and month.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4 (member-months per ACO); Sec 4.4.1 (members attributed to
    community health centers counted separately for the CHC PMPM variant,
    Exhibit 7).
    """
    agg = attribution.group_by(["aco_id", "month"]).aggregate(
        members=attribution.count(),
        chc_members=attribution.chc.cast("int64").sum(),
    )
    df = agg.execute()
    df["month"] = pd.to_datetime(df["month"])
    df["chc_members"] = df["chc_members"].fillna(0).astype("int64")
    return df.sort_values(["aco_id", "month"], ignore_index=True)


def member_months_by_period(counts: pd.DataFrame, periods: Sequence[BudgetPeriod]) -> pd.DataFrame:
    """Member-months per ACO per budget period (total and CHC).

    Returns ``aco_id``, ``budget_period``, ``member_months``,
    ``chc_member_months``; months outside every period are dropped.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4 (member-months); Sec 3.1 (budget periods).
    """
    labelled = counts.assign(budget_period=period_of(counts["month"], periods)).dropna(
        subset=["budget_period"]
    )
    out = labelled.groupby(["aco_id", "budget_period"], as_index=False).agg(
        member_months=("members", "sum"), chc_member_months=("chc_members", "sum")
    )
    out["budget_period"] = out["budget_period"].astype("int64")
    return out


def period_of(months: pd.Series, periods: Sequence[BudgetPeriod]) -> pd.Series:
    """The budget period number of each month (nullable Int64; NA outside all periods)."""
    numbers = {pd.Timestamp(month): p.number for p in periods for month in p.months}
    return months.map(numbers).astype("Int64")


def attributed_members(
    counts: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    method: Literal["snapshot", "average"],
    snapshot_month: dt.date | None = None,
) -> pd.DataFrame:
    """Attributed members per ACO over a period, as a snapshot or an average.

    * ``snapshot``: members attributed in ``snapshot_month`` (default the
      period's last month);
    * ``average``: mean of the monthly counts over every month of the period,
      a month without members counting as zero.

    Returns ``aco_id``, ``members``, ``chc_members``, ``chc_share`` (CHC
    members / members) for every ACO with members in the period.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4 ("point-in-time (snapshot) count ... or the average members
    each ACO has over a particular period"); 4.4.1 (CHC variant, Exhibit 7).
    """
    if end < start:
        raise ParameterError(f"empty period {start}..{end}")
    months = pd.DatetimeIndex(DateRange(start=start, end=end).months)
    if method == "snapshot":
        snap = pd.Timestamp(snapshot_month) if snapshot_month else months[-1]
        if snap not in months:
            raise ParameterError(f"snapshot_month {snap.date()} is not a month of {start}..{end}")
        sel = counts[counts["month"] == snap]
        out = sel.groupby("aco_id", as_index=False)[["members", "chc_members"]].sum()
    elif method == "average":
        sel = counts[counts["month"].isin(months)]
        out = sel.groupby("aco_id", as_index=False)[["members", "chc_members"]].sum()
        out[["members", "chc_members"]] = out[["members", "chc_members"]] / len(months)
    else:
        raise ParameterError(f"count method must be 'snapshot' or 'average', got {method!r}")
    out = out[out["members"] > 0].reset_index(drop=True)
    out["chc_share"] = out["chc_members"] / out["members"]
    return out
