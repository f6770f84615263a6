"""Each measure's status in each period as of a date, and roll-ups by driver and aim.

A target cell's status, in this order:

* ``"-"``: **no target**; ``TBD``: **target to be determined**; an empty cell: **no target given
  (blank)**; none of them is ever read as zero, and none is due;
* a number whose period has not ended on the as-of date: **not yet due**;
* a number whose period has ended: **on track** when the latest actual reported on or before the
  as-of date meets it in the measure's direction (at least / at most, compared exactly), else
  **off track**: the actual misses it, or no actual was reported.

A roll-up counts its cells per status; its own status is **off track** if any cell is off track,
else **on track** if any is on track, else **not yet due** if any is not yet due, else **not
assessable** (only "-", TBD and blank cells).

References
----------
Connecticut State Innovation Model Driver Diagram (accountability targets, PIP and PY1-PY3);
docs/methodology/targets.md.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dsrip_lib.errors import ParameterError
from dsrip_lib.exact import exact
from dsrip_lib.tracking.table import AT_LEAST, BLANK, LEVELS, NO_TARGET, NUMBER, TBD, TargetTable

ON_TRACK, OFF_TRACK, NOT_DUE = "on track", "off track", "not yet due"
NO_TARGET_STATUS, TBD_STATUS, BLANK_STATUS = "no target", "target to be determined", "no target given (blank)"
STATUSES = (ON_TRACK, OFF_TRACK, NOT_DUE, NO_TARGET_STATUS, TBD_STATUS, BLANK_STATUS)
NOT_ASSESSABLE = "not assessable"
_UNSCORED = {NO_TARGET: NO_TARGET_STATUS, TBD: TBD_STATUS, BLANK: BLANK_STATUS}
MET, MISSED, NO_ACTUAL, RUNNING = "met", "missed", "no actual reported", "period not ended"
ACTUAL_COLUMNS = ("measure_id", "period", "value", "as_of")


def latest_actuals(actuals: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Per measure and period, the last value reported on or before ``as_of`` (a missing
    ``as_of`` counts at any date): ``measure_id, period, actual, actual_as_of``."""
    reported = pd.to_datetime(actuals["as_of"])
    known = actuals.loc[reported.isna() | (reported <= pd.Timestamp(as_of))].assign(_at=reported)
    last = known.sort_values("_at", na_position="first").drop_duplicates(["measure_id", "period"], keep="last")
    return last.rename(columns={"value": "actual", "as_of": "actual_as_of"})[
        ["measure_id", "period", "actual", "actual_as_of"]]


def _meets(actual: float, target: float, direction: str) -> bool:
    return exact(actual) >= exact(target) if direction == AT_LEAST else exact(actual) <= exact(target)


def target_statuses(table: TargetTable, actuals: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The status of every measure and period of ``table`` as of ``as_of``.

    Parameters
    ----------
    table : TargetTable
    actuals : DataFrame
        ``measure_id, period, value, as_of`` (the contract's ``target_actuals``; checked against
        the table by :func:`dsrip_lib.tracking.actuals.check_actuals`).
    as_of : date
        The day the statuses are taken: a period is due once its last day is on or before it,
        and only actuals reported by then count.

    Returns
    -------
    DataFrame
        One row per target cell, in the table's order: the measure's columns, ``period, cell,
        target, actual, actual_as_of, due, status, reason``.

    References
    ----------
    Connecticut State Innovation Model Driver Diagram (accountability targets, PIP and PY1-PY3).
    """
    if not isinstance(as_of, dt.date):
        raise ParameterError(f"as_of must be a date, got {as_of!r}")
    ends = dict(zip(table.periods["period"], pd.to_datetime(table.periods["end"]).dt.date))
    cells = table.targets.merge(latest_actuals(actuals, as_of), on=["measure_id", "period"], how="left")
    cells = table.measures.merge(cells, on="measure_id", how="right")
    rows = []
    for row in cells.itertuples(index=False):
        due = ends[row.period] <= as_of
        if row.cell != NUMBER:
            status, reason = _UNSCORED[row.cell], ""
        elif not due:
            status, reason = NOT_DUE, RUNNING
        elif pd.isna(row.actual):
            status, reason = OFF_TRACK, NO_ACTUAL
        else:
            met = _meets(row.actual, row.target, row.direction)
            status, reason = (ON_TRACK, MET) if met else (OFF_TRACK, MISSED)
        rows.append({"due": due, "status": status, "reason": reason})
    return pd.concat([cells.reset_index(drop=True), pd.DataFrame(rows, columns=["due", "status", "reason"])],
                     axis=1)


def rollup_status(counts: pd.Series) -> str:
    """A group's status from its cells' status counts (the module's rule)."""
    for status in (OFF_TRACK, ON_TRACK, NOT_DUE):
        if counts.get(status, 0):
            return status
    return NOT_ASSESSABLE


def rollup(table: TargetTable, statuses: pd.DataFrame, level: str, by_period: bool = False) -> pd.DataFrame:
    """Counts of cells per status and the roll-up status of each secondary driver, primary driver or aim.

    ``level`` is one of :data:`~dsrip_lib.tracking.table.LEVELS`; a measure counts towards every
    aim its primary driver serves. ``by_period`` rolls up each period separately.

    Returns
    -------
    DataFrame
        ``<level>_id, <level>`` (and ``period``), ``measures``, one count column per status of
        :data:`STATUSES`, and ``status``; groups in the table's order.
    """
    if level not in LEVELS:
        raise ParameterError(f"roll-up level {level!r} is not one of {LEVELS}")
    cells = statuses
    if level == "aim":
        cells = statuses.merge(table.aims, on="primary_driver_id", how="inner")
    keys = [f"{level}_id", level] + (["period"] if by_period else [])
    counts = pd.crosstab([cells[k] for k in keys], cells["status"]).reindex(columns=list(STATUSES), fill_value=0)
    counts.columns.name = None
    measures = cells.groupby(keys, sort=False)["measure_id"].nunique().rename("measures")
    out = measures.to_frame().join(counts).reset_index()
    out["status"] = out[list(STATUSES)].apply(rollup_status, axis=1)
    order = {k: i for i, k in enumerate(dict.fromkeys(cells[f"{level}_id"]))}
    sort = [out[f"{level}_id"].map(order)] + ([out["period"].map({p: i for i, p in enumerate(table.period_order)})]
                                               if by_period else [])
    out = out.assign(**{f"_s{i}": s for i, s in enumerate(sort)}).sort_values([f"_s{i}" for i in range(len(sort))])
    return out.drop(columns=[f"_s{i}" for i in range(len(sort))]).reset_index(drop=True)
