"""ACO TCOC benchmarks and performance, savings or losses, and the TCOC component (entity-level pandas).

Per ACO and budget period (a calendar year):

* preliminary benchmark: the CY2017 ACO-eligible PMPM of each eligibility group, trended, weighted
  by the ACO's member-month mix known in advance (its previous year's; its own year's when it
  had no members the year before);
* final benchmark: the same trended PMPMs re-weighted to the budget period's actual mix and
  multiplied by the ACO's risk in each group, normalised to the ACO-eligible population's 1.0;
* TCOC performance: the ACO's PMPM in the budget period (included spending, Sec 5.2.1.2);
* savings (benchmark - performance, negative for losses) in $ PMPM, in $ and as a share of the
  final benchmark, and the TCOC component (Exhibit 39) by
  :func:`dsrip_lib.spending.tcoc_component.tcoc_components`, the one implementation.

References
----------
MassHealth DSRIP Protocol, Sec 5.3.2 (Preliminary and Final TCOC Benchmark, TCOC Performance,
Exhibit 39); Sec 5.2.1.2 (baseline PMPM by eligibility group, trend, risk normalisation).
"""

from __future__ import annotations

import pandas as pd

from dsrip_lib.inputs.frame_checks import reject_rows
from dsrip_lib.program import Program
from dsrip_lib.spending.growth import GROUP, budget_period_of_year
from dsrip_lib.spending.pmpm import ACO, ELIGIBLE, population_totals, spending_rules
from dsrip_lib.spending.tcoc_component import tcoc_components


def aco_benchmarks(cells: pd.DataFrame, program: Program) -> pd.DataFrame:
    """Preliminary and final TCOC benchmark, performance, savings and TCOC component per ACO and period.

    Parameters
    ----------
    cells
        :func:`dsrip_lib.spending.pmpm.pmpm_cells`.
    program
        Supplies the eligibility groups, the baseline year, the trend rate (the State's, Sec
        5.2.1.2: the protocol leaves the ACO contracts' trend unstated), the calendar and the loss
        corridor of Exhibit 39.

    Returns
    -------
    DataFrame
        One row per ACO and budget period with ACO member-months: ``entity_id``, ``budget_period``,
        ``year``, ``member_months``, ``preliminary_mix_year``, ``preliminary_benchmark_pmpm``,
        ``final_benchmark_pmpm``, ``performance_pmpm``, ``reference_pmpm`` / ``actual_pmpm`` (the
        final benchmark and performance as :func:`tcoc_components` takes them), ``savings_pmpm``,
        ``savings_share``, ``savings_usd`` and ``tcoc_component``.

    Raises
    ------
    InputValidationError
        An ACO with member-months in a group without CY2017 ACO-eligible member-months, or with
        no risk score (its own or the ACO-eligible population's) in a group and year.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.2 and Exhibit 39.
    """
    rules = spending_rules(program)
    trend = program.require("state_accountability").spending_growth.trend_rate
    base_year = program.calendar.baseline_year
    cells = cells[cells[GROUP].isin(rules.group_codes)]
    eligible = population_totals(cells, ELIGIBLE, ["year", GROUP])
    base = eligible.loc[eligible["year"] == base_year, [GROUP, "pmpm"]].rename(columns={"pmpm": "base_pmpm"})
    eligible_risk = eligible[["year", GROUP, "risk"]].rename(columns={"risk": "eligible_risk"})

    per_group = population_totals(cells, ACO, ["aco_id", "year", GROUP])
    per_group["budget_period"] = [budget_period_of_year(program.calendar, y) for y in per_group["year"]]
    per_group = per_group[per_group["budget_period"].notna()]
    per_group = per_group.merge(base, on=GROUP, how="left").merge(eligible_risk, on=["year", GROUP], how="left")
    reject_rows(per_group, "enrollment", per_group["base_pmpm"].isna(), GROUP,
                f"an eligibility group with ACO member-months has ACO-eligible member-months in CY{base_year}",
                ["aco_id", "year", GROUP])
    reject_rows(per_group, "risk_scores", per_group["risk"].isna() | per_group["eligible_risk"].isna(),
                "risk_score", "an ACO and the ACO-eligible population have risk scores in each group and year "
                "with member-months", ["aco_id", "year", GROUP, "risk", "eligible_risk"])
    per_group["trended_pmpm"] = per_group["base_pmpm"] * (1 + trend) ** (per_group["year"] - base_year)
    per_group["share"] = per_group["member_months"] / per_group.groupby(["aco_id", "year"])[
        "member_months"].transform("sum")
    per_group["normalised_risk"] = per_group["risk"] / per_group["eligible_risk"]
    per_group["final_part"] = per_group["trended_pmpm"] * per_group["normalised_risk"] * per_group["share"]

    acos = per_group.groupby(["aco_id", "year"], as_index=False).agg(
        budget_period=("budget_period", "first"), member_months=("member_months", "sum"),
        spending=("spending", "sum"), final_benchmark_pmpm=("final_part", "sum"))
    acos["performance_pmpm"] = acos["spending"] / acos["member_months"]
    acos = acos.merge(_preliminary(per_group, base, trend, base_year), on=["aco_id", "year"])
    out = acos.rename(columns={"aco_id": "entity_id"}).assign(
        reference_pmpm=acos["final_benchmark_pmpm"], actual_pmpm=acos["performance_pmpm"])
    out["budget_period"] = out["budget_period"].astype("int64")
    out = tcoc_components(out, program)
    out["savings_usd"] = out["savings_pmpm"] * out["member_months"]
    columns = ["entity_id", "budget_period", "year", "member_months", "preliminary_mix_year",
               "preliminary_benchmark_pmpm", "final_benchmark_pmpm", "performance_pmpm", "reference_pmpm",
               "actual_pmpm", "savings_pmpm", "savings_share", "savings_usd", "tcoc_component"]
    return out[columns].sort_values(["entity_id", "budget_period"], ignore_index=True)


def _preliminary(per_group: pd.DataFrame, base: pd.DataFrame, trend: float, base_year: int) -> pd.DataFrame:
    """Preliminary benchmark: the year's trended PMPMs weighted by the ACO's mix of the year before
    (or of the year itself when the ACO had no member-months then)."""
    mix = per_group[["aco_id", "year", GROUP, "share"]]
    own_years = mix[["aco_id", "year"]].drop_duplicates()
    had_prior = own_years.merge(own_years.assign(year=own_years["year"] + 1), on=["aco_id", "year"])
    had_prior["preliminary_mix_year"] = had_prior["year"] - 1
    mix_year = own_years.merge(had_prior, on=["aco_id", "year"], how="left")
    mix_year["preliminary_mix_year"] = mix_year["preliminary_mix_year"].fillna(mix_year["year"]).astype("int64")
    weights = mix_year.merge(mix.rename(columns={"year": "preliminary_mix_year"}),
                             on=["aco_id", "preliminary_mix_year"])
    weights = weights.merge(base, on=GROUP)
    weights["part"] = weights["base_pmpm"] * (1 + trend) ** (weights["year"] - base_year) * weights["share"]
    out = weights.groupby(["aco_id", "year", "preliminary_mix_year"], as_index=False)["part"].sum()
    return out.rename(columns={"part": "preliminary_benchmark_pmpm"})
