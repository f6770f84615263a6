"""The tcoc_benchmarks report (notebooks/tcoc_benchmarks.ipynb): options, computations, tables, charts' data.

PMPM by eligibility group against the trended line, the State spending-growth chain step by
step (Sec 5.2.1.2, Appendix C step 2), every ACO's benchmark against its performance with the
TCOC component (Sec 5.3.2, Exhibit 39), the Partnership Plans against their medical capitation
with the risk-corridor split (Sec 5.3.2, step 4) when the data has it, and the settlement of the same ACOs under a
shared-savings program (Connecticut PCMH+) with the random variation of their savings.
Suppression happens when the notebook publishes the tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dsrip_lib.errors import ParameterError
from dsrip_lib.program import Program, load_program
from dsrip_lib.program.spending import Truncation
from dsrip_lib.publishing import charts
from dsrip_lib.reports.attribution import aco_directory
from dsrip_lib.reports import stages
from dsrip_lib.reports.context import ReportContext, open_report
from dsrip_lib.spending.benchmarks import CAPITATION, PartnershipPlans, partnership_plans
from dsrip_lib.spending.growth import SpendingGrowthResult, spending_growth
from dsrip_lib.spending.pmpm import ACO, ELIGIBLE, aco_member_costs, population_totals
from dsrip_lib.spending.settlement import compare_programs
from dsrip_lib.spending.variation import savings_variation

# ACOs are the "advanced networks" of the PCMH+ primer (FQHCs are the other entity type)
SETTLEMENT_ENTITY_TYPE = "advanced_network"


class TcocOptions(BaseModel):
    """Options of the tcoc_benchmarks report (validated on entry; unknown keys rejected).

    Attributes
    ----------
    truncation
        High-cost truncation of member-years, overriding the program's (default: the program's, off).
    settlement_program
        The shared-savings program the ACOs are also settled under (name or path).
    settlement_budget_period
        The budget period settled; default the last one with data.
    settlement_quality_score
        The quality score every ACO is given for the settlement's quality gate, for a what-if
        run; default ``None``: each ACO's MassHealth Quality Score in the settled budget period
        from the quality stage (Sec 5.3.1), standing in for the shared-savings program's own
        measures, which the contract's data does not carry.
    missing_domain
        How the quality stage treats an ACO-period without an eligible measure in a weighted
        domain: ``"raise"`` (default) or ``"reweight"`` (as in the quality_domain_tests report).
    confidence
        Level of the savings' confidence intervals.
    """

    model_config = ConfigDict(extra="forbid")

    truncation: Truncation | None = None
    settlement_program: str = "ct_pcmh_plus"
    settlement_budget_period: int | None = None
    settlement_quality_score: float | None = Field(None, ge=0, le=1)
    missing_domain: Literal["raise", "reweight"] = "raise"
    confidence: float = Field(0.90, gt=0, lt=1)


HEADERS = {
    "aco_id": "ACO", "entity_id": "ACO", "name": "Name", "year": "Year", "budget_period": "Budget period",
    "eligibility_group": "Group code", "group": "Eligibility group", "member_months": "Member-months",
    "aco_eligible_pmpm": "ACO-eligible PMPM", "aco_pmpm": "ACO population PMPM", "trended_pmpm": "Trended PMPM",
    "base_pmpm": "CY2017 PMPM", "trend_factor": "Trend factor", "aco_member_months": "ACO member-months",
    "aco_share": "ACO mix", "weighted_trended": "Mix x trended", "aco_spending": "ACO spending ($)",
    "raw_pmpm": "Raw ACO PMPM", "eligible_risk": "ACO-eligible risk", "aco_risk": "ACO risk",
    "normalised_risk": "Normalised ACO risk", "risk_adjusted_pmpm": "Risk-adjusted PMPM",
    "weighted_risk_adjusted": "Mix x risk-adjusted", "spending": "Spending ($)", "pmpm": "PMPM",
    "eligible_share": "ACO-eligible mix", "baseline_dsti_usd": "CY2017 DSTI ($)", "year_dsti_usd": "Year's DSTI ($)",
    "missing_sfys": "SFYs without data", "savings_usd": "Savings ($)", "dsti_savings_pmpm": "DSTI savings PMPM",
    "average_trended_pmpm": "Avg trended PMPM", "actual_pmpm": "Actual PMPM", "percent_reduction": "Reduction",
    "target": "Exhibit 27 target", "score": "Gap-to-goal score", "preliminary_mix_year": "Preliminary mix year",
    "preliminary_benchmark_pmpm": "Preliminary benchmark", "final_benchmark_pmpm": "Final benchmark",
    "performance_pmpm": "Performance PMPM", "savings_pmpm": "Savings PMPM", "savings_share": "Savings (%)",
    "tcoc_component": "TCOC component", "benchmark_usd": "Benchmark ($)", "actual_usd": "Actual ($)",
    "savings_rate": "Savings rate", "msr": "MSR", "passes_msr": "Meets MSR", "quality_gate_met": "Quality gate met",
    "sharing_rate": "Sharing rate", "shared_savings_usd": "Shared savings ($)", "net_of_addon_usd": "Net of add-on ($)",
    "losses_owed_usd": "Losses owed ($)", "challenge_pool_usd": "Challenge pool ($)",
    "total_payment_usd": "Total payment ($)", "se_pmpm": "SE of PMPM", "ci_low_usd": "CI low ($)",
    "ci_high_usd": "CI high ($)", "pvalue": "P(chance)", "pvalue_at_msr": "P(chance >= MSR)",
    "members": "Members", "comparison": "Compared with", "medical_capitation_usd": "Medical capitation ($)",
    "medical_expense_usd": "Total medical expense ($)", "gain_usd": "Medical gain (+) / loss (-) ($)",
    "gain_share": "Gain (% of capitation)", "state_usd": "State's share ($)", "plan_usd": "Plan's share ($)",
    "band": "Corridor band (% of capitation)", "in_band_usd": "Gain or loss in band ($)",
    "state_share": "State's share in band",
}
COMPARISONS = {"final_benchmark": "Final TCOC benchmark", "medical_capitation": "Medical capitation"}
MONEY, PMPM, SHARE = "{:,.0f}", "{:,.2f}", "{:.2%}"


def open_tcoc_report(**parameters) -> ReportContext[TcocOptions]:
    """The report's context from the notebook's parameters (DuckDB's memory limit is the ``backend``'s)."""
    return open_report(TcocOptions, headers=HEADERS, **parameters)


@dataclass(frozen=True)
class Spending:
    """What the report's sections share: the PMPM cells, the chain, the benchmarks, the Partnership
    Plans (``has_capitation``: the data has a ``medical_capitation`` table), the ACOs."""

    cells: pd.DataFrame
    growth: SpendingGrowthResult
    benchmarks: pd.DataFrame
    plans: PartnershipPlans
    has_capitation: bool
    acos: pd.DataFrame
    attribution: object  # the Ibis monthly attribution, for the member-level costs


def compute(ctx: ReportContext[TcocOptions]) -> Spending:
    """PMPM cells from claims (one scan), the spending-growth chain, the ACO benchmarks and the
    Partnership Plans against their medical capitation (when the data has it).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2, Sec 5.3.2; Sec 4.4.4 (attributed member-months).
    """
    data, program = ctx.data, ctx.program
    cells = stages.spending_cells(ctx, ctx.options.truncation)
    dsti = data.to_pandas("dsti_payments") if data.has("dsti_payments") else None
    benchmarks = stages.aco_tcoc(ctx, ctx.options.truncation)
    return Spending(cells, spending_growth(cells, program, dsti), benchmarks, partnership_plans(benchmarks, program),
                    data.has("medical_capitation"), aco_directory(data.to_pandas("entities")),
                    stages.attribution(ctx))


def pmpm_by_group(cells: pd.DataFrame, growth: SpendingGrowthResult, program: Program) -> pd.DataFrame:
    """PMPM per eligibility group and year: ACO-eligible, ACO population, and trended from CY2017.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 (baseline, trended and raw PMPMs per eligibility group).
    """
    rules = program.require("spending")
    cells = cells[cells["eligibility_group"].isin(rules.group_codes)]
    eligible = population_totals(cells, ELIGIBLE, ["year", "eligibility_group"])
    aco = population_totals(cells, ACO, ["year", "eligibility_group"])
    out = eligible[["year", "eligibility_group", "member_months", "pmpm"]].rename(
        columns={"pmpm": "aco_eligible_pmpm"})
    out = out.merge(aco[["year", "eligibility_group", "member_months", "pmpm"]].rename(
        columns={"member_months": "aco_member_months", "pmpm": "aco_pmpm"}), on=["year", "eligibility_group"],
        how="left")
    out = out.merge(growth.trended[["year", "eligibility_group", "trended_pmpm"]], on=["year", "eligibility_group"],
                    how="left")
    base = growth.baseline.set_index("eligibility_group")["pmpm"]
    out.loc[out["year"] == growth.baseline_year, "trended_pmpm"] = out["eligibility_group"].map(base)
    out.insert(1, "group", out.pop("eligibility_group").map(rules.group_names))
    out["aco_member_months"] = out["aco_member_months"].fillna(0).astype("int64")
    return out


def pmpm_chart(published: pd.DataFrame) -> tuple[Figure, str]:
    """ACO-population PMPM per group and year (points) against the trended CY2017 PMPM (lines), and alt text."""
    from dsrip_lib.publishing.publisher import plot_values

    shown = plot_values(published)

    @charts.themed
    def draw() -> Figure:
        fig, ax = plt.subplots(figsize=(8, 4))
        for colour, (group, rows) in zip(charts.PALETTE * 2, shown.groupby("group", sort=False)):
            ax.plot(rows["year"], rows["trended_pmpm"], color=colour, lw=1.5, label=f"{group}, trended")
            ax.plot(rows["year"], rows["aco_pmpm"], "o", color=colour)
        ax.set_title("ACO population PMPM (points) against the trended CY2017 PMPM (lines)")
        ax.set_xlabel("Calendar year")
        ax.set_ylabel("PMPM ($)")
        ax.legend(fontsize=7, ncol=2)
        return fig

    last = shown["year"].max()
    final = shown[shown["year"] == last]
    alt = (f"Line chart per eligibility group of the trended CY2017 PMPM with the ACO population's PMPM as points, "
           f"{shown['year'].min()} to {last}; in {last}: " + "; ".join(
               f"{r.group} {r.aco_pmpm:,.0f} vs {r.trended_pmpm:,.0f} trended" for r in final.itertuples()
               if pd.notna(r.aco_pmpm)))
    return draw(), alt


def benchmarks_table(benchmarks: pd.DataFrame, acos: pd.DataFrame) -> pd.DataFrame:
    """Per ACO and budget period: benchmarks, performance, what it was compared with (its final
    benchmark, or a Partnership Plan's medical capitation), savings and TCOC component, with names."""
    cols = ["entity_id", "budget_period", "member_months", "preliminary_benchmark_pmpm", "final_benchmark_pmpm",
            "performance_pmpm", "comparison", "savings_pmpm", "savings_share", "savings_usd", "tcoc_component"]
    out = _named(benchmarks[cols], acos)
    out["comparison"] = out["comparison"].map(COMPARISONS)
    return out


def partnership_table(plans: PartnershipPlans, acos: pd.DataFrame) -> pd.DataFrame:
    """Per Partnership Plan and budget period: capitation, total medical expense, gain or loss, TCOC
    component and the risk corridor's State and plan shares.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.2, step 4 and Exhibit 39.
    """
    return _named(plans.plans, acos)


def corridor_table(plans: PartnershipPlans, acos: pd.DataFrame) -> pd.DataFrame:
    """Each plan's gain or loss split by risk-corridor band (ILLUSTRATIVE bands: the protocol refers
    to the corridors without publishing them)."""
    cols = ["entity_id", "budget_period", "band", "in_band_usd", "state_share", "state_usd", "plan_usd"]
    return _named(plans.bands[cols], acos)


def _named(rows: pd.DataFrame, acos: pd.DataFrame) -> pd.DataFrame:
    named = acos[["aco_id", "name"]].rename(columns={"aco_id": "entity_id"})
    return named.merge(rows, on="entity_id", how="right")


def component_chart(published: pd.DataFrame, budget_period: int) -> tuple[Figure, str]:
    """Savings as a share of the final benchmark per ACO in one budget period, with the loss corridor."""
    from dsrip_lib.publishing.publisher import plot_values

    rows = plot_values(published)
    rows = rows[rows["budget_period"] == budget_period]

    @charts.themed
    def draw() -> Figure:
        fig, ax = plt.subplots(figsize=(8, 3.6))
        colours = [charts.PALETTE[2] if s >= 0 else charts.PALETTE[5] for s in rows["savings_share"]]
        ax.bar(rows["entity_id"], rows["savings_share"], color=colours)
        ax.axhline(-0.05, color="k", lw=1, ls="--", label="-5%: TCOC component 0 below")
        ax.set_title(f"Savings (+) or losses (-) against the final TCOC benchmark, BP {budget_period}")
        ax.set_xlabel("ACO")
        ax.set_ylabel("Share of benchmark")
        ax.yaxis.set_major_formatter(charts.PERCENT)
        ax.tick_params(axis="x", labelrotation=90)
        ax.legend()
        return fig

    losers = rows[rows["tcoc_component"] == 0]["entity_id"].tolist()
    alt = (f"Bar chart of each ACO's savings share in BP {budget_period}; "
           f"{(rows['savings_share'] >= 0).sum()} of {len(rows)} ACOs saved; TCOC component 0: "
           f"{', '.join(losers) or 'none'}.")
    return draw(), alt


def settlement_period(ctx: ReportContext[TcocOptions], benchmarks: pd.DataFrame) -> int:
    """The budget period settled: the option, else the last one with benchmarks."""
    periods = sorted(benchmarks["budget_period"].unique())
    if not periods:
        raise ParameterError("no ACO budget period with member-months: nothing to settle")
    chosen = ctx.options.settlement_budget_period or int(periods[-1])
    if chosen not in periods:
        raise ParameterError(f"options.tcoc_benchmarks.settlement_budget_period: no ACO has member-months in "
                             f"budget period {chosen} (periods with data: {periods})")
    return chosen


def settlement_table(ctx: ReportContext[TcocOptions], spending: Spending, budget_period: int) -> pd.DataFrame:
    """Every ACO settled under MassHealth (TCOC component) and the shared-savings program, with random variation.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.2 and Exhibit 39; MQISSP primer (overview of financial
    model); 42 CFR 425.604 (minimum savings rate).
    """
    # each ACO against what MassHealth compares it with: its final benchmark, or a Partnership Plan's capitation
    rows = spending.benchmarks[spending.benchmarks["budget_period"] == budget_period]
    year = int(rows["year"].iloc[0])
    data = ctx.data
    members = aco_member_costs(stages.member_spending(ctx, ctx.options.truncation), data.table("enrollment"),
                               spending.attribution, ctx.program, year)
    variation = savings_variation(members, rows[["entity_id", "reference_pmpm"]].rename(
        columns={"reference_pmpm": "benchmark_pmpm"}), confidence=ctx.options.confidence).entities
    members_by_aco = variation.set_index("entity_id")["members"]
    entities = rows[["entity_id", "budget_period", "member_months"]].assign(
        benchmark_pmpm=rows["reference_pmpm"], actual_pmpm=rows["performance_pmpm"],
        attributed_members=rows["entity_id"].map(members_by_aco).astype("int64"),
        addon_payments_usd=0.0, entity_type=SETTLEMENT_ENTITY_TYPE)
    quality = settlement_quality(ctx, entities["entity_id"], budget_period)
    keep = ["entity_id", "se_pmpm", "ci_low_usd", "ci_high_usd", "pvalue"]
    out = compare_programs(entities, ctx.program, load_program(ctx.options.settlement_program), quality=quality,
                           variation=variation[keep])
    return _named(out, spending.acos)


def settlement_quality(ctx: ReportContext[TcocOptions], acos: pd.Series, budget_period: int) -> pd.Series:
    """Each settled ACO's quality score for the shared-savings quality gate: the option's fixed
    score, else its MassHealth Quality Score in ``budget_period`` (Sec 5.3.1, Exhibit 32).

    Raises
    ------
    ParameterError
        An ACO settled without a Quality Score in that budget period.
    """
    fixed = ctx.options.settlement_quality_score
    if fixed is not None:
        return pd.Series(fixed, index=acos.to_numpy())
    quality = stages.aco_quality(ctx, None, ctx.options.missing_domain).quality
    scores = quality[quality["budget_period"] == budget_period].set_index("entity_id")["quality_score"]
    missing = sorted(set(acos) - set(scores.index))
    if missing:
        raise ParameterError(f"no MassHealth Quality Score in budget period {budget_period} for {missing}: give "
                             "options.tcoc_benchmarks.settlement_quality_score to settle them with a fixed score")
    return scores.reindex(acos.to_numpy())


def methodology_notes(program: Program, options: TcocOptions, growth: SpendingGrowthResult,
                      spending: Spending | None = None) -> str:
    """Methodology notes written from the program definition, the run's options and (``spending``)
    whether the data has the Partnership Plans' medical capitation."""
    rules = program.require("spending")
    sg = program.require("state_accountability").spending_growth
    truncation = options.truncation or rules.truncation
    if truncation.method == "dollar_cap":
        capped = f"member-years capped at ${truncation.cap_usd:,.0f}"
    elif truncation.method == "percentile":
        capped = f"member-years capped at the {truncation.percentile:.1%} percentile of the year's member-years with spending"
    else:
        capped = "no truncation of high-cost members"
    excluded = "; ".join(rules.excluded_categories.values())
    groups = ", ".join(rules.eligibility_groups)
    notes = [
        f"**Included spending** (Sec 5.2.1.2): paid amounts by date of service, excluding: {excluded}. "
        f"Options: {capped}.",
        f"**Eligibility groups**: {groups}. Member-months of the ACO population are the attribution stage's "
        f"(Sec 4.4.4); a member's spending in a year is shared among the groups and ACOs the member was in by "
        f"months.",
        f"**Trend**: {sg.trend_rate:.1%} a year compounding from CY{growth.baseline_year}; the average trended "
        f"PMPM is weighted by the ACO population's member-month mix of each year.",
        "**Risk**: member-month-weighted average risk scores per group; the ACO population's divided by the "
        "ACO-eligible population's (normalised to 1.0).",
        "**ACO benchmarks** (Sec 5.3.2): CY2017 ACO-eligible PMPM per group, trended at the State's rate (the "
        "protocol leaves the ACO contracts' trend unstated), weighted by the ACO's mix known in advance "
        "(preliminary) or the budget period's actual mix and normalised risk (final).",
        _partnership_note(spending),
        *(f"*{note}*" for note in growth.notes),
    ]
    return "\n\n".join(notes)


def _partnership_note(spending: Spending | None) -> str:
    if spending is None or not spending.has_capitation:
        return ("**Partnership Plans** (Sec 5.3.2, step 4) are compared with the same benchmark as the other ACOs: "
                "the data has no `medical_capitation` table (D51).")
    n = int((spending.benchmarks["comparison"] == CAPITATION).sum())
    return (f"**Partnership Plans** (Sec 5.3.2, step 4): {n} plan-period(s) compare the plan's total medical "
            "expense (its members' included spending in the budget period) with its risk-adjusted medical "
            "capitation; the TCOC component is Exhibit 39's Partnership Plan formula. Each gain or loss is split "
            "between the State and the plan by risk-corridor band, as a share of capitation (the corridor table "
            "shows the bands and the State's share in each): ILLUSTRATIVE bands "
            "(`partnership_plan_risk_corridors`), the protocol refers to the corridors without publishing them.")
