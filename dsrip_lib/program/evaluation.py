"""The independent evaluation of the demonstration: the date the midpoint assessment runs through.

References
----------
MassHealth DSRIP Protocol, Sec 6.4 and 6.4.1 (midpoint assessment and interim evaluation).
"""

from __future__ import annotations

import datetime as dt

from dsrip_lib.errors import ParameterError
from dsrip_lib.program.calendar import BudgetPeriod, Calendar
from dsrip_lib.program.values import FrozenModel


class Evaluation(FrozenModel):
    """The Independent Evaluator's schedule.

    ``midpoint_through`` is the last day the midpoint assessment covers ("through December 2019").

    References
    ----------
    MassHealth DSRIP Protocol, Sec 6.4.1.
    """

    midpoint_through: dt.date

    def midpoint_period(self, calendar: Calendar, kind: str = "aco") -> BudgetPeriod:
        """The last budget period of ``kind`` that ends on or before ``midpoint_through``.

        Raises
        ------
        ParameterError
            No budget period ends by that date.
        """
        ended = [p for p in calendar.budget_periods(kind) if p.end <= self.midpoint_through]
        if not ended:
            raise ParameterError(f"evaluation.midpoint_through {self.midpoint_through}: no {kind} budget period "
                                 "ends by then")
        return ended[-1]
