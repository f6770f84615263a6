"""The evaluation stage as the midpoint assessment reads it: its options and every frame, computed once.

:func:`impact_run` runs the evaluation (:mod:`dsrip_lib.evaluation`, docs/methodology/evaluation.md)
on a report's data: the difference-in-differences with its placebo, naive estimates and COVID
sensitivity, the event study, the observed-to-expected ratios and the threats. The midpoint
assessment shapes these frames into its sections (:mod:`dsrip_lib.reports.midpoint_impact`); the
panel is computed once per context (:func:`~dsrip_lib.reports.stages.impact_panel`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from dsrip_lib.evaluation.did import Cluster, SmallClusters, did, naive
from dsrip_lib.evaluation.event_study import event_study
from dsrip_lib.evaluation.oe import oe_ratios
from dsrip_lib.evaluation.panel import baseline_members, churn, event_cells, group_shares
from dsrip_lib.evaluation.ratings import DEFAULT_RULES, RatingRules
from dsrip_lib.evaluation.threats import baseline_balance, churn_shares, covid_years
from dsrip_lib.reports import stages
from dsrip_lib.reports.context import ReportContext

OUTCOME_LABELS = {"pmpm": "PMPM", "primary_care_visits": "primary-care visits",
                  "emergency_visits": "emergency visits", "inpatient_admissions": "inpatient admissions"}


class EvaluatorChoices(BaseModel):
    """The evaluator's choices for the impact estimates and ratings (none is a protocol number): the
    midpoint assessment's option ``impact``.

    ``cluster``, ``min_clusters`` and ``small_clusters`` the clustering
    (docs/methodology/evaluation.md); ``covid_years`` the years flagged and left out in the
    sensitivity analysis; ``event_period`` the event study's period; ``rating_rules`` the ordered
    rating rules (:mod:`dsrip_lib.evaluation.ratings`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    cluster: Cluster = "member"
    min_clusters: int = Field(30, ge=2)
    small_clusters: SmallClusters = "cr1_t"
    covid_years: tuple[int, ...] = (2020,)
    event_period: Literal["month", "quarter"] = "quarter"
    rating_rules: RatingRules = DEFAULT_RULES


class ImpactOptions(EvaluatorChoices):
    """:class:`EvaluatorChoices` with the level and power of every interval and minimum detectable
    effect (``alpha``, ``power``) and the budget period rated (``ratings_budget_period``): the
    midpoint assessment sets these from its own ``confidence``, ``power`` and ``through``."""

    alpha: float = Field(0.05, gt=0, lt=1)
    power: float = Field(0.8, gt=0, lt=1)
    ratings_budget_period: int = Field(3, ge=0)


@dataclass(frozen=True)
class ImpactRun:
    """Every frame of the evaluation stage for one run (the functions that make them say what they hold).

    ``covid`` is the difference-in-differences without the ``covid_years`` found in the data
    (None when there is none).
    """

    options: ImpactOptions
    baseline_year: int
    launch: dt.date
    estimates: pd.DataFrame = field(repr=False)
    placebo: pd.DataFrame = field(repr=False)
    naive: pd.DataFrame = field(repr=False)
    event_study: pd.DataFrame = field(repr=False)
    oe: pd.DataFrame = field(repr=False)
    balance: pd.DataFrame = field(repr=False)
    shares: pd.DataFrame = field(repr=False)
    churn: pd.DataFrame = field(repr=False)
    covid_years: tuple[int, ...] = ()
    covid: pd.DataFrame | None = field(default=None, repr=False)


def impact_run(ctx: ReportContext, opts: ImpactOptions, through: dt.date | None = None) -> ImpactRun:
    """The evaluation stage on the context's data through ``through`` (None: all of it): DiD, placebo, naive
    and COVID-sensitivity estimates, the event study, observed-to-expected ratios and the threats' frames.

    Raises
    ------
    InputValidationError
        From the stage: a period without comparison members, too few clusters under
        ``small_clusters="refuse"``, no treated member observed at baseline.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 6.4.1 (the independent evaluation); Sec 5.2.1.2 (CY2017 baseline).
    """
    panel, periods = stages.impact_panel(ctx, through)
    base = panel.baseline_year
    kwargs = {"alpha": opts.alpha, "power": opts.power, "cluster": opts.cluster, "min_clusters": opts.min_clusters,
              "small_clusters": opts.small_clusters}
    shares = group_shares(periods)
    covid = tuple(covid_years(shares["year"], opts.covid_years))
    return ImpactRun(
        opts, base, panel.launch, did(periods, base, **kwargs), did(periods, base, placebo=True, **kwargs),
        naive(periods, base, alpha=opts.alpha), event_study(event_cells(panel, opts.event_period), alpha=opts.alpha),
        oe_ratios(periods, base, alpha=opts.alpha),
        baseline_balance(baseline_members(panel, ctx.data.table("members"), ctx.data.table("risk_scores"))),
        shares, churn_shares(churn(periods)), covid,
        did(periods, base, exclude_years=covid, **kwargs) if covid else None)
