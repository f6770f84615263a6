"""The midpoint assessment report (notebooks/midpoint_assessment.ipynb): progress toward every goal.

The Independent Evaluator's midpoint assessment reports, through December 2019, on progress
toward the demonstration's goals (MassHealth DSRIP Protocol, Sec 6.4.1). The stages are read in
:mod:`dsrip_lib.reports.midpoint_run`, each goal's table and sentences are written in
:mod:`dsrip_lib.reports.midpoint_sections` and :mod:`dsrip_lib.reports.midpoint_delivery`, the compliance,
impact, threats and ratings sections in :mod:`dsrip_lib.reports.midpoint_impact`, the methodology appendix in
:mod:`dsrip_lib.reports.midpoint_appendix`. The sections come in three layers kept apart (:data:`LAYERS`).
This module opens the report, collects the sections in
their order, writes the executive summary from their findings, and draws the charts from the
published tables.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from dsrip_lib.publishing import charts
from dsrip_lib.publishing.publisher import plot_values
from dsrip_lib.reports import quality_domain_tests
from dsrip_lib.reports.context import ReportContext, open_report
from dsrip_lib.reports.midpoint_appendix import discrepancies_table, options_table, program_table
from dsrip_lib.reports.midpoint_run import (
    NOT_ASSESSABLE,
    OFF_TRACK,
    ON_TRACK,
    MidpointOptions,
    MidpointRun,
    assess,
)
from dsrip_lib.reports.midpoint_delivery import engagement_section, investments_section, payments_section
from dsrip_lib.reports import midpoint_impact
from dsrip_lib.reports.midpoint_impact import BELOW_DETECTION, DETECTED, event_study_charts
from dsrip_lib.reports.midpoint_sections import (
    Section,
    aco_spending_section,
    adoption_section,
    improvement_section,
    quality_section,
    spending_section,
    utilization_section,
)

__all__ = ["MidpointOptions", "MidpointRun", "assess", "open_midpoint_report", "sections", "executive_summary",
           "event_study_charts"]

HEADERS = {
    "period": "Budget period", "through": "Through", "eligible": "ACO-eligible members", "adopted": "Adopted", "rate": "Rate",
    "ci_low": "Interval low", "ci_high": "Interval high", "target": "Target", "status": "Status", "year": "Year",
    "trended_pmpm": "Trended PMPM ($)", "actual_pmpm": "Actual PMPM ($)", "reduction": "Reduction",
    "mdd": "Minimum detectable", "entity_id": "ACO", "name": "Name", "member_months": "Member-months",
    "reference_pmpm": "Benchmark PMPM ($)", "performance_pmpm": "Performance PMPM ($)",
    "savings_share": "Savings (share)", "tcoc_component": "TCOC component", "finding": "Finding",
    "domain": "Domain", "score": "Score", "pooled": "Pooled earlier periods", "change": "Change", "z": "z",
    "p_asymptotic": "p (asymptotic)", "p_exact": "p (exact)", "decision": "Decision", "measures": "Measures",
    "pvalue": "p", "adjusted_pvalue": "p (adjusted)", "measure": "Measure", "observed": "Observed events",
    "oe_ratio": "O/E", "baseline_oe": "Baseline O/E", "reduction_low": "Reduction low",
    "reduction_high": "Reduction high", "cp_type": "CP type", "cps": "CPs", "assigned_months": "Assigned months",
    "engaged_months": "Engaged months", "engaged_members": "Engaged members a month",
    "threshold": "Threshold (illustrative)", "stream": "Stream", "cash_usd": "Cash ($)", "paid_usd": "Paid ($)",
    "withheld_usd": "Withheld ($)", "released_usd": "Released ($)", "forfeited_usd": "Forfeited ($)",
    "authority_usd": "Authority ($)", "balance_usd": "Withheld balance ($)", "share_used": "Share of authority",
    "investment": "Investment", "planned_usd": "Planned ($)", "spent_usd": "Spent ($)", "share": "Share of plan",
    "goal": "Goal", "report": "Report", "option": "Option", "value": "Value", "source": "Source", "key": "Key",
    "id": "Id", "title": "Where and what", "recorded_in": "Recorded in the program definition",
    "layer": "Layer", "gate": "Gate", "payments": "Payments", "entities": "Entities", "amount_usd": "Amount ($)",
    "outcome": "Outcome", "relative": "Relative effect", "relative_low": "Interval low",
    "relative_high": "Interval high",
    "mde_relative": "Minimum detectable (relative)", "estimate": "Effect", "low": "Effect low", "high": "Effect high",
    "mde": "Minimum detectable effect", "counterfactual": "Counterfactual mean",
    "treated_member_months": "ACO member-months", "comparison_member_months": "Comparison member-months",
    "members": "Members", "clusters": "Clusters", "naive_relative": "Naive pre-post", "naive_low": "Naive low",
    "naive_high": "Naive high", "placebo_relative": "Placebo", "placebo_low": "Placebo low",
    "placebo_high": "Placebo high", "event_period": "Periods from launch", "period_start": "Period start",
    "se": "Standard error", "treated_members": "Launch-cohort members", "comparison_members": "Comparison members",
    "population": "Population", "expected": "Expected", "ratio": "O/E", "baseline_year": "Baseline year",
    "characteristic": "Characteristic", "ever_mean": "Later attributed (mean)", "never_mean": "Never attributed (mean)",
    "std_difference": "Standardised difference", "ever_members": "Later attributed members",
    "never_members": "Never attributed members", "imbalanced": "Above 0.1", "attributed": "Attributed",
    "never_attributed": "Never attributed", "not_attributed": "Not attributed",
    "comparison_share": "Comparison share", "churn": "Churn", "excluded": "Years left out",
    "all_years": "With every year", "rating": "Rating", "rule": "Rule", "because": "Decided by", "text": "Rule text",
}
STATUSES = (ON_TRACK, OFF_TRACK, NOT_ASSESSABLE, DETECTED, BELOW_DETECTION)
COMPLIANCE, PERFORMANCE, IMPACT = "implementation and compliance", "performance against targets", "estimated impact"


def open_midpoint_report(**parameters) -> ReportContext[MidpointOptions]:
    """The report's context (:func:`~dsrip_lib.reports.context.open_report` with its options and headers)."""
    return open_report(MidpointOptions, headers=HEADERS, **parameters)


def sections(run: MidpointRun) -> dict[str, Section]:
    """Every section, in the report's order: compliance, the goals, the impact layer and its threats, ratings."""
    impact = run.impact
    return {
        "compliance": midpoint_impact.compliance_section(run),
        "adoption": adoption_section(run),
        "spending": spending_section(run),
        "aco spending": aco_spending_section(run),
        "quality domains": quality_section(run),
        "aco trajectories": improvement_section(run),
        "utilization": utilization_section(run),
        "cp engagement": engagement_section(run),
        "payments": payments_section(run),
        "investments": investments_section(run),
        "impact estimates": midpoint_impact.impact_section(impact),
        "event study": midpoint_impact.event_study_section(impact),
        "observed to expected": midpoint_impact.oe_section(impact),
        "selection": midpoint_impact.selection_section(impact),
        "comparison group": midpoint_impact.comparison_section(impact),
        "attribution churn": midpoint_impact.churn_section(impact),
        "covid sensitivity": midpoint_impact.covid_section(impact),
        "ratings": midpoint_impact.ratings_section(run),
    }


# the layer of each section's findings (the issue keeps them apart; the ratings read the first two)
LAYERS = {"compliance": COMPLIANCE, "impact estimates": IMPACT}


def executive_summary(run: MidpointRun, parts: dict[str, Section]) -> Section:
    """One row per finding of every section, in order: its layer, the goal, the sentence and its status."""
    rows = [{"layer": LAYERS.get(key, PERFORMANCE), "goal": f.goal, "finding": f.text, "status": f.status}
            for key, section in parts.items() for f in section.findings]
    table = pd.DataFrame(rows, columns=["layer", "goal", "finding", "status"])
    caption = (f"The assessment through {run.through.label} (Sec 6.4.1), in three layers kept apart: implementation "
               "and compliance, performance against each goal (on track, off track or not assessable) and the "
               "estimated impact of the ACOs (a change beyond chance, or below what the data can detect)")
    return Section(table, caption, table["finding"].tolist(), [f for s in parts.values() for f in s.findings])


def status_counts(summary: Section) -> pd.DataFrame:
    """How many findings have each status (every status listed)."""
    counts = summary.table["status"].value_counts().reindex(list(STATUSES), fill_value=0)
    return pd.DataFrame({"status": counts.index, "findings": counts.to_numpy()})


def headline(summary: Section) -> dict[str, tuple[float, str]]:
    """The results.json values: each finding's headline number and the count of findings per status."""
    values = {f.key: (f.value, f.description) for f in summary.findings if f.key is not None}
    values |= {key: (value, description) for f in summary.findings for key, value, description in f.more}
    for r in status_counts(summary).itertuples():
        values[f"findings_{r.status.replace(' ', '_')}"] = (float(r.findings), f"Findings {r.status}")
    return values


def method_text(run: MidpointRun, ctx: ReportContext[MidpointOptions], data_dir: str) -> str:
    """The method paragraph: the period covered, where each number comes from, the intervals' level."""
    import os

    opts = run.options
    chosen = ("the run's option" if opts.through is not None else
              f"the last ACO budget period ending by the program's midpoint date, {run.program.evaluation.midpoint_through}")
    return (
        f"**Method.** The assessment covers the program from its start through {run.through.label} "
        f"({run.through.start} to {run.through.end}; {chosen}). Each goal is read from the stage that computes it "
        f"for the other reports: adoption (Sec 5.2.1.1), the spending-growth chain and the ACO benchmarks (Sec "
        f"5.2.1.2, 5.3.2), the quality domain tests and avoidable utilisation (Sec 5.2.1.3), CP engagement, the "
        f"payment ledger and statewide investments (Sec 4). Status follows the protocol's rule on the point estimate "
        f"where the protocol has one; every claimed trend shows its two-sided {opts.confidence:.0%} interval, and a "
        f"change smaller than the minimum detectable difference at {opts.power:.0%} power is reported as below "
        f"what the data can detect. Data: `{os.path.relpath(data_dir)}`. The appendix lists every option and "
        f"program value used."
        + (" ACO-periods without an eligible measure in a weighted domain are reweighted over the domains present "
           "(a named option, not the protocol's rule)." if opts.missing_domain == "reweight" else "")
    )


# -- the appendix -------------------------------------------------------------------------------------
def appendix(run: MidpointRun) -> dict[str, pd.DataFrame]:
    """The methodology appendix's tables: options, the rating rules, program values, known discrepancies."""
    return {"options": options_table(run), "rating rules": run.composed["impact"].rating_rules.table(),
            "program values": program_table(run.program), "discrepancies": discrepancies_table(run.program)}


# -- charts (from the published, suppressed tables) -------------------------------------------------
def adoption_chart(published: pd.DataFrame) -> tuple[Figure, str]:
    shown = plot_values(published)
    outcomes = shown["status"].map({ON_TRACK: "pass", OFF_TRACK: "fail"}).fillna("n/a")
    targets = [None if pd.isna(t) else t for t in shown["target"]]
    fig = charts.rate_against_target(list(shown["period"]), list(shown["rate"]), targets, list(outcomes),
                                     "ACO/APM adoption rate against its target", "Budget period",
                                     "Share of ACO-eligible members", "target (Exhibit 26)")
    alt = "Bar chart of the ACO/APM adoption rate per budget period against its target: " + "; ".join(
        f"{r.period} {r.rate:.1%}" + ("" if pd.isna(r.target) else f" vs {r.target:.0%}") for r in shown.itertuples())
    return fig, alt


@charts.themed
def _estimates(labels: list[str], values, lows, highs, targets, title: str, ylabel: str) -> Figure:
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.errorbar(labels, values, yerr=[[v - lo for v, lo in zip(values, lows)], [hi - v for v, hi in zip(values, highs)]],
                fmt="o", color=charts.PALETTE[0], capsize=4, label="estimate and interval")
    stated = [(label, t) for label, t in zip(labels, targets) if not pd.isna(t)]
    if stated:
        ax.plot([s[0] for s in stated], [s[1] for s in stated], "k_", markersize=24, mew=2.5, label="target")
    ax.axhline(0, color="dimgrey", lw=0.8, ls=":")
    ax.set_title(title)
    ax.set_xlabel("Budget period")
    ax.set_ylabel(ylabel)
    ax.yaxis.set_major_formatter(charts.PERCENT)
    ax.legend(loc="upper left")
    return fig


def spending_chart(published: pd.DataFrame) -> tuple[Figure, str]:
    shown = plot_values(published)
    fig = _estimates(list(shown["period"]), shown["reduction"].tolist(), shown["ci_low"].tolist(),
                     shown["ci_high"].tolist(), shown["target"].tolist(),
                     "Reduction off the trended PMPM with its interval", "Reduction (positive = under the trend)")
    alt = "Points with interval bars of the reduction off the trended PMPM per budget period: " + "; ".join(
        f"{r.period} {r.reduction:.1%} ({r.ci_low:.1%} to {r.ci_high:.1%})" for r in shown.itertuples())
    return fig, alt


def quality_chart(run: MidpointRun) -> tuple[Figure, str]:
    """The member-weighted aggregate domain scores through the midpoint, with the domains found worse marked."""
    q = run.quality
    keep = [run.labels[p.number] for p in q.periods if p.number <= run.through.number]
    trend = quality_domain_tests.aggregate_trend(q).loc[keep]
    pooled = quality_domain_tests.pooled_trend(q)
    pooled = pooled.loc[[p for p in pooled.index if p in keep]]
    worse = [(run.labels[bp], q.domain_names()[d]) for bp in q.tested if bp <= run.through.number
             for d, score in q.tests[bp].scores().items() if score == 0]
    fig = charts.lines_by_period(trend, worse, "Member-weighted aggregate quality domain scores", "Budget period",
                                 "Aggregate domain score", mark_label="statistically worse than earlier periods",
                                 references=pooled, reference_label="pooled earlier periods")
    said = "; ".join(f"{d} in {p}" for p, d in worse) or "none"
    alt = (f"Lines of {trend.shape[1]} quality domains' aggregate scores over {len(trend)} budget periods through "
           f"{run.through.label}; marked statistically worse than the earlier periods: {said}.")
    return fig, alt
