"""The midpoint assessment's options and the stage results it reads, computed once per run.

Each goal's numbers come from the stage that computes them for the other reports (adoption,
the spending-growth chain and the ACO benchmarks, the quality domain tests, the payment
ledger), called through the report modules and :mod:`dsrip_lib.reports.stages` so that every
stage runs once. Nothing here reads another report's output files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from dsrip_lib.accountability.adoption import AdoptionResult
from dsrip_lib.errors import ParameterError
from dsrip_lib.evaluation.ratings import rate, rating_facts
from dsrip_lib.program import BudgetPeriod, Program
from dsrip_lib.program.spending import Truncation
from dsrip_lib.reports import accountability, payments_quarterly, quality_domain_tests, stages
from dsrip_lib.reports.context import ReportContext
from dsrip_lib.reports.impact import EvaluatorChoices, ImpactOptions, ImpactRun, impact_run
from dsrip_lib.reports.state_accountability_recoupment import growth_of
from dsrip_lib.spending.growth import SpendingGrowthResult
from dsrip_lib.spending.pmpm import aco_member_costs
from dsrip_lib.spending.variation import pmpm_variance, savings_variation

ON_TRACK, OFF_TRACK, NOT_ASSESSABLE = "on track", "off track", "not assessable"
ALL_ACOS = "all ACOs"


class MidpointOptions(BaseModel):
    """Options of the midpoint_assessment report (validated on entry; unknown keys rejected).

    Attributes
    ----------
    through
        The last ACO budget period the assessment covers; default the last one ending by the
        program's ``evaluation.midpoint_through`` date (Sec 6.4.1: through December 2019).
    confidence
        Level of every interval (two-sided), and 1 - the alpha of the minimum detectable differences.
    power
        Power of the minimum detectable differences.
    investment_floor_share
        EVALUATOR'S CHOICE: statewide investments are on track when their spending through the
        midpoint is at least this share of the Exhibit 15 plan and not above it.
    missing_domain, benchmarks, reading, truncation
        Passed to the quality, accountability and spending stages, as in those reports.
    scores_approved_on
        When CMS approved each budget period's accountability scores (as in payments_quarterly);
        default none: every withheld amount is still a balance.
    impact
        The evaluator's choices for the evaluation stage (:class:`~dsrip_lib.reports.impact.EvaluatorChoices`:
        clustering, COVID years, event-study period, the rating rules); its level, power and the
        period rated are this report's ``confidence``, ``power`` and ``through``.
    """

    model_config = ConfigDict(extra="forbid")

    through: int | None = None
    confidence: float = Field(0.95, gt=0, lt=1)
    power: float = Field(0.80, gt=0, lt=1)
    investment_floor_share: float = Field(0.80, ge=0, le=1)
    missing_domain: Literal["raise", "reweight"] = "raise"
    benchmarks: str | None = None
    reading: quality_domain_tests.Reading = quality_domain_tests.DEFAULT_READING
    truncation: Truncation | None = None
    scores_approved_on: dt.date | dict[int, dt.date] | None = None
    impact: EvaluatorChoices = EvaluatorChoices()


@dataclass(frozen=True)
class MidpointRun:
    """The stage results of every goal, cut at the end of ``through``.

    ``composed`` holds the options model of each report or stage the assessment runs, with
    the values it ran with (the methodology appendix lists them); ``impact`` the evaluation stage's
    frames; ``ratings`` each ACO and domain rated by the run's rules; ``aco_variation`` the random
    variation of each ACO's savings in ``through``; ``spending_se`` the standard error of the
    ACO population's PMPM per measured year (:func:`~dsrip_lib.spending.variation.pmpm_variance`).
    """

    program: Program
    through: BudgetPeriod
    options: MidpointOptions
    composed: dict[str, BaseModel] = field(repr=False)
    adoption: list[AdoptionResult] = field(repr=False)
    growth: SpendingGrowthResult = field(repr=False)
    spending_se: pd.DataFrame = field(repr=False)
    tcoc: pd.DataFrame = field(repr=False)
    aco_variation: pd.DataFrame = field(repr=False)
    quality: quality_domain_tests.QualityRun = field(repr=False)
    payments: payments_quarterly.PaymentsRun = field(repr=False)
    engagement: pd.DataFrame | None = field(repr=False)
    investments: pd.DataFrame | None = field(repr=False)
    names: pd.DataFrame = field(repr=False)
    impact: ImpactRun = field(repr=False)
    ratings: pd.DataFrame = field(repr=False)

    @property
    def labels(self) -> dict[int, str]:
        return {p.number: p.label for p in self.program.calendar.budget_periods("aco")}

    @property
    def periods(self) -> list[int]:
        """ACO budget periods from Prep through ``through``."""
        return [p.number for p in self.program.calendar.budget_periods("aco") if p.number <= self.through.number]


def through_period(program: Program, through: int | None) -> BudgetPeriod:
    """The ACO budget period the assessment runs through: the option, else the program's midpoint.

    Raises
    ------
    ParameterError
        An unknown budget period, or no option and no ``evaluation`` block in the program.
    """
    calendar = program.calendar
    if through is None:
        if program.evaluation is None:
            raise ParameterError(f"program {program.name!r} has no evaluation.midpoint_through: give "
                                 "options.midpoint_assessment.through")
        return program.evaluation.midpoint_period(calendar)
    numbers = [p.number for p in calendar.budget_periods("aco")]
    if through not in numbers:
        raise ParameterError(f"options.midpoint_assessment.through: no ACO budget period {through} ({numbers})")
    return calendar.budget_period(through, "aco")


def assess(ctx: ReportContext[MidpointOptions]) -> MidpointRun:
    """Every stage the midpoint assessment reads, through the ``through`` budget period.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 6.4.1 (midpoint assessment through December 2019); Sec 5.2.1.1
    (adoption), 5.2.1.2 and 5.3.2 (spending), 5.2.1.3 (quality and utilisation), 4.5 (CP
    engagement), 4 and 5.1.2 (payments and withholds), 4.6 (statewide investments), 3.2-3.4 and
    5.5.1 (payment gates: the compliance layer of the ratings).
    """
    program, opts, data = ctx.program, ctx.options, ctx.data
    through = through_period(program, opts.through)
    shared = {"benchmarks": opts.benchmarks, "missing_domain": opts.missing_domain}
    composed: dict[str, BaseModel] = {
        # the decision is the asymptotic p-value's; the exact one is the quality report's cross-check
        "quality_domain_tests": quality_domain_tests.QualityOptions(**shared, reading=opts.reading,
                                                                    exact_pvalues=False),
        # the accountability scores the payment ledger releases withholds by (payments_quarterly.build)
        "accountability": accountability.AccountabilityOptions(missing_domain=opts.missing_domain),
        "payments_quarterly": payments_quarterly.PaymentsOptions(missing_domain=opts.missing_domain,
                                                                 scores_approved_on=opts.scores_approved_on),
        # one level and power for the whole report; the ratings are of the period assessed
        "impact": ImpactOptions(**dict(opts.impact), alpha=round(1 - opts.confidence, 12), power=opts.power,
                                ratings_budget_period=through.number),
    }
    # first the stage no other report computes, while the run's other kernels compute the shared ones
    # (dsrip_lib.reports.stage_cache): the longest report then does not wait on them
    impact = impact_run(ctx, composed["impact"], through.end)
    quality = quality_domain_tests.score(replace(ctx, options=composed["quality_domain_tests"]))
    payments = payments_quarterly.build(replace(ctx, options=composed["payments_quarterly"]))
    numbers = [p.number for p in program.calendar.budget_periods("aco") if p.number <= through.number]
    adoption = stages.adoption(ctx, numbers)
    growth = growth_of(ctx)  # the State spending-growth chain, as the State score reads it
    tcoc = stages.aco_tcoc(ctx, opts.truncation)
    tcoc = tcoc[tcoc["budget_period"] <= through.number]
    years = growth.summary_table.loc[growth.summary_table["budget_period"].le(through.number).fillna(False), "year"]
    spend = stages.member_spending(ctx, opts.truncation)
    costs = {int(y): aco_member_costs(spend, data.table("enrollment"), stages.attribution(ctx), program, int(y))
             for y in years}
    spending_se = pd.concat([pmpm_variance(c.assign(entity_id=ALL_ACOS)).assign(year=y) for y, c in costs.items()],
                            ignore_index=True) if costs else pd.DataFrame()
    latest = tcoc[tcoc["budget_period"] == through.number]
    variation = pd.DataFrame()
    if len(latest):
        year = int(latest["year"].iloc[0])
        members = costs.get(year)
        if members is None:
            members = aco_member_costs(spend, data.table("enrollment"), stages.attribution(ctx), program, year)
        variation = savings_variation(members, latest[["entity_id", "reference_pmpm"]].rename(
            columns={"reference_pmpm": "benchmark_pmpm"}), confidence=opts.confidence).entities
    entities = data.to_pandas("entities")
    engagement = data.to_pandas("cp_engagement") if data.has("cp_engagement") else None
    investments = data.to_pandas("statewide_investments") if data.has("statewide_investments") else None
    impact_opts = composed["impact"]
    # a domain without an eligible measure has no score and is rated insufficient data
    domains = stages.aco_quality(ctx, opts.benchmarks, "reweight").domains
    ratings = rate(rating_facts(domains, through.number, payments.gating), impact_opts.rating_rules)
    return MidpointRun(program, through, opts, composed, adoption, growth, spending_se, tcoc, variation, quality,
                       payments, engagement, investments, entities[["entity_id", "name", "entity_type"]],
                       impact, ratings)
