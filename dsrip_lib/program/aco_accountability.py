"""ACO accountability to the State: quality domains, achievement and improvement points, TCOC.

References
----------
MassHealth DSRIP Protocol, Sec 5.3.1 (Exhibits 31-32), Sec 5.3.1.2 (Exhibits 33-35),
Sec 5.3.1.3 (Exhibits 36-37), Sec 5.3.2.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, RootModel, model_validator

from dsrip_lib.program.values import ByPeriod, Fraction, FrozenModel, check_weights_per_period, nondecreasing, stated_in


class QualityDomain(FrozenModel):
    """One ACO quality domain and its weight by budget period (Exhibit 32)."""

    number: int
    key: str
    name: str
    weights: ByPeriod
    short_name: str | None = None  # for table cells and chart legends where ``name`` is too long

    @property
    def label(self) -> str:
        """The name a table or chart shows: ``short_name`` when given, else ``name``."""
        return self.short_name or self.name


class AcoAchievement(FrozenModel):
    max_points_per_measure: Annotated[float, Field(gt=0)]
    benchmark_reset_share_of_acos: Fraction


class AcoImprovement(FrozenModel):
    points_per_measure: Annotated[float, Field(gt=0)]
    max_share_of_domain_achievement_points: Fraction
    alpha: Annotated[float, Field(gt=0, lt=1)]


class AcoAccountability(FrozenModel):
    """ACO accountability to the State.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1 (Exhibits 31-32), Sec 5.3.1.2 (Exhibits 33-35),
    Sec 5.3.1.3 (Exhibits 36-37), Sec 5.3.2.
    """

    component_weights: dict[str, ByPeriod]
    achievement: AcoAchievement
    improvement: AcoImprovement
    avoidable_utilization_quartile_targets: dict[str, dict[int, ByPeriod]]
    tcoc_loss_corridor_share: Fraction

    @model_validator(mode="after")
    def _consistent(self):
        check_weights_per_period(self.component_weights)
        # Sec 5.3.1.3 (line 1717): targets rise each period and are higher for worse quartiles.
        for measure, quartiles in self.avoidable_utilization_quartile_targets.items():
            for quartile, targets in quartiles.items():
                if not nondecreasing([targets[bp] for bp in sorted(targets)]):
                    raise ValueError(f"{measure} quartile {quartile}: targets fall between budget periods")
            for bp in next(iter(quartiles.values())):
                if not nondecreasing([quartiles[q][bp] for q in sorted(quartiles)]):
                    raise ValueError(f"{measure} budget period {bp}: a worse quartile has a lower target")
        return self

    def component_weights_in(self, bp: int) -> dict[str, float]:
        """Quality and TCOC component weights of the ACO DSRIP Accountability Score in ``bp``.

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.3.1 and Exhibit 31.
        """
        return stated_in(self.component_weights, bp)


class QualityDomains(RootModel[list[QualityDomain]]):
    """The ACO quality domains: numbers and keys unique, weights summing to 1 in each period.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.1 and Exhibit 32 (= Exhibit 28, Exhibit A4).
    """

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _consistent(self):
        for attribute in ("number", "key"):
            values = [getattr(d, attribute) for d in self.root]
            if len(values) != len(set(values)):
                raise ValueError(f"a domain {attribute} appears twice")
        check_weights_per_period({d.key: d.weights for d in self.root})
        return self

    def __iter__(self):
        return iter(self.root)

    def __len__(self) -> int:
        return len(self.root)

    def weights_in(self, bp: int) -> dict[str, float]:
        """Domain weights in ``bp`` keyed by domain key (empty for Prep)."""
        return stated_in({d.key: d.weights for d in self.root}, bp)
