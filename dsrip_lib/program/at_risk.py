"""Funds at risk: the share of each payment stream withheld by budget period.

References
----------
MassHealth DSRIP Protocol, Sec 5.1.2 (Exhibits 20 and 22), Sec 5.3.4 and 5.4.6.1 (remediation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import Field

from dsrip_lib.errors import ParameterError
from dsrip_lib.program.values import ByPeriod, Fraction, FrozenModel


class AtRisk(FrozenModel):
    """Share of funds withheld at risk by budget period.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.1.2, Exhibits 20 and 22; Sec 5.3.4 and 5.4.6.1 (remediation).
    """

    aco: dict[str, ByPeriod]
    cp_csa: ByPeriod
    remediation_max_earn_back_share: Fraction
    remediation_plan_max_score: Annotated[float, Field(gt=0)]

    def aco_share(self, substream: str, bp: int, join_bp: int = 0) -> float:
        """Share of an ACO sub-stream withheld at risk in ``bp`` for an ACO that joined in ``join_bp``.

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.1.2, Exhibit 20 and line 1072 (late joiners).
        """
        if substream not in self.aco:
            raise ParameterError(f"no at-risk schedule for ACO sub-stream {substream!r}; have {sorted(self.aco)}")
        return _lagged(self.aco[substream], bp, join_bp)

    def cp_csa_share(self, bp: int, join_bp: int = 0) -> float:
        """Share of CP/CSA funds (excepting outcomes-based payments) at risk in ``bp``.

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.1.2, Exhibit 22 and line 1143 (late joiners).
        """
        return _lagged(self.cp_csa, bp, join_bp)


def _lagged(schedule: Mapping[int, float | None], bp: int, join_bp: int) -> float:
    # An entity joining after BP 1 starts at the BP 1 share and follows the schedule
    # with the lag (lines 1072, 1143); Prep and BP 1 joiners follow it as published.
    if bp < join_bp:
        raise ParameterError(f"budget period {bp} is before the join period {join_bp}")
    first = min(k for k in schedule if k > 0)
    return schedule[bp if join_bp <= first else first + (bp - join_bp)]
