"""The accountability report (notebooks/accountability.ipynb): options, scores, tables, the waterfall.

ACO DSRIP Accountability Scores (quality and TCOC components blended by Exhibit 31), the
discretionary startup/ongoing funds withheld (Exhibit 20), earned, unearned and a remediation
scenario (Sec 5.3.3-5.3.4); the CP and CSA scores (Sec 5.4.4); and, per ACO, the achievement
points left on the table. Suppression happens when the notebook publishes the tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict, Field

from dsrip_lib.accountability.aco import aco_accountability, earned_at_risk, remediation_earn_back
from dsrip_lib.accountability.cp import (
    CP_CSA_TYPES,
    cp_accountability,
    cp_domain_scores,
    cp_measure_points,
    cp_quality_scores,
    cp_results,
    reporting_requirements,
)
from dsrip_lib.attribution.member_months import member_months_by_period
from dsrip_lib.inputs.codes import CSA_ENTITY_TYPE
from dsrip_lib.payments.withholds import aco_withholds, startup_ongoing_funding
from dsrip_lib.program import Program
from dsrip_lib.program.spending import Truncation
from dsrip_lib.publishing import charts
from dsrip_lib.quality.aco_quality import AcoQuality
from dsrip_lib.reports import stages
from dsrip_lib.reports.context import ReportContext, open_report


class AccountabilityOptions(BaseModel):
    """Options of the accountability report (validated on entry; unknown keys rejected).

    Attributes
    ----------
    benchmarks
        A CSV or Parquet file of attainment thresholds and excellence benchmarks replacing the
        program's illustrative values cell by cell (as in the quality domain tests report).
    missing_domain
        An entity-period with no eligible measure in a weighted domain: ``"raise"`` (default) or
        ``"reweight"`` (proportional; the protocol leaves this to CMS).
    approved_share
        SCENARIO: the share of unearned funds the State approves for earn-back through a
        Performance Remediation Plan; default the program's maximum (Sec 5.3.4).
    plan_score
        SCENARIO: the Performance Remediation Plan Score (0 to the program's maximum); default 8.
    truncation
        High-cost truncation for the TCOC component, overriding the program's.
    base_pmpm_usd
        The State's base startup/ongoing PMPM per budget period; default calibrated so the
        ACOs' average adjusted PMPM equals Exhibit 6 (the protocol publishes no base rate).
    chc_adjustment
        Pay CHC-attributed member-months the CHC safety-net adjustment (Sec 4.4.1); default true.
    """

    model_config = ConfigDict(extra="forbid")

    benchmarks: str | None = None
    missing_domain: Literal["raise", "reweight"] = "raise"
    approved_share: float | None = Field(None, ge=0, le=1)
    plan_score: float = Field(8.0, ge=0)
    truncation: Truncation | None = None
    base_pmpm_usd: dict[int, float] | None = None
    chc_adjustment: bool = True


HEADERS = {
    "entity_id": "Entity", "name": "Name", "entity_type": "Type", "period": "Budget period",
    "quality_score": "Quality score", "tcoc_component": "TCOC component", "quality_weight": "Quality weight",
    "tcoc_weight": "TCOC weight", "accountability_score": "Accountability score", "withheld_usd": "Withheld ($)",
    "earned_usd": "Earned ($)", "unearned_usd": "Unearned ($)", "remediation_usd": "Remediation earn-back ($)",
    "at_risk_share": "Share at risk", "member_months": "Member-months", "discretionary_usd": "Discretionary ($)",
    "basis": "Basis", "previous_quality_score": "Previous quality score", "improvement_over_self": "Improvement",
    "requirements_met_share": "Reporting requirements met", "minimum": "Minimum threshold",
    "excellence": "Excellence benchmark", "measure_id": "Measure", "domain": "Domain", "rate": "Rate",
    "attainment_threshold": "Attainment threshold", "excellence_benchmark": "Full-credit rate",
    "achievement_points": "Points earned", "points_left": "Points left", "measure_type": "Entity type",
    "rows": "Rows",
}
MONEY, SHARE = "{:,.0f}", "{:.1%}"
ENTITY_TYPE_WORDS = {"cp_bh": "BH CP", "cp_ltss": "LTSS CP", "csa": "CSA"}


@dataclass(frozen=True)
class AccountabilityRun:
    """Everything the report shows, computed once.

    ``aco`` holds one row per ACO and budget period with the scores and the money;
    ``cp`` the CP/CSA accountability scores.
    """

    program: Program
    labels: dict[int, str]
    names: pd.DataFrame = field(repr=False)
    quality: AcoQuality = field(repr=False)
    aco: pd.DataFrame = field(repr=False)
    cp: pd.DataFrame = field(repr=False)
    approved_share: float = 0.0
    plan_score: float = 0.0

    @property
    def latest_tcoc_period(self) -> int | None:
        """The latest budget period whose score has a TCOC component (for the waterfall)."""
        periods = self.aco.loc[self.aco["tcoc_weight"] > 0, "budget_period"]
        return int(periods.max()) if len(periods) else None

    def summary(self) -> str:
        bp = int(self.aco["budget_period"].max())
        rows = self.aco[self.aco["budget_period"] == bp]
        return (f"{rows['entity_id'].nunique()} ACOs in {self.labels[bp]}: "
                f"withheld ${rows['withheld_usd'].sum():,.0f}, "
                f"earned ${rows['earned_usd'].sum():,.0f}; {self.cp['entity_id'].nunique()} CPs and CSAs scored")


def open_accountability_report(**parameters) -> ReportContext[AccountabilityOptions]:
    """The report's context (:func:`~dsrip_lib.reports.context.open_report` with its options and headers)."""
    return open_report(AccountabilityOptions, headers=HEADERS, **parameters)


def score(ctx: ReportContext[AccountabilityOptions]) -> AccountabilityRun:
    """Score every ACO, CP and CSA and compute the ACOs' withheld, earned and remediation amounts.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.1, Sec 5.1.2 (Exhibit 20), Sec 5.3 (Exhibit 31), Sec 5.4.4.
    """
    program, opts, data = ctx.program, ctx.options, ctx.data
    entities = data.to_pandas("entities")
    results, utilization, survey = (data.to_pandas(n) for n in ("measure_results", "utilization", "survey_scores"))
    quality = stages.aco_quality(ctx, opts.benchmarks, opts.missing_domain)
    tcoc = stages.aco_tcoc(ctx, opts.truncation)
    scores = aco_accountability(quality.quality, tcoc[["entity_id", "budget_period", "tcoc_component"]], program)

    periods = program.calendar.budget_periods("aco")
    months = member_months_by_period(stages.attributed_counts(ctx), periods).rename(columns={"aco_id": "entity_id"})
    months = months[months["budget_period"].isin(scores["budget_period"])]
    funding = startup_ongoing_funding(months, entities, program, base_pmpm_usd=opts.base_pmpm_usd,
                                      chc_adjustment=opts.chc_adjustment)
    withheld = aco_withholds(funding, program)
    earned = earned_at_risk(scores, withheld)
    at_risk = program.require("at_risk")
    share = at_risk.remediation_max_earn_back_share if opts.approved_share is None else opts.approved_share
    earned["remediation_usd"] = remediation_earn_back(earned["unearned_usd"], share, opts.plan_score, program)
    money = earned.drop(columns=["accountability_score", "stream"]).merge(
        withheld[["entity_id", "budget_period", "at_risk_share"]], on=["entity_id", "budget_period"])
    aco = scores.merge(money, on=["entity_id", "budget_period"], how="left").merge(
        funding[["entity_id", "budget_period", "member_months", "discretionary_usd"]],
        on=["entity_id", "budget_period"], how="left")

    cp = cp_scores(results, utilization, survey, entities, quality.benchmarks, program, opts.missing_domain)
    labels = {p.number: p.label for p in periods}
    names = entities[["entity_id", "name", "entity_type"]]
    return AccountabilityRun(program, labels, names, quality, aco, cp, share, opts.plan_score)


def cp_scores(results: pd.DataFrame, utilization: pd.DataFrame, survey: pd.DataFrame, entities: pd.DataFrame,
              benchmarks: pd.DataFrame, program: Program, missing_domain: str) -> pd.DataFrame:
    """CP/CSA accountability scores (:func:`~dsrip_lib.accountability.cp.cp_accountability` output).

    A result whose measure is not in its entity type's Appendix D slate is refused by the scoring,
    naming the measure and the slate (a data set made for another slate, or a typo in an id).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.4.4 (Exhibits 41-46), Appendix D.
    """
    points = cp_points(results, utilization, survey, entities, benchmarks, program)
    quality = cp_quality_scores(cp_domain_scores(points), program, missing_domain=missing_domain)
    return cp_accountability(quality, program, reporting=reporting_requirements(points))


def cp_points(results: pd.DataFrame, utilization: pd.DataFrame, survey: pd.DataFrame, entities: pd.DataFrame,
              benchmarks: pd.DataFrame, program: Program) -> pd.DataFrame:
    """CP/CSA measure points (:func:`~dsrip_lib.accountability.cp.cp_measure_points`) of the contract's results.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.4.4.1-5.4.4.2 (Exhibit 41), Appendix D.
    """
    rows = cp_results(results, utilization=utilization, survey_scores=survey)
    rows = rows.merge(entities[["entity_id", "entity_type"]], on="entity_id")
    rows = rows[rows["entity_type"].isin(CP_CSA_TYPES)].drop(columns="entity_type")
    return cp_measure_points(rows, entities, benchmarks, program)


# -- tables ----------------------------------------------------------------------------------------
def aco_table(run: AccountabilityRun) -> pd.DataFrame:
    """One row per ACO and budget period: quality, TCOC, blended score, withheld, earned, unearned, remediation."""
    cols = ["entity_id", "name", "period", "quality_score", "tcoc_component", "accountability_score",
            "withheld_usd", "earned_usd", "unearned_usd", "remediation_usd"]
    out = run.aco.merge(run.names[["entity_id", "name"]], on="entity_id", how="left")
    return out.assign(period=out["budget_period"].map(run.labels))[cols]


def waterfall_steps(run: AccountabilityRun, bp: int) -> list[tuple[str, float]]:
    """Withheld -> lost on quality -> lost on TCOC -> earned -> remediation -> earned after remediation.

    The unearned amount splits exactly by component, since the Exhibit 31 weights sum to 1:
    ``withheld x (1 - score) = withheld x (qw x (1 - quality) + tw x (1 - tcoc))``.
    """
    rows = run.aco[run.aco["budget_period"] == bp]
    withheld = rows["withheld_usd"]
    lost_quality = (withheld * rows["quality_weight"] * (1 - rows["quality_score"])).sum()
    lost_tcoc = (withheld * rows["tcoc_weight"] * (1 - rows["tcoc_component"].fillna(1.0))).sum()
    earned, remediation = rows["earned_usd"].sum(), rows["remediation_usd"].sum()
    return [("Withheld", withheld.sum()), ("Lost on quality", -lost_quality), ("Lost on TCOC", -lost_tcoc),
            ("Earned", earned), ("Remediation scenario", remediation),
            ("Earned with remediation", earned + remediation)]


def waterfall_chart(run: AccountabilityRun, bp: int) -> tuple[Figure, str]:
    steps = waterfall_steps(run, bp)
    fig = charts.waterfall(steps, {"Withheld", "Earned", "Earned with remediation"},
                           f"At-risk discretionary funds of all ACOs, {run.labels[bp]}", "Dollars")
    said = "; ".join(f"{label} ${abs(value):,.0f}" for label, value in steps)
    return fig, f"Waterfall from the funds withheld to the funds earned by all ACOs in {run.labels[bp]}: {said}."


def cp_table(run: AccountabilityRun, csa: bool) -> pd.DataFrame:
    """CP (``csa=False``) or CSA quality and accountability scores per entity and budget period."""
    is_csa = run.cp["entity_type"] == CSA_ENTITY_TYPE
    rows = run.cp[is_csa if csa else ~is_csa].merge(run.names[["entity_id", "name"]], on="entity_id", how="left")
    rows = rows.assign(period=rows["budget_period"].map(run.labels),
                       entity_type=rows["entity_type"].map(ENTITY_TYPE_WORDS), basis=rows["basis"].str.capitalize())
    return rows[["entity_id", "name", "entity_type", "period", "basis", "quality_score", "improvement_over_self",
                 "requirements_met_share", "accountability_score"]]


def points_left_table(run: AccountabilityRun, bp: int) -> pd.DataFrame:
    """Per ACO and pay-for-performance measure short of full credit in ``bp``: points left and the full-credit rate.

    Full credit (2 achievement points, Sec 5.3.1.1) needs the excellence benchmark; measures
    already at full credit and ineligible ones are not listed.
    """
    scored = run.quality.scored
    maximum = run.program.require("aco_accountability").achievement.max_points_per_measure
    rows = scored[(scored["budget_period"] == bp) & scored["eligible"].astype(bool)
                  & (scored["basis"] == "performance") & (scored["achievement_points"] < maximum)]
    rows = rows.assign(points_left=maximum - rows["achievement_points"])
    cols = ["entity_id", "measure_id", "domain", "rate", "attainment_threshold", "excellence_benchmark",
            "achievement_points", "points_left"]
    return rows[cols].sort_values(["entity_id", "points_left", "measure_id"], ascending=[True, False, True],
                                  ignore_index=True)


def method_text(run: AccountabilityRun, ctx: ReportContext[AccountabilityOptions]) -> str:
    """The method paragraph, its numbers from the program and the run's options."""
    program, opts = run.program, ctx.options
    at_risk = program.require("at_risk")
    shares = ", ".join(f"{run.labels.get(bp, bp)} {s:.0%}"
                       for bp, s in at_risk.aco["startup_ongoing_discretionary"].items())
    base = ("calibrated so that the ACOs' member-month-weighted average adjusted PMPM equals Exhibit 6 "
            "(the protocol publishes no base rate)" if opts.base_pmpm_usd is None else "the run's base PMPMs")
    return (
        f"**Method.** Each ACO's Accountability Score blends its Quality Score and TCOC component with the "
        f"Exhibit 31 weights of the budget period. The money at risk here is the discretionary part of the "
        f"startup/ongoing funds (sub-stream 2): attributed member-months x the base PMPM ({base}) x (1 + the "
        f"Exhibit 8 model/risk-track and Exhibit 7 safety-net adjustments"
        f"{', CHC-attributed months at the CHC adjustment' if opts.chc_adjustment else ''}), less the primary-care "
        f"PMPM schedule, withheld at the Exhibit 20 share ({shares}; lagged for ACOs joining after BP 1). "
        f"Earned = score x withheld. The DSTI glide path (sub-stream 4) is also withheld at Exhibit 20 shares, but "
        f"per hospital-to-ACO contract (the `dsti_contracts` table); the payment ledger of the payments_quarterly "
        f"report carries it, this report does not. "
        f"**Remediation is a scenario**: approved share {run.approved_share:.0%} (the maximum is "
        f"{at_risk.remediation_max_earn_back_share:.0%}) and plan score {run.plan_score:g} of "
        f"{at_risk.remediation_plan_max_score:g} (Sec 5.3.4). CP and CSA scores follow Sec 5.4.4; their withheld "
        f"amounts need CP payments, which this report does not compute."
        + (" Entity-periods without an eligible measure in a weighted domain are reweighted over the domains "
           "present (a named option, not the protocol's rule)." if opts.missing_domain == "reweight" else "")
    )
