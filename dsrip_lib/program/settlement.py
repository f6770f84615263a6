"""Settlement rules as data: shared savings (a PCMH+-shaped program) and Partnership-Plan risk corridors.

``Settlement`` is the ``settlement`` block of a shared-savings program definition
(``params/program/ct_pcmh_plus.yaml``): who is in the population, the care-coordination
add-on, the quality measures, and the rules that turn savings into a payment.
``RiskCorridors`` is the ``partnership_plan_risk_corridors`` block of the MassHealth
definition: banded shares of a Partnership Plan's medical gains and losses. The code that
applies them is ``dsrip_lib/spending/settlement.py`` and ``dsrip_lib/spending/corridors.py``;
docs/methodology/shared_savings.md describes every rule.

References
----------
Connecticut Department of Social Services, "A Brief Primer on the Medicaid Quality Improvement
and Shared Savings Program (MQISSP)" (overall statement of purpose; target population;
overview of financial model; process steps). Medicare Shared Savings Program, 42 CFR 425.604
(minimum savings rate by number of assigned beneficiaries, quality-scaled sharing rate,
performance payment limit) and 425.606 (two-sided model: minimum loss rate, shared loss rate,
loss limit). CMS, "Integrated Care Models in Medicaid: Proposal Planning Toolkit" (Part 2,
III, shared savings: what a methodology must specify). MassHealth DSRIP Protocol, Sec 5.3.2
(Partnership Plans: "an aligned methodology with how the State applies risk corridors").
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from dsrip_lib.program.values import Fraction, FrozenModel, NonNegative


class MsrBand(FrozenModel):
    """One row of a sliding minimum-savings-rate table: populations from ``min_attributed`` up."""

    min_attributed: Annotated[int, Field(ge=0)]
    rate: Fraction


class MinimumSavingsRate(FrozenModel):
    """The savings rate an entity must meet or exceed before it shares in savings.

    Either ``fixed`` (one rate for every entity) or ``sliding`` (a table by attributed
    population, as the Medicare Shared Savings Program's one-sided model: smaller
    populations have more random variation and so a higher rate). The first band's
    ``min_attributed`` is the smallest population the table covers.

    References
    ----------
    42 CFR 425.604(b) (Medicare Shared Savings Program, one-sided model: MSR by number of
    assigned beneficiaries, 3.9% at 5,000 down to 2.0% at 60,000 or more).
    """

    fixed: Fraction | None = None
    sliding: list[MsrBand] | None = None

    @field_validator("sliding")
    @classmethod
    def _strictly_sliding(cls, bands: list[MsrBand] | None) -> list[MsrBand] | None:
        if bands is None:
            return None
        if not bands:
            raise ValueError("a sliding MSR table needs at least one band")
        bounds = [b.min_attributed for b in bands]
        rates = [b.rate for b in bands]
        if any(a >= b for a, b in zip(bounds, bounds[1:])):
            raise ValueError(f"min_attributed must increase from band to band, got {bounds}")
        if any(a <= b for a, b in zip(rates, rates[1:])):
            raise ValueError(f"rates must decrease as the population grows, got {rates}")
        return bands

    @model_validator(mode="after")
    def _one_form(self):
        if (self.fixed is None) == (self.sliding is None):
            raise ValueError("give exactly one of fixed or sliding")
        return self

    @property
    def smallest_population(self) -> int:
        """The smallest attributed population the rate is defined for (0 for a fixed rate)."""
        return 0 if self.sliding is None else self.sliding[0].min_attributed

    def rate_for(self, attributed_members: int) -> float:
        """The MSR of an entity with ``attributed_members``.

        Raises
        ------
        ValueError
            If the population is below the first band of a sliding table.
        """
        if self.fixed is not None:
            return self.fixed
        if attributed_members < self.smallest_population:
            raise ValueError(f"{attributed_members} attributed members is below the sliding MSR table's "
                             f"smallest population {self.smallest_population}")
        return [b.rate for b in self.sliding if b.min_attributed <= attributed_members][-1]


class QualityGate(FrozenModel):
    """No shared savings below ``minimum_score``; with ``scale_sharing``, sharing rate x quality score.

    References
    ----------
    MQISSP primer, overall statement of purpose (savings "on the condition that they meet
    benchmarks on identified quality measures"); 42 CFR 425.604(d) (final sharing rate =
    maximum sharing rate x quality performance score).
    """

    minimum_score: Fraction
    scale_sharing: bool = False


class LossSharing(FrozenModel):
    """Two-sided risk: losses at or beyond ``minimum_loss_rate`` are repaid at ``sharing_rate``, up to a cap.

    References
    ----------
    42 CFR 425.606 (minimum loss rate, shared loss rate, loss sharing limit as a share of the benchmark).
    """

    minimum_loss_rate: Fraction
    sharing_rate: Fraction
    cap_share_of_benchmark: Fraction


class CareCoordinationAddon(FrozenModel):
    """A care-coordination add-on PMPM paid to some entity types only (PCMH+: FQHCs, not advanced networks).

    References
    ----------
    MQISSP primer, overview of financial model ("add-on care coordination payments ONLY to the
    FQHCs that are selected (not to the advanced networks)").
    """

    entity_types: Annotated[list[str], Field(min_length=1)]
    pmpm_usd: NonNegative


class EligiblePopulation(FrozenModel):
    """Who may be attributed: PCMH+ attributes single-eligible members only.

    References
    ----------
    MQISSP primer, target population ("will not include any full or partial dually-eligible
    (Medicare and Medicaid eligible) individuals").
    """

    exclude_dual_eligible: bool


class QualityMeasure(FrozenModel):
    """A measure on which savings are conditioned; ``under_service`` marks a measure of stinting on care."""

    key: str
    name: str
    under_service: bool = False
    higher_is_better: bool = True


class Settlement(FrozenModel):
    """The shared-savings settlement of a program: population, add-on, measures and payment rules.

    ``losses`` None is upside-only (no losses repaid, as PCMH+); ``cap_share_of_benchmark``
    None is no cap; ``share_from_first_dollar`` False shares only savings above the MSR.
    The challenge pool redistributes savings withheld from entities that failed the quality
    gate to entities that met it, in proportion to quality score x attributed members.
    """

    participating_entity_types: Annotated[list[str], Field(min_length=1)]
    eligible_population: EligiblePopulation
    care_coordination_addon: CareCoordinationAddon | None = None
    quality_measures: list[QualityMeasure] = []
    minimum_savings_rate: MinimumSavingsRate
    share_from_first_dollar: bool = True
    sharing_rate: Fraction
    quality_gate: QualityGate | None = None
    cap_share_of_benchmark: Fraction | None = None
    losses: LossSharing | None = None
    net_of_care_coordination_addon: bool = False
    challenge_pool: bool = False

    @model_validator(mode="after")
    def _consistent(self):
        keys = [m.key for m in self.quality_measures]
        if len(set(keys)) != len(keys):
            raise ValueError(f"quality_measures: duplicate keys in {keys}")
        if self.challenge_pool and self.quality_gate is None:
            raise ValueError("challenge_pool redistributes savings withheld by the quality gate: it needs a quality_gate")
        if self.care_coordination_addon is not None:
            unknown = set(self.care_coordination_addon.entity_types) - set(self.participating_entity_types)
            if unknown:
                raise ValueError(f"care_coordination_addon.entity_types {sorted(unknown)} are not participating "
                                 f"entity types {self.participating_entity_types}")
        return self

    @property
    def upside_only(self) -> bool:
        return self.losses is None

    @property
    def needs_quality(self) -> bool:
        """Whether settling needs each entity's quality score."""
        return self.quality_gate is not None


class CorridorBand(FrozenModel):
    """Gains or losses from the previous band's bound up to ``up_to_share`` of capitation (None: no bound)."""

    up_to_share: Fraction | None
    state_share_of_gains: Fraction
    state_share_of_losses: Fraction


class RiskCorridors(FrozenModel):
    """Banded shares of a Partnership Plan's medical gain or loss against risk-adjusted medical capitation.

    In each band the State takes ``state_share_of_gains`` of the gain (or bears
    ``state_share_of_losses`` of the loss) that falls in it; the plan keeps the rest.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.2 (step 4: the Partnership Plan comparison follows "an
    aligned methodology with how the State applies risk corridors"; the bands are not published).
    """

    bands: Annotated[list[CorridorBand], Field(min_length=1)]

    @field_validator("bands")
    @classmethod
    def _ordered(cls, bands: list[CorridorBand]) -> list[CorridorBand]:
        bounds = [b.up_to_share for b in bands]
        if bounds[-1] is not None or None in bounds[:-1]:
            raise ValueError(f"only the last band is unbounded (up_to_share: null), got {bounds}")
        finite = bounds[:-1]
        if any(a >= b for a, b in zip(finite, finite[1:])) or (finite and finite[0] <= 0):
            raise ValueError(f"band bounds must be positive and increasing, got {finite}")
        return bands
