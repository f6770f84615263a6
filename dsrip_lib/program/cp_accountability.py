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


class QualityScoreThresholds(FrozenModel):
    """Minimum Quality Score Threshold and Excellence Quality Score Benchmark (Sec 5.4.4.4)."""

    minimum: Fraction
    excellence: Fraction

    @model_validator(mode="after")
    def _ordered(self):
        if self.minimum >= self.excellence:
            raise ValueError(f"minimum quality score {self.minimum} is not below the excellence benchmark "
                             f"{self.excellence}")
        return self


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
    # Illustrative (the State never published them): replaced by a run's thresholds.
    illustrative_quality_score_thresholds: dict[str, QualityScoreThresholds] = {}

    @model_validator(mode="after")
    def _weights_sum_to_one(self):
        for entity, weights in self.domain_weights.items():
            if not math.isclose(sum(weights.values()), 1.0, abs_tol=EPS):
                raise ValueError(f"domain_weights.{entity} sum to {sum(weights.values()):.6g}, not 1")
        return self
