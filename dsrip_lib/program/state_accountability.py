"""State accountability to CMS: expenditure authority at risk and the three State domains.

References
----------
MassHealth DSRIP Protocol, Sec 5.2 (Exhibits 24-29), Appendix C.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field, ValidationInfo, model_validator

from dsrip_lib.errors import ParameterError
from dsrip_lib.program.values import (
    EPS,
    ByPeriod,
    Fraction,
    FrozenModel,
    NonNegative,
    check_weights_per_period,
    stated,
    stated_in,
)


class ExpenditureAuthority(FrozenModel):
    """One column of Exhibit 24: expenditure authority of one or more budget periods."""

    budget_periods: list[int]
    authority_musd: NonNegative
    at_risk_share: Fraction
    at_risk_musd: NonNegative

    @model_validator(mode="after")
    def _product(self):
        if not math.isclose(self.authority_musd * self.at_risk_share, self.at_risk_musd, abs_tol=EPS):
            raise ValueError(
                f"at_risk_musd {self.at_risk_musd} is not {self.authority_musd} x {self.at_risk_share}"
            )
        return self


class Adoption(FrozenModel):
    """State accountability domain 1: ACO/APM adoption.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.1 and Exhibit 26.
    """

    targets: ByPeriod
    apm_non_primary_care_share_threshold: Fraction

    def target(self, bp: int) -> float:
        """Target ACO/APM adoption rate (a fraction) for budget period ``bp``.

        Raises
        ------
        ParameterError
            If the period does not exist or has no target (Prep: "NA").

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.2.1.1 and Exhibit 26.
        """
        return stated(self.targets, bp, "ACO/APM adoption target", "Exhibit 26")


class SpendingGrowth(FrozenModel):
    """State accountability domain 2: reduction in state spending growth.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 and Exhibit 27.
    """

    reduction_targets: ByPeriod
    trend_rate: Fraction
    eligibility_groups: list[str]


class QualityUtilization(FrozenModel):
    """State accountability domain 3: statewide quality and utilization.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 and Exhibits 28-29.
    """

    alpha: Annotated[float, Field(gt=0, lt=1)]
    utilization_domain: str  # the quality domain scored by gap-to-goal, not by a van Elteren test
    avoidable_utilization_targets: dict[str, ByPeriod]


class StateAccountability(FrozenModel):
    """State accountability to CMS.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2, Exhibits 24-29, Appendix C.
    """

    expenditure_authority: list[ExpenditureAuthority]
    domain_weights: dict[str, ByPeriod]
    adoption: Adoption
    spending_growth: SpendingGrowth
    gap_to_goal_floor_share: Fraction
    quality_utilization: QualityUtilization

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo):
        check_weights_per_period(self.domain_weights)
        covered = [bp for column in self.expenditure_authority for bp in column.budget_periods]
        expected = (info.context or {}).get("budget_periods")
        if len(covered) != len(set(covered)) or (expected is not None and set(covered) != expected):
            raise ValueError(
                f"expenditure_authority covers budget periods {covered}; each period must appear exactly once"
            )
        return self

    def domain_weights_in(self, bp: int) -> dict[str, float]:
        """Weights of the State DSRIP Accountability domains scored in ``bp`` (empty if none).

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.2.1 and Exhibit 25.
        """
        return stated_in(self.domain_weights, bp)

    def authority_of(self, bp: int) -> ExpenditureAuthority:
        """The Exhibit 24 column holding budget period ``bp`` (Prep and BP 1 share one).

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.2 and Exhibit 24.
        """
        for column in self.expenditure_authority:
            if bp in column.budget_periods:
                return column
        raise ParameterError(f"no expenditure authority for budget period {bp} (Exhibit 24)")
