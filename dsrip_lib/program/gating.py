"""Payment gates: the participation plans, budgets and progress reports a DSRIP payment waits for.

References
----------
MassHealth DSRIP Protocol, Sec 3.2.1 and 3.2.2 (preliminary and full participation plans),
Sec 3.3 (budgets and budget narratives), Sec 5.5.1 (semiannual progress reports).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, NamedTuple

from pydantic import Field

from dsrip_lib.program.calendar import Calendar
from dsrip_lib.program.values import FrozenModel

MONTHS_PER_YEAR = 12
FEBRUARY = 2


def _add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * MONTHS_PER_YEAR + day.month - 1 + months
    return dt.date(index // MONTHS_PER_YEAR, index % MONTHS_PER_YEAR + 1, 1)


class ProgressReport(NamedTuple):
    """One semiannual progress report of a budget period: what it covers and when it is due."""

    budget_period: int
    report: int
    covers_through: dt.date
    due_on: dt.date


class PreliminaryPlanSpan(FrozenModel):
    """Payments the preliminary plan suffices for: every budget period before ``budget_period``
    and the payments of ``budget_period`` dated in its first ``months`` months."""

    budget_period: Annotated[int, Field(ge=0)]
    months: Annotated[int, Field(ge=0)]


class Gating(FrozenModel):
    """The documents a payment to an ACO, CP or CSA waits for (the payees: Sec 3.2-3.3, 5.5.1).

    Attributes
    ----------
    preliminary_plan_until
        Sec 3.2.1: the preliminary plan suffices for the Preparation Budget Period's payments and
        "the first quarterly payment of Budget Period 1"; every other payment needs the full plan
        (Sec 3.2.2).
    progress_report_months
        Sec 5.5.1: reports are semiannual, one per six months of a budget period, the last
        covering the whole period.
    progress_report_due_months_after_close
        Sec 5.5.1: a report is due two months after the close of the months it covers.
    progress_report_february_due_day
        Sec 5.5.1 publishes "February 28" for every year, 2020 included: a report due at the end
        of February is due on this day.
    single_report_budget_periods
        Sec 5.5.1: the Preparation Budget Period has one report, whatever its length.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 3.2.1, 3.2.2, 3.3, 5.5.1.
    """

    preliminary_plan_until: PreliminaryPlanSpan
    progress_report_months: Annotated[int, Field(ge=1, le=MONTHS_PER_YEAR)]
    progress_report_due_months_after_close: Annotated[int, Field(ge=0)]
    progress_report_february_due_day: Annotated[int, Field(ge=28, le=29)]
    single_report_budget_periods: list[int] = []

    def preliminary_plan_covers(self, calendar: Calendar, kind: str, budget_period: int) -> dt.date | None:
        """The first day a payment of ``budget_period`` needs the full plan (None: never, it is all
        covered by the preliminary plan).

        ``preliminary_plan_covers(calendar, kind, max(join, preliminary_plan_until.budget_period))``
        is the first day any payment to an entity joining in ``join`` needs the full plan.

        References
        ----------
        MassHealth DSRIP Protocol, Sec 3.2.1, Sec 3.2.2.
        """
        span = self.preliminary_plan_until
        if budget_period < span.budget_period:
            return None
        start = calendar.budget_period(budget_period, kind).start
        return _add_months(start, span.months) if budget_period == span.budget_period else start

    def progress_reports(self, calendar: Calendar, kind: str, from_budget_period: int = 0) -> list[ProgressReport]:
        """Every progress report of the ``kind`` calendar from ``from_budget_period`` (an entity's
        join budget period) on, with its due date.

        A period has a report at the end of each ``progress_report_months`` months from its start
        and one at its end; each is due on the last day of the month
        ``progress_report_due_months_after_close`` months after the last month it covers
        (in February, on ``progress_report_february_due_day``).

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.5.1 (ACO Prep report due 2018-02-28, BP 1 reports due
        2018-08-31 and 2019-02-28; CP/CSA Prep due 2018-05-31, BP 1 due 2018-11-30 and
        2019-02-28, BP 2 due 2019-08-31 and 2020-02-28).
        """
        out = []
        for period in calendar.budget_periods(kind)[from_budget_period:]:
            closes = [] if period.number in self.single_report_budget_periods else [
                _add_months(period.start, k) - dt.timedelta(days=1)
                for k in range(self.progress_report_months, len(period.months), self.progress_report_months)]
            closes.append(period.end)
            for report, close in enumerate(closes, start=1):
                due = _add_months(close, self.progress_report_due_months_after_close + 1) - dt.timedelta(days=1)
                if due.month == FEBRUARY:
                    due = due.replace(day=min(due.day, self.progress_report_february_due_day))
                out.append(ProgressReport(period.number, report, close, due))
        return out
