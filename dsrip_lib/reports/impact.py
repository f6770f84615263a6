"""The midpoint assessment's impact, threats and ratings sections: frames, figures and generated sentences.

Each section function takes a :class:`~dsrip_lib.reports.context.ReportContext` and the
:class:`ImpactOptions` and returns a :class:`Section`; the midpoint notebook publishes its tables,
figures and text. The stage computations live in :mod:`dsrip_lib.evaluation`
(docs/methodology/evaluation.md); the panel is computed once per context
(:func:`~dsrip_lib.reports.stages.impact_panel`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict, Field

from dsrip_lib.evaluation.did import Cluster, SmallClusters, did, naive
from dsrip_lib.evaluation.event_study import event_study
from dsrip_lib.evaluation.oe import oe_ratios
from dsrip_lib.evaluation.panel import churn, event_cells, group_shares, baseline_members
from dsrip_lib.evaluation.ratings import DEFAULT_RULES, RatingRules, rate, rating_facts
from dsrip_lib.evaluation.threats import baseline_balance, churn_shares, covid_years
from dsrip_lib.publishing.charts import estimates_with_intervals
from dsrip_lib.reports import stages
from dsrip_lib.reports.context import ReportContext

OUTCOME_LABELS = {"pmpm": "PMPM", "primary_care_visits": "primary-care visits",
                  "emergency_visits": "emergency visits", "inpatient_admissions": "inpatient admissions"}


class ImpactOptions(BaseModel):
    """The evaluator's choices for the impact sections (none is a protocol number)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    alpha: float = Field(0.05, gt=0, lt=1)
    power: float = Field(0.8, gt=0, lt=1)
    cluster: Cluster = "member"
    min_clusters: int = Field(30, ge=2)
    small_clusters: SmallClusters = "cr1_t"
    covid_years: tuple[int, ...] = (2020,)
    event_period: Literal["month", "quarter"] = "quarter"
    rating_rules: RatingRules = DEFAULT_RULES
    ratings_budget_period: int = Field(3, ge=0)


@dataclass
class Section:
    """What a section publishes: tables by name, figures by name (with alt text) and paragraphs."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, tuple[Figure, str]] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)


def _did_kwargs(opts: ImpactOptions) -> dict:
    return {"alpha": opts.alpha, "power": opts.power, "cluster": opts.cluster, "min_clusters": opts.min_clusters,
            "small_clusters": opts.small_clusters}


def _pct(x: float) -> str:
    return f"{x:+.1%}"


def did_section(ctx: ReportContext, opts: ImpactOptions) -> Section:
    """The difference-in-differences table (effect, relative effect, intervals, MDE), the placebo and the
    naive estimates beside it, with a sentence per outcome."""
    panel, periods = stages.impact_panel(ctx)
    base = panel.baseline_year
    est = did(periods, base, **_did_kwargs(opts))
    placebo = did(periods, base, placebo=True, **_did_kwargs(opts))
    crude = naive(periods, base, alpha=opts.alpha)
    conf = f"{1 - opts.alpha:.0%}"
    text = [f"Difference-in-differences against ACO-eligible members never attributed, each member's change from "
            f"{base}, {est['method'].iat[0]}; {conf} intervals."]
    for r in est.itertuples():
        label = OUTCOME_LABELS[r.outcome]
        covers = r.relative_low <= 0 <= r.relative_high
        verdict = (f"not distinguishable from no change; the design detects a change of {r.mde_relative:.1%} "
                   f"with {opts.power:.0%} power, so a smaller effect cannot be ruled out") if covers else \
            "a change the data distinguish from none"
        text.append(f"{label[0].upper() + label[1:]}: {_pct(r.relative)} ({conf} interval {_pct(r.relative_low)} to "
                    f"{_pct(r.relative_high)}), {verdict}.")
    naive_pp = crude[crude["comparison"] == "pre_post"].set_index("outcome")
    gaps = ", ".join(f"{OUTCOME_LABELS[o]} {_pct(naive_pp.at[o, 'relative'])} against {_pct(r)}"
                     for o, r in zip(est["outcome"], est["relative"]))
    text.append(f"A naive comparison of ACO members after launch with the {base} population reads: {gaps} "
                "(difference-in-differences second); the gap is who joined ACOs, not what the ACOs did.")
    moved = placebo[(placebo["relative_low"] > 0) | (placebo["relative_high"] < 0)]
    text.append("A placebo launch one year before each member's entry finds " + (
        "no effect on any outcome, as parallel trends predict." if moved.empty else
        f"an effect on {', '.join(OUTCOME_LABELS[o] for o in moved['outcome'])}: the groups' trends differ there "
        "before entry, and the estimate for it is suspect."))
    return Section(tables={"impact estimates": est.drop(columns=["method"]), "placebo": placebo.drop(columns=["method"]),
                           "naive estimates": crude}, text=text)


def event_study_section(ctx: ReportContext, opts: ImpactOptions) -> Section:
    """Event-study coefficients around launch per outcome, a chart each, and the pre-trend sentence."""
    panel, _ = stages.impact_panel(ctx)
    es = event_study(event_cells(panel, opts.event_period), alpha=opts.alpha)
    figures = {}
    text = []
    for outcome, g in es.groupby("outcome", sort=False):
        label = OUTCOME_LABELS[outcome]
        fig = estimates_with_intervals(g.rename(columns={"event_period": "x"}),
                                       f"{label[0].upper() + label[1:]}: launch cohort minus never attributed",
                                       f"{opts.event_period}s from launch ({panel.launch:%B %Y} = 0)",
                                       "change per member-month", -0.5, "launch")
        figures[f"event study {outcome}"] = (fig, f"Event-study estimates with {1 - opts.alpha:.0%} intervals of "
                                             f"{label} by {opts.event_period} around launch")
        pre = g[g["event_period"] < -1]
        off = pre[(pre["low"] > 0) | (pre["high"] < 0)]
        text.append(f"{label[0].upper() + label[1:]}: {len(off)} of {len(pre)} pre-launch {opts.event_period}s differ from "
                    "the reference period beyond their intervals" + (" (no sign of diverging pre-trends)."
                                                                      if off.empty else "."))
    return Section(tables={"event study": es}, figures=figures, text=text)


def oe_section(ctx: ReportContext, opts: ImpactOptions) -> Section:
    """Observed-to-expected ratios against the baseline year per outcome, population and year."""
    panel, periods = stages.impact_panel(ctx)
    oe = oe_ratios(periods, panel.baseline_year, alpha=opts.alpha)
    last = oe[oe["year"] == oe["year"].max()]
    text = [f"Observed over expected at each eligibility group's {panel.baseline_year} rate, {oe['year'].max()}: "
            + "; ".join(f"{OUTCOME_LABELS[r.outcome]} ({r.population}) {r.ratio:.2f} ({r.low:.2f}-{r.high:.2f})"
                        for r in last.itertuples()) + "."]
    return Section(tables={"observed to expected": oe}, text=text)


def threats_section(ctx: ReportContext, opts: ImpactOptions) -> Section:
    """Selection (baseline balance), the comparison group's share, COVID (flag and sensitivity) and churn."""
    panel, periods = stages.impact_panel(ctx)
    balance = baseline_balance(baseline_members(panel, ctx.data.table("members"), ctx.data.table("risk_scores")))
    shares = group_shares(panel)
    moves = churn_shares(churn(panel))
    covid = covid_years(shares["year"], opts.covid_years)
    tables = {"baseline balance": balance, "comparison share": shares, "attribution churn": moves}
    imbalanced = balance[balance["std_difference"].abs() > 0.1]
    text = [("Selection: members who later joined ACOs differed at baseline in "
             + ", ".join(f"{c} (standardised difference {d:+.2f})" for c, d in
                         zip(imbalanced["characteristic"], imbalanced["std_difference"]))
             + "; member effects absorb such level differences, not differences in trend.")
            if len(imbalanced) else "Selection: no baseline characteristic differs by more than 0.1 standard deviations."]
    first, last = shares.iloc[0], shares.iloc[-1]
    text.append(f"The comparison group (never attributed) held {first['comparison_share']:.0%} of ACO-eligible "
                f"member-months in {int(first['year'])} and {last['comparison_share']:.0%} in {int(last['year'])}.")
    either = moves.set_index("churn").loc["either"]
    text.append(f"Attribution churn: {either['share']:.0%} of members ever attributed moved to another ACO or left "
                "the ACOs while still eligible; their months after leaving are in neither group.")
    if covid:
        sens = did(periods, panel.baseline_year, exclude_years=covid, **_did_kwargs(opts))
        tables["covid sensitivity"] = sens.drop(columns=["method"])
        text.append(f"COVID: {', '.join(map(str, covid))} in the data window; without it the relative effects are "
                    + ", ".join(f"{OUTCOME_LABELS[r.outcome]} {_pct(r.relative)}" for r in sens.itertuples()) + ".")
    else:
        text.append("COVID: no year of the data is among the evaluator's COVID years.")
    text.append("No randomisation: the estimates are suggestive, resting on parallel trends of the groups.")
    return Section(tables=tables, text=text)


def ratings_section(ctx: ReportContext, opts: ImpactOptions, exceptions: pd.DataFrame | None = None) -> Section:
    """Each ACO and domain rated by the run's rules, the rules printed and every rating with the numbers that
    decided it; ``exceptions`` are the payments released before their gate (the compliance layer)."""
    quality = stages.aco_quality(ctx, None, "reweight")  # a domain without measures is rated insufficient data
    facts = rating_facts(quality.domains, opts.ratings_budget_period, exceptions)
    ratings = rate(facts, opts.rating_rules)
    rules = pd.DataFrame({"rule": range(1, len(opts.rating_rules.rules) + 1),
                          "text": [r.text() for r in opts.rating_rules.rules]})
    counts = ratings["rating"].value_counts()
    text = [f"Ratings of budget period {opts.ratings_budget_period} (the evaluator's rules, in order): "
            + ", ".join(f"{n} {label}" for label, n in counts.items()) + "."]
    return Section(tables={"rating rules": rules, "ratings": ratings}, text=text)
