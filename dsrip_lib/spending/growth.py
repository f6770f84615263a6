"""State accountability domain 2: reduction in State spending growth, step by step (entity-level pandas).

The chain of Sec 5.2.1.2, each step a table of :class:`SpendingGrowthResult`:

1. baseline CY2017 PMPM per eligibility group (ACO-eligible population);
2. trended PMPM: the baseline grown by the trend rate a year, compounding;
3. average trended PMPM, weighted by the ACO population's member-month mix of the year;
4. raw ACO-population PMPM per group;
5. average risk scores per group, the ACO population's normalised to the ACO-eligible 1.0;
6. risk-adjusted PMPM (raw / normalised risk) and its mix-weighted average;
7. DSTI Glide Path savings PMPM subtracted, giving the Actual PMPM;
8. percent reduction = (average trended - actual) / average trended;
9. gap-to-goal score against the Exhibit 27 target.

References
----------
MassHealth DSRIP Protocol, Sec 5.2.1.2 and Exhibit 27; Appendix C, step 2.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from dsrip_lib.errors import InputValidationError
from dsrip_lib.inputs.frame_checks import reject_rows, require_columns
from dsrip_lib.program import Calendar, Program
from dsrip_lib.spending.gap_to_goal import gap_to_goal
from dsrip_lib.spending.pmpm import ACO, ELIGIBLE, population_totals, spending_rules

GROUP = "eligibility_group"


@dataclass(frozen=True)
class SpendingGrowthResult:
    """Every table of the spending-growth chain (one step each) and the per-year result.

    ``summary_table`` holds one row per measurement year: ``year``, ``budget_period`` (None when
    the year is no ACO budget period), ``average_trended_pmpm``, ``risk_adjusted_pmpm``,
    ``dsti_savings_pmpm``, ``actual_pmpm``, ``percent_reduction``, ``target`` and ``score``
    (None where Exhibit 27 has no target).
    """

    baseline_year: int
    baseline: pd.DataFrame
    trended: pd.DataFrame
    average_trended: pd.DataFrame
    raw: pd.DataFrame
    risk: pd.DataFrame
    risk_adjusted: pd.DataFrame
    dsti: pd.DataFrame
    summary_table: pd.DataFrame
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        """The per-year result as plain text (computed values, for the analyst's screen)."""
        head = f"Reduction in State spending growth (Sec 5.2.1.2, Exhibit 27), baseline CY{self.baseline_year}"
        lines = [head, "=" * len(head),
                 f"{'year':>4} {'BP':>3} {'trended':>9} {'risk-adj':>9} {'DSTI':>7} {'actual':>9} "
                 f"{'reduction':>9} {'target':>7} {'score':>6}"]
        for r in self.summary_table.itertuples():
            bp = "-" if pd.isna(r.budget_period) else int(r.budget_period)
            target = "NA" if pd.isna(r.target) else f"{r.target:.2%}"
            score = "n/a" if pd.isna(r.score) else f"{r.score:.1%}"
            lines.append(f"{r.year:>4} {bp:>3} {r.average_trended_pmpm:>9.2f} {r.risk_adjusted_pmpm:>9.2f} "
                         f"{r.dsti_savings_pmpm:>7.2f} {r.actual_pmpm:>9.2f} {r.percent_reduction:>9.2%} "
                         f"{target:>7} {score:>6}")
        return "\n".join([*lines, *self.notes])


def budget_period_of_year(calendar: Calendar, year: int) -> int | None:
    """The ACO budget period that is calendar year ``year`` exactly, or None (the protocol measures by CY).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 3.1.1 (ACO budget periods BP 1-5 = CY2018-CY2022), Sec 5.2.1.2.
    """
    for period in calendar.budget_periods("aco"):
        if period.start == dt.date(year, 1, 1) and period.end == dt.date(year, 12, 31):
            return period.number
    return None


def dsti_by_calendar_year(dsti_payments: pd.DataFrame, calendar: Calendar, years: list[int]) -> pd.DataFrame:
    """DSTI payments per calendar year: each SFY's amount spread evenly over its months.

    Returns ``year``, ``dsti_usd`` and ``missing_sfys`` (the SFYs the year overlaps that the table
    has no row for, "" when none). An SFY after the demonstration's last is no gap: the DSTI
    Glide Path ends with the demonstration (Exhibit 11: BP 5 = half of SFY22).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 (DSTI payments made during CY2017 and during the
    measurement year), Sec 4.4.3 (DSTI Glide Path by SFY, Exhibit 10; months shared as in Exhibit 11).
    """
    require_columns(dsti_payments, "dsti_payments", ("hospital", "sfy", "amount"))
    amounts = pd.to_numeric(dsti_payments["amount"], errors="coerce")
    reject_rows(dsti_payments, "dsti_payments", amounts.isna() | (amounts < 0), "amount",
                "a finite amount >= 0", ["hospital", "sfy", "amount"])
    by_sfy = amounts.groupby(dsti_payments["sfy"].astype("int64")).sum().to_dict()
    last_sfy = calendar.sfy_of(calendar.demonstration.end)
    rows = []
    for year in years:
        total, missing = 0.0, set()
        for month in range(1, 13):
            sfy = calendar.sfy_of(dt.date(year, month, 1))
            if sfy in by_sfy:
                total += by_sfy[sfy] / len(calendar.sfy(sfy).months)
            elif sfy <= last_sfy:
                missing.add(sfy)
        rows.append((year, total, ", ".join(f"SFY{s}" for s in sorted(missing))))
    return pd.DataFrame(rows, columns=["year", "dsti_usd", "missing_sfys"])


def spending_growth(cells: pd.DataFrame, program: Program,
                    dsti_payments: pd.DataFrame | None = None) -> SpendingGrowthResult:
    """The reduction in State spending growth of every measurement year, with each step's table.

    Parameters
    ----------
    cells
        :func:`dsrip_lib.spending.pmpm.pmpm_cells` (member-months, spending and risk sums per
        year, eligibility group and ACO).
    program
        Supplies the trend rate, Exhibit 27 targets, the gap-to-goal floor share, the
        eligibility groups, whether DSTI Glide Path savings apply, and the calendar.
    dsti_payments
        The contract's ``dsti_payments`` (``hospital``, ``sfy``, ``amount``), or None.

    Raises
    ------
    InputValidationError
        No ACO-eligible member-months in the baseline year in a group the ACO population has
        months in; no risk score for a population in a group and year with member-months.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 and Exhibit 27; Appendix C, step 2.
    """
    rules = spending_rules(program)
    growth = program.require("state_accountability")
    trend, base_year = growth.spending_growth.trend_rate, program.calendar.baseline_year
    codes, names = rules.group_codes, rules.group_names
    cells = cells[cells[GROUP].isin(codes)]

    eligible = population_totals(cells, ELIGIBLE, ["year", GROUP])
    baseline = eligible[eligible["year"] == base_year].drop(columns="year")
    if baseline.empty:
        raise InputValidationError(f"no ACO-eligible member-months in the baseline year CY{base_year}: the "
                                   f"baseline PMPM (Sec 5.2.1.2) cannot be computed")
    baseline["eligible_share"] = baseline["member_months"] / baseline["member_months"].sum()
    baseline.insert(1, "name", baseline[GROUP].map(names))

    aco = population_totals(cells, ACO, ["year", GROUP])
    aco = aco[aco["year"] > base_year]
    missing = aco[~aco[GROUP].isin(baseline[GROUP])]
    reject_rows(missing.assign(name=missing[GROUP].map(names)), "enrollment", pd.Series(True, index=missing.index),
                GROUP, f"an eligibility group with ACO member-months has ACO-eligible member-months in CY{base_year}",
                ["year", GROUP, "member_months"])

    by_group = aco[["year", GROUP, "member_months", "spending", "pmpm", "risk"]].rename(
        columns={"member_months": "aco_member_months", "spending": "aco_spending", "pmpm": "raw_pmpm",
                 "risk": "aco_risk"})
    by_group = by_group.merge(baseline[[GROUP, "pmpm"]].rename(columns={"pmpm": "base_pmpm"}), on=GROUP)
    by_group = by_group.merge(eligible[["year", GROUP, "risk"]].rename(columns={"risk": "eligible_risk"}),
                              on=["year", GROUP], how="left")
    unscored = by_group["aco_risk"].isna() | by_group["eligible_risk"].isna()
    reject_rows(by_group, "risk_scores", unscored, "risk_score",
                "each population has risk scores in every group and year it has member-months",
                ["year", GROUP, "aco_risk", "eligible_risk"])
    by_group.insert(2, "name", by_group[GROUP].map(names))
    by_group["aco_share"] = by_group["aco_member_months"] / by_group.groupby("year")["aco_member_months"].transform("sum")
    by_group["trend_factor"] = (1 + trend) ** (by_group["year"] - base_year)
    by_group["trended_pmpm"] = by_group["base_pmpm"] * by_group["trend_factor"]
    by_group["normalised_risk"] = by_group["aco_risk"] / by_group["eligible_risk"]
    by_group["risk_adjusted_pmpm"] = by_group["raw_pmpm"] / by_group["normalised_risk"]
    by_group["weighted_trended"] = by_group["trended_pmpm"] * by_group["aco_share"]
    by_group["weighted_risk_adjusted"] = by_group["risk_adjusted_pmpm"] * by_group["aco_share"]
    by_group = by_group.sort_values(["year", GROUP], key=_group_order(codes), ignore_index=True)

    per_year = by_group.groupby("year", as_index=False).agg(
        aco_member_months=("aco_member_months", "sum"), average_trended_pmpm=("weighted_trended", "sum"),
        risk_adjusted_pmpm=("weighted_risk_adjusted", "sum"))
    dsti, notes = _dsti_savings(per_year, dsti_payments, program, base_year, rules.dsti_glide_path_savings)
    summary = per_year.merge(dsti[["year", "dsti_savings_pmpm"]], on="year")
    summary["actual_pmpm"] = summary["risk_adjusted_pmpm"] - summary["dsti_savings_pmpm"]
    summary["percent_reduction"] = (summary["average_trended_pmpm"] - summary["actual_pmpm"]) / summary[
        "average_trended_pmpm"]
    summary.insert(1, "budget_period", [budget_period_of_year(program.calendar, y) for y in summary["year"]])
    targets = growth.spending_growth.reduction_targets
    stated = [None if bp is None else targets.get(bp) for bp in summary["budget_period"]]
    summary["target"] = pd.array(stated, dtype="Float64")
    summary["score"] = pd.array([None if t is None else gap_to_goal(float(r), t, growth.gap_to_goal_floor_share)
                                 for r, t in zip(summary["percent_reduction"], stated)], dtype="Float64")
    summary["budget_period"] = summary["budget_period"].astype("Int64")

    return SpendingGrowthResult(
        baseline_year=base_year,
        baseline=baseline[[GROUP, "name", "member_months", "spending", "pmpm", "eligible_share"]],
        trended=by_group[["year", GROUP, "name", "base_pmpm", "trend_factor", "trended_pmpm"]],
        average_trended=by_group[["year", GROUP, "name", "aco_member_months", "aco_share", "trended_pmpm",
                                  "weighted_trended"]],
        raw=by_group[["year", GROUP, "name", "aco_member_months", "aco_spending", "raw_pmpm"]],
        risk=by_group[["year", GROUP, "name", "eligible_risk", "aco_risk", "normalised_risk"]],
        risk_adjusted=by_group[["year", GROUP, "name", "raw_pmpm", "normalised_risk", "risk_adjusted_pmpm",
                                "aco_share", "weighted_risk_adjusted"]],
        dsti=dsti,
        summary_table=summary[["year", "budget_period", "aco_member_months", "average_trended_pmpm",
                               "risk_adjusted_pmpm", "dsti_savings_pmpm", "actual_pmpm", "percent_reduction",
                               "target", "score"]],
        notes=tuple(notes),
    )


def _dsti_savings(per_year: pd.DataFrame, dsti_payments: pd.DataFrame | None, program: Program, base_year: int,
                  applies: bool) -> tuple[pd.DataFrame, list[str]]:
    """Step 7: (baseline-year DSTI payments - the year's) / the year's ACO member-months.

    Savings are subtracted only when the program says so and the payments of the baseline year
    and of every measurement year are known; otherwise they are 0 and a note says why.
    """
    out = per_year[["year", "aco_member_months"]].copy()
    if not applies:
        note = f"Program {program.name!r} subtracts no DSTI Glide Path savings."
    elif dsti_payments is None:
        note = "DSTI Glide Path savings not subtracted: no dsti_payments table."
    else:
        by_year = dsti_by_calendar_year(dsti_payments, program.calendar, [base_year, *out["year"]]).set_index("year")
        out["baseline_dsti_usd"] = float(by_year.loc[base_year, "dsti_usd"])
        out["year_dsti_usd"] = out["year"].map(by_year["dsti_usd"])
        out["missing_sfys"] = out["year"].map(by_year["missing_sfys"])
        gaps = {y: m for y, m in by_year["missing_sfys"].items() if m}
        if not gaps:
            out["savings_usd"] = out["baseline_dsti_usd"] - out["year_dsti_usd"]
            out["dsti_savings_pmpm"] = out["savings_usd"] / out["aco_member_months"]
            return out, []
        note = ("DSTI Glide Path savings not subtracted: dsti_payments has no rows for "
                + "; ".join(f"{m} (needed for CY{y})" for y, m in gaps.items()) + ".")
    return out.assign(savings_usd=0.0, dsti_savings_pmpm=0.0), [note]


def _group_order(codes: list[str]):
    """A sort key putting eligibility groups in the program's order (other columns as they are)."""
    rank = {code: i for i, code in enumerate(codes)}
    return lambda col: col.map(rank) if col.name == GROUP else col
