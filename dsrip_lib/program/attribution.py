"""When the program attributes members to ACOs.

References
----------
MassHealth DSRIP Protocol, Sec 4.2.1 (line 561: no flexible services in the Preparation Budget
Period "because ACOs do not yet have enrolled/attributed members"), Sec 5.3 (line 1491: "ACOs
will not have enrolled or attributed members during this period"), Sec 4.4.4.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, model_validator

from dsrip_lib.program.values import FrozenModel


class AttributionRules(FrozenModel):
    """The first budget period in which entities have members, and how members are attributed.

    ``method``: ``enrollment_pcp`` (MassHealth: by enrollment and PCP assignment, Sec 4.4.4) or
    ``claims_plurality`` (Connecticut PCMH+: the participating PCP with the most primary-care
    visits in ``plurality_lookback_months``; MQISSP primer, target population, "our current
    PCMH attribution method"; ``dsrip_lib/attribution/plurality.py``).
    """

    first_budget_period_with_members: Annotated[int, Field(ge=0)]
    method: Literal["enrollment_pcp", "claims_plurality"] = "enrollment_pcp"
    plurality_lookback_months: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _a_calendar_period(self, info: ValidationInfo):
        expected = (info.context or {}).get("budget_periods")
        if expected is not None and self.first_budget_period_with_members not in expected:
            raise ValueError(f"first_budget_period_with_members {self.first_budget_period_with_members} is not a "
                             f"budget period of the calendar {sorted(expected)}")
        if (self.method == "claims_plurality") != (self.plurality_lookback_months is not None):
            raise ValueError("plurality_lookback_months is given exactly when method is claims_plurality")
        return self
