"""ACO, CP and CSA payment exhibits: sub-streams, PMPM schedules, adjustments, DSTI glide path.

References
----------
MassHealth DSRIP Protocol, Sec 4.4 (ACOs: Exhibits 4, 6-10), Sec 4.5 (CPs and CSAs:
Exhibits 12-14), Sec 5.1.2 (Exhibits 19 and 21: how each sub-stream is held accountable).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from dsrip_lib.errors import ParameterError
from dsrip_lib.program.calendar import Calendar
from dsrip_lib.program.values import (
    AmountTable,
    Fraction,
    FrozenModel,
    MoneyByPeriod,
    NonNegative,
    Range,
    RangeByPeriod,
)


class Mechanism(StrEnum):
    """How a funding sub-stream is held accountable (Exhibits 19 and 21)."""

    not_at_risk = "not_at_risk"
    withhold = "withhold"
    retrospective_reimbursement = "retrospective_reimbursement"
    incentive_pool = "incentive_pool"





class ModelAdjustment(FrozenModel):
    model: str
    model_name: str
    risk_track: int | None
    adjustment: Fraction


class AcoPayments(FrozenModel):
    """ACO sub-streams, PMPM schedules and adjustments, DSTI glide path by SFY.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.1 (Exhibit 4), Sec 4.4.1 (Exhibits 6-8 and the
    primary-care PMPM schedule), Sec 4.4.2 (Exhibit 9), Sec 4.4.3 (Exhibit 10),
    Sec 5.1.2 (Exhibit 19).
    """

    substreams: dict[str, Mechanism]
    startup_ongoing_average_pmpm_usd: MoneyByPeriod
    startup_ongoing_average_pmpm_tolerance_usd: NonNegative
    primary_care_investment_pmpm_usd: MoneyByPeriod
    safety_net_adjustment: dict[int, Fraction]
    chc_safety_net_adjustment: Fraction
    model_adjustments: list[ModelAdjustment]
    installments_per_budget_period: Annotated[int, Field(ge=1)]
    first_half_only_budget_periods: list[int] = []
    preliminary_count_months_before_period: Annotated[int, Field(ge=1)] = 1
    flexible_services_pmpm_usd: MoneyByPeriod
    flexible_services_prospective_budget_periods: list[int] = []
    dsti_glide_path_by_sfy: AmountTable
    dsti_hospital_names: dict[str, str]

    @model_validator(mode="after")
    def _consistent(self):
        keys = [(m.model, m.risk_track) for m in self.model_adjustments]
        if len(keys) != len(set(keys)):
            raise ValueError("model_adjustments: a (model, risk_track) pair appears twice")
        if set(self.dsti_hospital_names) != set(self.dsti_glide_path_by_sfy.rows):
            raise ValueError("dsti_hospital_names must name exactly the hospitals of dsti_glide_path_by_sfy")
        return self

    def model_adjustment(self, model: str, risk_track: int | None = None) -> float:
        """Startup/ongoing PMPM increase for an ACO model and risk track.

        References
        ----------
        MassHealth DSRIP Protocol, Sec 4.4.1 and Exhibit 8.
        """
        for entry in self.model_adjustments:
            if entry.model == model and entry.risk_track == risk_track:
                return entry.adjustment
        raise ParameterError(f"Exhibit 8 has no adjustment for model {model!r}, risk track {risk_track!r}")

    def dsti_glide_path_by_budget_period(self, calendar: Calendar) -> dict[str, dict[int, float]]:
        """DSTI glide-path funding ($M) per hospital and ACO budget period, unrounded.

        Each SFY's amount is split over the budget periods by the months they share: Prep
        = half of SFY18, BP n = half of SFY(n) + half of SFY(n+1), BP 5 = half of SFY22.

        References
        ----------
        MassHealth DSRIP Protocol, Sec 4.4.3, Exhibits 10 and 11 (see discrepancy D1:
        Exhibit 11 rounds 9 half-cent cells down).
        """
        return {
            hospital: calendar.split_sfy_amounts(by_sfy, kind="aco")
            for hospital, by_sfy in self.dsti_glide_path_by_sfy.rows.items()
        }


class CpPayments(FrozenModel):
    """CP and CSA sub-streams and PMPMs (periods on the CP/CSA calendar).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.5.1-4.5.7, Exhibits 12-14, Sec 5.1.2 (Exhibit 21).
    """

    substreams: dict[str, dict[str, Mechanism]]
    care_coordination_pmpm_usd: dict[str, NonNegative]
    caseload_per_fte: dict[str, Range]
    prep_infrastructure_usd: dict[str, Range]
    infrastructure_pmpm_usd: dict[str, RangeByPeriod]
    infrastructure_installments_per_budget_period: Annotated[int, Field(ge=1)]
    first_half_only_budget_periods: list[int] = []
    outreach_months_max: dict[str, Annotated[int, Field(ge=0)] | None] = {}
    outcomes_pool_usd: dict[str, MoneyByPeriod]
