"""CP and CSA accountability to the State: points per measure and domain weights.

References
----------
MassHealth DSRIP Protocol, Sec 5.4.4 (Exhibits 41-46).
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field, model_validator

from dsrip_lib.program.values import EPS, Fraction, FrozenModel


class CpAccountability(FrozenModel):
    """CP and CSA accountability to the State.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.4.4 (Exhibits 41-46).
    """

    max_points_per_measure: Annotated[float, Field(gt=0)]
    improvement_over_self_share: Fraction
    reporting_only_budget_periods: list[int]
    domain_weights: dict[str, dict[str, Fraction]]

    @model_validator(mode="after")
    def _weights_sum_to_one(self):
        for entity, weights in self.domain_weights.items():
            if not math.isclose(sum(weights.values()), 1.0, abs_tol=EPS):
                raise ValueError(f"domain_weights.{entity} sum to {sum(weights.values()):.6g}, not 1")
        return self
