"""The program calendar: budget periods, state fiscal years, demonstration years, quarters.

Every date comes from the program definition (``params/program/<name>.yaml``);
this module only knows how to look dates up.

References
----------
MassHealth DSRIP Protocol, Sec 3.1.1 (ACO budget periods, Exhibit 2), Sec 3.1.2
(CP/CSA budget periods, Exhibit 3), Sec 1.1 (demonstration approval period),
Sec 5.2.1.2 (CY2017 baseline).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, NamedTuple

from pydantic import Field, model_validator

from dsrip_lib.program.values import FrozenModel


def _first_of_months(start: dt.date, end: dt.date) -> list[dt.date]:
    """First-of-month dates of every month that overlaps ``start``..``end``."""
    months = []
    year, month = start.year, start.month
    while dt.date(year, month, 1) <= end:
        months.append(dt.date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


class DateRange(FrozenModel):
    """An inclusive range of dates."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self):
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    def __contains__(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    @property
    def months(self) -> list[dt.date]:
        """First-of-month dates of the months in the range."""
        return _first_of_months(self.start, self.end)


def _month_end(day: dt.date) -> dt.date:
    following = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def lookback_window(as_of: dt.date, months: int) -> DateRange:
    """The ``months`` whole calendar months ending with the month of ``as_of``, up to ``as_of``.

    "12 months to 2021-02-28" is 2020-03-01..2021-02-28 (29 February 2020 is outside);
    "1 month to 2021-06-30" is June 2021.
    """
    if months < 1:
        raise ValueError(f"a look-back window needs at least one month, got {months}")
    index = as_of.year * 12 + as_of.month - 1 - (months - 1)
    return DateRange(start=dt.date(index // 12, index % 12 + 1, 1), end=as_of)


class BudgetPeriod(DateRange):
    """One budget period: ``number`` 0 (Prep) to 5, with inclusive dates.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 3.1.1 and Exhibit 2 (ACO), Sec 3.1.2 and Exhibit 3 (CP/CSA).
    """

    number: Annotated[int, Field(ge=0)]
    label: str
    whole: DateRange | None = None  # set when the period is cut to the months the data covers

    @property
    def partial(self) -> bool:
        """Whether this is a period cut to the months some data covers (:meth:`clipped`)."""
        return self.whole is not None

    def clipped(self, first_month: dt.date, last_month: dt.date) -> BudgetPeriod | None:
        """The part of the period inside the months ``first_month``..``last_month`` (None if no overlap).

        A partly covered period keeps its number, starts and ends on the covered months, is
        labelled with them ("BP 2 (Jan-Jun 2019)") and records the whole period in ``whole``.
        """
        covered = DateRange(start=first_month.replace(day=1), end=_month_end(last_month))
        start, end = max(self.start, covered.start), min(self.end, covered.end)
        if start > end:
            return None
        if (start, end) == (self.start, self.end):
            return self
        if (start.year, start.month) == (end.year, end.month):
            span = f"{start:%b %Y}"
        else:
            span = f"{start:%b}-{end:%b %Y}" if start.year == end.year else f"{start:%b %Y}-{end:%b %Y}"
        whole = self.whole or DateRange(start=self.start, end=self.end)
        return BudgetPeriod(number=self.number, label=f"{self.label} ({span})", start=start, end=end, whole=whole)


class Quarter(NamedTuple):
    """A calendar quarter (``quarter`` 1-4) of ``year``."""

    year: int
    quarter: int

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 3 * self.quarter - 2, 1)

    @property
    def end(self) -> dt.date:
        if self.quarter == 4:
            return dt.date(self.year, 12, 31)
        return dt.date(self.year, 3 * self.quarter + 1, 1) - dt.timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.quarter}"


class _BudgetPeriodSpec(DateRange):
    label: str


class Calendar(FrozenModel):
    """The program's calendar, loaded from the program definition's ``calendar`` block.

    Budget-period schedules are keyed by kind (``"aco"``, ``"cp"``; a program may
    define others) and then by period number (0 = Prep).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 1.1, Sec 3.1.1 (Exhibit 2), Sec 3.1.2 (Exhibit 3),
    Sec 5.2.1.2 (baseline year).
    """

    baseline_year: int
    fiscal_year_start_month: Annotated[int, Field(ge=1, le=12)]
    demonstration: DateRange
    first_demonstration_sfy: int
    budget_period_schedules: Annotated[
        dict[str, Annotated[dict[int, _BudgetPeriodSpec], Field(min_length=1)]], Field(min_length=1)
    ]

    @model_validator(mode="after")
    def _schedules_contiguous(self):
        for kind, schedule in self.budget_period_schedules.items():
            numbers = sorted(schedule)
            if numbers != self.period_numbers:
                raise ValueError(
                    f"budget_period_schedules.{kind}: periods {numbers} differ from the first schedule's "
                    f"{self.period_numbers}"
                )
            if numbers != list(range(numbers[0], numbers[0] + len(numbers))):
                raise ValueError(f"budget_period_schedules.{kind}: period numbers {numbers} are not consecutive")
            for prev, nxt in zip(numbers, numbers[1:]):
                expected = schedule[prev].end + dt.timedelta(days=1)
                if schedule[nxt].start != expected:
                    raise ValueError(
                        f"budget_period_schedules.{kind}.{nxt}: starts {schedule[nxt].start}, "
                        f"expected {expected} (the day after period {prev} ends)"
                    )
        return self

    # -- budget periods ---------------------------------------------------
    @property
    def period_numbers(self) -> list[int]:
        """Budget-period numbers, the same for every schedule (0 = Prep)."""
        return sorted(next(iter(self.budget_period_schedules.values())))

    def _schedule(self, kind: str) -> dict[int, _BudgetPeriodSpec]:
        try:
            return self.budget_period_schedules[kind]
        except KeyError:
            raise ValueError(
                f"unknown budget-period kind {kind!r}; this program has {sorted(self.budget_period_schedules)}"
            ) from None

    def budget_periods(self, kind: str = "aco") -> list[BudgetPeriod]:
        """All budget periods of ``kind`` in order."""
        return [
            BudgetPeriod(number=n, label=spec.label, start=spec.start, end=spec.end)
            for n, spec in sorted(self._schedule(kind).items())
        ]

    def budget_period(self, number: int, kind: str = "aco") -> BudgetPeriod:
        """Budget period ``number`` (0 = Prep) of ``kind``."""
        schedule = self._schedule(kind)
        if number not in schedule:
            raise ValueError(f"{kind} budget period {number} does not exist; periods are {sorted(schedule)}")
        spec = schedule[number]
        return BudgetPeriod(number=number, label=spec.label, start=spec.start, end=spec.end)

    def budget_period_of(self, day: dt.date, kind: str = "aco") -> BudgetPeriod | None:
        """The budget period of ``kind`` containing ``day``, or None outside every period."""
        for period in self.budget_periods(kind):
            if day in period:
                return period
        return None

    # -- fiscal and demonstration years -------------------------------------
    def sfy_of(self, day: dt.date) -> int:
        """State fiscal year of ``day``, named for the calendar year in which it ends.

        With a July start, SFY2018 = 2017-07-01..2018-06-30.
        """
        if self.fiscal_year_start_month == 1:
            return day.year
        return day.year + 1 if day.month >= self.fiscal_year_start_month else day.year

    def sfy(self, year: int) -> DateRange:
        """Dates of state fiscal year ``year``."""
        if self.fiscal_year_start_month == 1:
            return DateRange(start=dt.date(year, 1, 1), end=dt.date(year, 12, 31))
        start = dt.date(year - 1, self.fiscal_year_start_month, 1)
        return DateRange(start=start, end=dt.date(year, self.fiscal_year_start_month, 1) - dt.timedelta(days=1))

    def demonstration_year_of(self, day: dt.date) -> int | None:
        """Demonstration year (1-based) of ``day``, or None outside the demonstration."""
        if day not in self.demonstration:
            return None
        return self.sfy_of(day) - self.first_demonstration_sfy + 1

    def demonstration_year(self, number: int) -> DateRange:
        """Dates of demonstration year ``number`` (DY1 = the first SFY of the demonstration)."""
        return self.sfy(self.first_demonstration_sfy + number - 1)

    def split_sfy_amounts(self, amounts_by_sfy: Mapping[int, float], kind: str = "aco") -> dict[int, float]:
        """Spread amounts stated by state fiscal year over budget periods by shared months.

        On the ACO calendar this is the rule of Sec 4.4.3: Prep = half of SFY18, BP n =
        half of SFY(n) + half of SFY(n+1), BP 5 = half of SFY22 (each SFY has six months in
        each of two budget periods). Amounts are not rounded.

        Raises
        ------
        ValueError
            If some month of a stated SFY lies outside every budget period of ``kind``.

        References
        ----------
        MassHealth DSRIP Protocol, Sec 3.1.1 and Sec 4.4.3 (Exhibits 10-11); Sec 5.2
        (Exhibit 24 reproduces Exhibit 1's DY totals split this way).
        """
        periods = self.budget_periods(kind)
        split = {period.number: 0.0 for period in periods}
        for year, amount in amounts_by_sfy.items():
            months = self.sfy(year).months
            placed = 0
            for period in periods:
                shared = len(set(months) & set(period.months))
                split[period.number] += amount * shared / len(months)
                placed += shared
            if placed != len(months):
                raise ValueError(f"SFY{year} has {len(months) - placed} month(s) outside every {kind} budget period")
        return split

    # -- quarters and baseline --------------------------------------------
    @staticmethod
    def quarter_of(day: dt.date) -> Quarter:
        """Calendar quarter of ``day``."""
        return Quarter(day.year, (day.month - 1) // 3 + 1)

    @property
    def baseline_period(self) -> DateRange:
        """The baseline calendar year as dates (Sec 5.2.1.2: CY2017)."""
        return DateRange(start=dt.date(self.baseline_year, 1, 1), end=dt.date(self.baseline_year, 12, 31))
