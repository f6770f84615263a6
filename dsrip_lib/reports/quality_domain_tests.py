"""The quality domain tests report (notebooks/quality_domain_tests.ipynb): options, tables, choices, charts.

The stage (:mod:`dsrip_lib.quality`) scores every ACO, measure and domain, tests the State's
quality domains and scores avoidable utilisation; this module picks which budget periods the
report shows and shapes the results into the report's tables, with ACO names beside ids and
budget periods as labels. Suppression happens when the notebook publishes them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict

from dsrip_lib.attribution.member_months import attributed_members
from dsrip_lib.errors import ParameterError
from dsrip_lib.inputs.codes import ACO_ENTITY_TYPE
from dsrip_lib.program import BudgetPeriod, Program
from dsrip_lib.publishing import charts
from dsrip_lib.quality.aco_quality import AcoQuality
from dsrip_lib.quality.reset import benchmark_reset_flags
from dsrip_lib.quality.state_domains import (
    DEFAULT_READING,
    READINGS,
    DomainTests,
    aggregate_domain_scores,
    domain_tests,
    pooled_domain_scores,
    sensitivity,
    van_elteren_domains,
)
from dsrip_lib.quality.state_score import StateQualityScore, state_quality_domain
from dsrip_lib.quality.state_utilization import StateUtilization, state_utilization
from dsrip_lib.reports import stages
from dsrip_lib.reports.context import ReportContext, open_report

Reading = Literal["aco_strata", "measure_strata", "domain_score", "one_sided"]


class QualityOptions(BaseModel):
    """Options of the quality domain tests report (validated on entry; unknown keys rejected).

    Attributes
    ----------
    benchmarks
        A CSV or Parquet file of attainment thresholds and excellence benchmarks
        (``entity_type, measure_id, budget_period, attainment_threshold, excellence_benchmark``)
        replacing the program's illustrative values cell by cell; default none.
    missing_domain
        An ACO-period with no eligible measure in a weighted domain: ``"raise"`` (default; the
        protocol leaves the reweighting to CMS, Sec 5.3.1.1) or ``"reweight"`` (proportional).
    reading
        Which reading of the van Elteren test decides the State's domain scores (default
        ``"aco_strata"``; docs/methodology/state_quality_domain.md). The others are shown as
        sensitivity.
    exact_pvalues
        Compute the exact p-value beside the asymptotic one (default true).
    member_count_method
        How ACO members weight the aggregate domain scores: ``"average"`` monthly count over the
        budget period (default) or ``"snapshot"`` of its last month (Sec 4.4.4).
    utilization_baseline_period
        Budget period of the ``utilization`` table used as the avoidable-utilisation baseline,
        for data without CY2017 rows; default the first budget period in the data.
    """

    model_config = ConfigDict(extra="forbid")

    benchmarks: str | None = None
    missing_domain: Literal["raise", "reweight"] = "raise"
    reading: Reading = DEFAULT_READING
    exact_pvalues: bool = True
    member_count_method: Literal["average", "snapshot"] = "average"
    utilization_baseline_period: int | None = None


HEADERS = {
    "entity_id": "ACO",
    "name": "ACO name",
    "period": "Budget period",
    "domain": "Domain",
    "measure_id": "Measure",
    "quality_score": "Quality Score",
    "score": "Score",
    "acos": "ACOs",
    "members": "Members",
    "pooled": "Pooled earlier periods",
    "n_current": "Scores, this period",
    "n_previous": "Scores, earlier periods",
    "strata": "Strata",
    "z": "z",
    "p_asymptotic": "p (asymptotic)",
    "p_exact": "p (exact)",
    "decision": "Decision",
    "decision_differs": "Exact p decides otherwise",
    "reading": "Reading",
    "agrees_with_default": "Agrees with the deciding reading",
    "observed": "Observed events",
    "oe_ratio": "O/E",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "baseline_oe": "Baseline O/E",
    "quartile": "Baseline quartile",
    "target": "Target reduction",
    "reduction": "Reduction",
    "meets_target": "Meets target",
    "points": "Points",
    "baseline_oe_ratio": "Baseline O/E",
    "below_threshold": "ACOs below threshold",
    "at_benchmark": "ACOs at benchmark",
    "share_below_threshold": "Share below threshold",
    "share_at_benchmark": "Share at benchmark",
    "reason": "Why flagged",
    "exhibit_weight": "Exhibit 28 weight",
    "weight": "Weight used",
    "domain_score": "Domain score",
    "weighted": "Weighted score",
    "reweighted": "Reweighted",
}


@dataclass(frozen=True)
class QualityRun:
    """Everything the report shows, computed once.

    ``tested`` are the budget periods with a previous period in the data whose domains are
    tested (Sec 5.2.1.3: each period against all earlier ones pooled).
    """

    program: Program
    periods: list[BudgetPeriod]
    acos: pd.DataFrame = field(repr=False)
    aco: AcoQuality = field(repr=False)
    members: pd.DataFrame = field(repr=False)
    tests: dict[int, DomainTests] = field(repr=False)
    sensitivity: dict[int, pd.DataFrame] = field(repr=False)
    utilization: dict[int, StateUtilization] = field(repr=False)
    state: dict[int, StateQualityScore] = field(repr=False)
    reading: str = DEFAULT_READING

    @property
    def labels(self) -> dict[int, str]:
        return {p.number: p.label for p in self.periods}

    @property
    def tested(self) -> list[int]:
        return sorted(self.tests)

    def domain_names(self) -> dict[str, str]:
        return {d.key: d.label for d in self.program.require("quality_domains")}


def open_quality_report(**parameters) -> ReportContext[QualityOptions]:
    """The report's context (:func:`~dsrip_lib.reports.context.open_report` with its options and headers)."""
    return open_report(QualityOptions, headers=HEADERS, **parameters)


def aco_members(ctx: ReportContext, periods: list[BudgetPeriod], method: str) -> pd.DataFrame:
    """ACO members per budget period from the attribution stage (Sec 4.4.4): ``entity_id, budget_period, members``."""
    counts = stages.attributed_counts(ctx)
    frames = [attributed_members(counts, p.start, p.end, method).assign(budget_period=p.number)
              for p in periods]
    out = pd.concat(frames, ignore_index=True).rename(columns={"aco_id": "entity_id"})
    return out[["entity_id", "budget_period", "members"]]


def score(ctx: ReportContext[QualityOptions]) -> QualityRun:
    """Score every ACO and test the State's quality domains in every budget period that has an earlier one.

    Raises
    ------
    ParameterError
        When the data has no budget period with ACO measure results, or the utilisation
        baseline period is not in the data.
    """
    program, opts, data = ctx.program, ctx.options, ctx.data
    entities = data.to_pandas("entities")
    utilization = data.to_pandas("utilization")
    aco = stages.aco_quality(ctx, opts.benchmarks, opts.missing_domain)
    numbers = sorted(aco.quality["budget_period"].unique())
    if not numbers:
        raise ParameterError("the data has no ACO measure results in any budget period")
    periods = [p for p in program.calendar.budget_periods("aco") if p.number in numbers]
    members = aco_members(ctx, periods, opts.member_count_method)
    baseline = numbers[0] if opts.utilization_baseline_period is None else opts.utilization_baseline_period
    if baseline not in set(utilization["budget_period"]):
        raise ParameterError(f"utilization_baseline_period {baseline} has no rows in the utilization table")
    aco_utilization = utilization[utilization["entity_id"].isin(aco.quality["entity_id"])]
    tests, sens, used, state = {}, {}, {}, {}
    for bp in numbers:
        if bp == numbers[0] or not program.require("quality_domains").weights_in(bp):
            continue
        domains = tested_domains(aco.rates, bp, program) if opts.missing_domain == "reweight" else None
        tests[bp] = domain_tests(aco.rates, bp, program, reading=opts.reading, domain_scores=aco.domains,
                                 domains=domains, exact=opts.exact_pvalues)
        # the sensitivity table shows the asymptotic decisions; the exact p-values are the deciding reading's
        sens[bp] = sensitivity(aco.rates, bp, program, domain_scores=aco.domains, domains=domains, exact=False)
        used[bp] = state_utilization(aco_utilization, bp, program, baseline_bp=baseline)
        missing = "reweight" if opts.missing_domain == "reweight" else "refuse"
        state[bp] = state_quality_domain(tests[bp], used[bp], program, missing=missing)
    acos = entities.loc[entities["entity_type"] == ACO_ENTITY_TYPE, ["entity_id", "name"]]
    return QualityRun(program, periods, acos, aco, members, tests, sens, used, state, opts.reading)


def tested_domains(rates: pd.DataFrame, bp: int, program: Program) -> list[str]:
    """The domains the State tests in ``bp`` that have eligible rates both in ``bp`` and before it.

    Used only under ``missing_domain="reweight"``: a domain without scores is then left out of
    the tests and its Exhibit 28 weight spread over the others (by default the stage refuses).
    """
    rates = rates[rates["eligible"].astype(bool)]
    before = set(rates.loc[rates["budget_period"] < bp, "domain"])
    now = set(rates.loc[rates["budget_period"] == bp, "domain"])
    return [d for d in van_elteren_domains(program, bp) if d in before and d in now]


# -- tables ----------------------------------------------------------------------------------------
def quality_scores_table(run: QualityRun) -> pd.DataFrame:
    """ACO x budget period Quality Scores (Exhibit 32 weighted), budget periods as columns."""
    wide = run.aco.quality.pivot(index="entity_id", columns="budget_period", values="quality_score")
    wide.columns = [run.labels[c] for c in wide.columns]
    return run.acos.merge(wide.reset_index(), on="entity_id", how="right")


def domain_heatmap_frame(run: QualityRun, bp: int) -> pd.DataFrame:
    """ACO x domain scores in ``bp`` (rows ACOs, columns domain names; NaN where not scored)."""
    names = run.domain_names()
    frame = run.aco.domains[run.aco.domains["budget_period"] == bp]
    wide = frame.pivot(index="entity_id", columns="domain", values="score")
    return wide.reindex(columns=[k for k in names if k in wide.columns]).rename(columns=names)


def domain_heatmap(run: QualityRun, bp: int) -> tuple[Figure, str]:
    scores = domain_heatmap_frame(run, bp)
    hidden = pd.DataFrame(False, index=scores.index, columns=scores.columns)
    fig = charts.share_heatmap(scores, hidden, f"ACO domain scores, {run.labels[bp]}",
                               "Quality domain", "ACO", colorbar_label="Domain score")
    weakest = scores.mean().idxmin()
    alt = (f"Heat map of {len(scores)} ACOs' scores in {scores.shape[1]} quality domains in {run.labels[bp]}; "
           f"the domain with the lowest mean score is {weakest} ({scores[weakest].mean():.0%}).")
    return fig, alt


def aggregate_table(run: QualityRun) -> pd.DataFrame:
    """Member-weighted aggregate domain score per budget period, the pooled earlier periods and the decision."""
    aggregate = aggregate_domain_scores(run.aco.domains, run.members)
    rows = []
    for bp in run.tested:
        pooled = pooled_domain_scores(run.aco.domains, run.members, bp).set_index("domain")["score"]
        decided = run.tests[bp].table().set_index("domain")
        current = aggregate[aggregate["budget_period"] == bp].set_index("domain")
        for domain in decided.index:
            rows.append({"period": run.labels[bp], "domain": run.domain_names()[domain],
                         "score": current.at[domain, "score"], "pooled": pooled.get(domain),
                         "decision": _decision(decided.loc[domain])})
    return pd.DataFrame(rows)


def aggregate_trend(run: QualityRun) -> pd.DataFrame:
    """Aggregate domain score per budget period (rows) and domain (columns), for the trend chart."""
    aggregate = aggregate_domain_scores(run.aco.domains, run.members)
    wide = aggregate.pivot(index="budget_period", columns="domain", values="score")
    wide.index = [run.labels[i] for i in wide.index]
    return wide.rename(columns=run.domain_names())


def pooled_trend(run: QualityRun) -> pd.DataFrame:
    """The pooled aggregate of the earlier periods per tested budget period (rows) and tested domain (columns)."""
    rows = {}
    for bp in run.tested:
        pooled = pooled_domain_scores(run.aco.domains, run.members, bp).set_index("domain")["score"]
        rows[run.labels[bp]] = pooled[pooled.index.isin(run.tests[bp].scores())]
    return pd.DataFrame(rows).T.rename(columns=run.domain_names())


def trend_chart(run: QualityRun) -> tuple[Figure, str]:
    trend = aggregate_trend(run)
    worse = [(run.labels[bp], run.domain_names()[d]) for bp in run.tested
             for d, score in run.tests[bp].scores().items() if score == 0]
    pooled = pooled_trend(run)
    fig = charts.lines_by_period(trend, worse, "Member-weighted aggregate domain scores", "Budget period",
                                 "Aggregate domain score", mark_label="statistically worse than earlier periods",
                                 references=pooled, reference_label="pooled earlier periods (the test's reference)")
    said = "; ".join(f"{d} in {p}" for p, d in worse) or "none"
    alt = (f"Lines of the member-weighted aggregate score of {trend.shape[1]} quality domains over "
           f"{len(trend)} budget periods, with hollow diamonds at the pooled score of the earlier periods each "
           f"tested period is compared with; marked as statistically worse than the pooled earlier periods: {said}.")
    return fig, alt


def tests_table(run: QualityRun) -> pd.DataFrame:
    """One row per tested budget period and domain: z, asymptotic and exact p, decision."""
    rows = []
    for bp in run.tested:
        table = run.tests[bp].table()
        table.insert(0, "period", run.labels[bp])
        table["decision"] = table.apply(_decision, axis=1)
        table["domain"] = table["domain"].map(run.domain_names())
        rows.append(table)
    cols = ["period", "domain", "n_current", "n_previous", "strata", "z", "p_asymptotic", "p_exact", "decision",
            "decision_differs"]
    return pd.concat(rows, ignore_index=True)[cols]


def sensitivity_table(run: QualityRun) -> pd.DataFrame:
    """Each reading's decision per budget period and domain, and whether it agrees with the deciding reading."""
    rows = []
    for bp in run.tested:
        table = run.sensitivity[bp]
        table = table.assign(period=run.labels[bp], decision=table.apply(_decision, axis=1),
                             domain=table["domain"].map(run.domain_names()),
                             reading=table["reading"].map(lambda r: READING_WORDS[r]))
        rows.append(table)
    cols = ["period", "domain", "reading", "z", "p_asymptotic", "decision", "agrees_with_default"]
    return pd.concat(rows, ignore_index=True)[cols]


READING_WORDS = {r: f"{obs}; strata: {strata}; {alt}" for r, (obs, strata, alt) in READINGS.items()}


def disagreements(run: QualityRun) -> list[str]:
    """``"<domain>, <period>"`` for every domain and period where some reading decides otherwise."""
    out = []
    for bp in run.tested:
        table = run.sensitivity[bp]
        for domain in table.loc[~table["agrees_with_default"], "domain"].unique():
            out.append(f"{run.domain_names()[domain]}, {run.labels[bp]}")
    return out


def utilization_table(run: QualityRun) -> pd.DataFrame:
    """Domain 6 per ACO, pay-for-performance measure and budget period: O/E with its exact interval,
    baseline quartile, target, reduction and points (Sec 5.3.1.3, Exhibits 36-37)."""
    used = run.aco.utilization
    used = used[used["reported"] & used["budget_period"].isin(run.tested) & used["target"].notna()]
    out = used.assign(period=used["budget_period"].map(run.labels),
                      meets_target=used["meets_target"].map({True: "yes", False: "no"}).astype(object))
    out["reduction"] = out["reduction"].astype(object).where(out["reduction"].notna(), NO_BASELINE_EVENTS)
    out = run.acos.merge(out, on="entity_id", how="right")
    return out[["period", "entity_id", "name", "measure_id", "observed", "oe_ratio", "ci_low", "ci_high",
                "baseline_oe", "quartile", "target", "reduction", "meets_target", "achievement_points"]].rename(
        columns={"achievement_points": "points"})


NO_BASELINE_EVENTS = "no baseline events"


def state_utilization_table(run: QualityRun) -> pd.DataFrame:
    """Statewide avoidable utilisation per budget period and measure against Exhibit 29."""
    rows = [run.utilization[bp].table().assign(period=run.labels[bp]) for bp in run.tested]
    out = pd.concat(rows, ignore_index=True)
    return out[["period", "measure_id", "oe_ratio", "baseline_oe_ratio", "reduction", "target", "score"]]


def state_score_table(run: QualityRun) -> pd.DataFrame:
    """The State quality and utilisation domain score per budget period, domain by domain (Exhibit 28)."""
    rows = []
    for bp in run.tested:
        table = run.state[bp].table().assign(period=run.labels[bp])
        table["domain"] = table["domain"].map(run.domain_names())
        rows.append(table)
    out = pd.concat(rows, ignore_index=True)
    return out[["period", "domain", "exhibit_weight", "weight", "domain_score", "weighted"]]


def state_totals_table(run: QualityRun) -> pd.DataFrame:
    """The State quality and utilisation domain score per budget period and how it was weighted."""
    return pd.DataFrame([{"period": run.labels[bp], "score": run.state[bp].score,
                          "reweighted": "yes" if run.state[bp].table()["weight"].ne(
                              run.state[bp].table()["exhibit_weight"]).any() else "no"}
                         for bp in run.tested])


def reset_table(run: QualityRun) -> pd.DataFrame:
    """Measures where at least the program's share of ACOs miss the threshold or meet the benchmark (Sec 5.3.1.2)."""
    flags = benchmark_reset_flags(run.aco.scored, run.program)
    flags = flags[flags["reset_flag"]]
    out = flags.assign(period=flags["budget_period"].map(run.labels))
    return out[["period", "measure_id", "acos", "below_threshold", "at_benchmark", "share_below_threshold",
                "share_at_benchmark", "reason"]]


def _decision(row) -> str:
    if not row.get("testable", True):
        return "not testable"
    return "statistically worse: 0%" if row["worse"] else "not worse: 100%"


# -- prose built from the numbers ------------------------------------------------------------------
def method_text(run: QualityRun, ctx: ReportContext[QualityOptions], data_dir: str) -> str:
    """The method paragraph: thresholds' source, minimum denominator, the deciding reading, alpha, weights."""
    opts, program = ctx.options, run.program
    benchmarks = program.require("measure_benchmarks")
    source = ("the program definition's **illustrative** values (the protocol publishes none; "
              f"{benchmarks.source.rstrip('.')})" if opts.benchmarks is None else
              f"`{opts.benchmarks}`, over the program's illustrative values cell by cell")
    alpha = program.require("state_accountability").quality_utilization.alpha
    observations, strata, alternative = READINGS[run.reading]
    reweighted = run.aco.quality["reweighted"].sum()
    missing = (f"An ACO-period without an eligible measure in a weighted domain is refused by default; this run "
               f"reweights the domains present in proportion to their Exhibit 32 weights "
               f"({reweighted} of {len(run.aco.quality)} ACO-periods), a named option, not the protocol's rule. "
               if opts.missing_domain == "reweight" else "")
    return (
        f"**Method.** {run.aco.quality['entity_id'].nunique()} ACOs are scored in {len(run.periods)} budget periods "
        f"({run.periods[0].label} to {run.periods[-1].label}) against attainment thresholds and excellence "
        f"benchmarks from {source}. A measure needs a denominator of at least "
        f"{benchmarks.minimum_denominator:g} to be scored. {missing}"
        f"The State's domain tests compare each budget period with all earlier ones pooled, by the van Elteren "
        f"test ({alternative}, alpha {alpha:g}); observations: {observations}; strata: {strata}. "
        f"Aggregate domain scores weight ACOs by their attributed members "
        f"({opts.member_count_method} count, Sec 4.4.4). Avoidable utilisation is measured against budget period "
        f"{run.labels.get(_baseline(run, ctx), _baseline(run, ctx))} as the baseline"
        f"{f' (the data has no CY{program.calendar.baseline_year} rows)' if ctx.options.utilization_baseline_period is None else ''}. "
        f"Data: `{os.path.relpath(data_dir)}`."
    )


def _baseline(run: QualityRun, ctx: ReportContext[QualityOptions]) -> int:
    chosen = ctx.options.utilization_baseline_period
    return run.periods[0].number if chosen is None else chosen


def tests_text(run: QualityRun) -> str:
    """Which domains were found worse, and where the exact p-value would decide otherwise."""
    worse = [f"{run.domain_names()[d]} in {run.labels[bp]}" for bp in run.tested
             for d, score in run.tests[bp].scores().items() if score == 0]
    differs = [f"{run.domain_names()[row.domain]} in {run.labels[bp]}" for bp in run.tested
               for row in run.tests[bp].table().itertuples() if row.decision_differs]
    tested = sum(len(run.tests[bp].table()) for bp in run.tested)
    return (f"Of {tested} domain tests, {len(worse)} found the domain statistically worse than the earlier budget "
            f"periods" + (f": {', '.join(worse)}." if worse else ".")
            + (f" The exact p-value would decide otherwise for {', '.join(differs)}." if differs else
               " The exact p-value gives the same decision in every test."))


def sensitivity_text(run: QualityRun) -> str:
    """Whether the decisions hang on the reading of the test."""
    differing = disagreements(run)
    if not differing:
        return "Every reading of the test gives the same decision for every domain and budget period."
    return (f"The readings disagree for {len(differing)} domain-period(s): {'; '.join(differing)}. Where they "
            f"disagree, the State's score, and the expenditure authority it decides, depends on a choice the "
            f"protocol leaves open.")


def quality_scores_caption(run: QualityRun) -> str:
    cap = run.program.require("aco_accountability").improvement.max_share_of_domain_achievement_points
    return ("Quality Score per ACO and budget period: the Exhibit 32 weighted sum of its domain scores "
            f"(achievement points, plus improvement points capped at {cap:.0%} of the domain's available "
            "achievement points, over the points available; Sec 5.3.1.2)")


def state_utilization_caption(run: QualityRun) -> str:
    floor = run.program.require("state_accountability").gap_to_goal_floor_share
    return ("Statewide avoidable utilisation of ACO members: O/E against the baseline, the relative reduction, "
            f"the Exhibit 29 target and the gap-to-goal score (0% below {floor:.0%} of the target, 100% at or "
            "above it, linear between; Appendix C, step 3(b))")


def reset_caption(run: QualityRun) -> str:
    share = run.program.require("aco_accountability").achievement.benchmark_reset_share_of_acos
    return (f"Measures where at least {share:.0%} of the ACOs scored on them missed the attainment threshold or "
            "met the excellence benchmark in a budget period: the State may propose new values to CMS (Sec 5.3.1.2)")


def reset_text(run: QualityRun, reset: pd.DataFrame) -> str:
    share = run.program.require("aco_accountability").achievement.benchmark_reset_share_of_acos
    if reset.empty:
        return (f"No measure had at least {share:.0%} of ACOs below its attainment threshold or at its "
                f"excellence benchmark in any budget period.")
    return (f"{reset['measure_id'].nunique()} measure(s) met the reset trigger ({share:.0%} of the ACOs scored on "
            f"the measure) in at least one budget period.")
