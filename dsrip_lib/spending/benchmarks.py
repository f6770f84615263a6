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
  :func:`dsrip_lib.spending.tcoc_component.tcoc_components`, the one implementation;
* an Accountable Care Partnership Plan with a risk-adjusted medical capitation for the period
  (the contract's optional ``medical_capitation`` table) is compared with its capitation instead:
  its total medical expense (included spending of its members in the period) against the
  capitation, and :func:`partnership_plans` splits its medical gain or loss by risk-corridor band
  (:func:`dsrip_lib.spending.corridors.apply_corridors`). Without capitation every ACO is compared
  with the benchmark (D51).

References
----------
MassHealth DSRIP Protocol, Sec 5.3.2 (Preliminary and Final TCOC Benchmark, TCOC Performance,
step 4: Partnership Plans against risk-adjusted medical capitation, Exhibit 39); Sec 5.2.1.2
(baseline PMPM by eligibility group, trend, risk normalisation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dsrip_lib.inputs.frame_checks import reject_rows, require_columns, require_positive, require_unique
from dsrip_lib.program import Program
from dsrip_lib.spending.corridors import apply_corridors
from dsrip_lib.spending.growth import GROUP, budget_period_of_year
from dsrip_lib.spending.pmpm import ACO, ELIGIBLE, population_totals, spending_rules
from dsrip_lib.spending.tcoc_component import tcoc_components

# what each ACO's TCOC performance is compared with (Sec 5.3.2, steps 3 and 4)
BENCHMARK, CAPITATION = "final_benchmark", "medical_capitation"
KEY = ["entity_id", "budget_period"]
CAPITATION_TABLE = "medical_capitation"
CAPITATION_COLUMNS = (*KEY, "medical_capitation_usd")


def aco_benchmarks(cells: pd.DataFrame, program: Program, capitation: pd.DataFrame | None = None) -> pd.DataFrame:
    """Preliminary and final TCOC benchmark, performance, savings and TCOC component per ACO and period.

    Parameters
    ----------
    cells
        :func:`dsrip_lib.spending.pmpm.pmpm_cells`.
    program
        Supplies the eligibility groups, the baseline year, the trend rate (the State's, Sec
        5.2.1.2: the protocol leaves the ACO contracts' trend unstated), the calendar and the loss
        corridor of Exhibit 39.
    capitation
        Optional: the contract's ``medical_capitation`` (``entity_id, budget_period,
        medical_capitation_usd``), the risk-adjusted medical capitation of each Partnership Plan
        and period. A plan-period listed is compared with its capitation (Sec 5.3.2, step 4); the
        others, and every ACO when ``None``, with the final benchmark.

    Returns
    -------
    DataFrame
        One row per ACO and budget period with ACO member-months: ``entity_id``, ``budget_period``,
        ``year``, ``member_months``, ``preliminary_mix_year``, ``preliminary_benchmark_pmpm``,
        ``final_benchmark_pmpm``, ``performance_pmpm``, ``comparison`` (``"final_benchmark"`` or
        ``"medical_capitation"``), ``medical_capitation_usd`` (NaN for an ACO compared with its
        benchmark), ``medical_expense_usd`` (included spending in the period: performance x
        member-months), ``reference_pmpm`` / ``actual_pmpm`` (the final benchmark, or the
        capitation PMPM, and the performance, as :func:`tcoc_components` takes them),
        ``savings_pmpm``, ``savings_share`` (of the benchmark or capitation), ``savings_usd`` (for a
        plan: its medical gain, capitation - medical expense) and ``tcoc_component``. The
        Partnership-Plan formula of Exhibit 39 on totals equals the formula on PMPMs (the
        member-months cancel), so both comparisons go through the one implementation.

    Raises
    ------
    InputValidationError
        An ACO with member-months in a group without CY2017 ACO-eligible member-months, or with
        no risk score (its own or the ACO-eligible population's) in a group and year; a
        ``capitation`` with a missing column, a duplicated plan and period, an amount that is not
        positive, or a plan and period without ACO member-months.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.2 (steps 3-5) and Exhibit 39.
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
    out = acos.rename(columns={"aco_id": "entity_id", "spending": "medical_expense_usd"})
    out["budget_period"] = out["budget_period"].astype("int64")
    out = out.merge(_capitation(capitation, out), on=KEY, how="left")
    plan = out["medical_capitation_usd"].notna()
    out["comparison"] = np.where(plan, CAPITATION, BENCHMARK)
    capitation_pmpm = out["medical_capitation_usd"] / out["member_months"]
    out["reference_pmpm"] = out["final_benchmark_pmpm"].where(~plan, capitation_pmpm)
    out["actual_pmpm"] = out["performance_pmpm"]
    out = tcoc_components(out, program)
    out["savings_usd"] = out["savings_pmpm"] * out["member_months"]
    columns = ["entity_id", "budget_period", "year", "member_months", "preliminary_mix_year",
               "preliminary_benchmark_pmpm", "final_benchmark_pmpm", "performance_pmpm", "comparison",
               "medical_capitation_usd", "medical_expense_usd", "reference_pmpm", "actual_pmpm", "savings_pmpm",
               "savings_share", "savings_usd", "tcoc_component"]
    return out[columns].sort_values(KEY, ignore_index=True)


def _capitation(capitation: pd.DataFrame | None, acos: pd.DataFrame) -> pd.DataFrame:
    """The checked capitation rows, each of an ACO and period with member-months."""
    if capitation is None:
        return pd.DataFrame({"entity_id": pd.Series(dtype=acos["entity_id"].dtype),
                             "budget_period": pd.Series(dtype="int64"),
                             "medical_capitation_usd": pd.Series(dtype="float64")})
    require_columns(capitation, CAPITATION_TABLE, CAPITATION_COLUMNS)
    capitation = capitation[list(CAPITATION_COLUMNS)].astype({"budget_period": "int64"})
    require_unique(capitation, CAPITATION_TABLE, KEY)
    require_positive(capitation, CAPITATION_TABLE, "medical_capitation_usd", KEY)
    known = pd.MultiIndex.from_frame(capitation[KEY]).isin(pd.MultiIndex.from_frame(acos[KEY]))
    reject_rows(capitation, CAPITATION_TABLE, pd.Series(~known, index=capitation.index), "entity_id, budget_period",
                "a Partnership Plan and budget period with ACO member-months (its total medical expense)", KEY)
    return capitation.astype({"medical_capitation_usd": "float64"})


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


PLAN_COLUMNS = ["entity_id", "budget_period", "member_months", "medical_capitation_usd", "medical_expense_usd",
                "gain_usd", "gain_share", "tcoc_component", "state_usd", "plan_usd"]
BAND_COLUMNS = ["entity_id", "budget_period", "band", "from_share", "to_share", "in_band_usd", "state_share",
                "state_usd", "plan_usd"]


@dataclass(frozen=True)
class PartnershipPlans:
    """Partnership Plans compared with their risk-adjusted medical capitation, per plan and budget period.

    ``plans``: ``entity_id, budget_period, member_months, medical_capitation_usd,
    medical_expense_usd, gain_usd`` (capitation - medical expense, to the cent; negative for a
    medical loss), ``gain_share`` (of capitation), ``tcoc_component`` (Exhibit 39) and the risk
    corridor's ``state_usd`` / ``plan_usd`` (signed as the gain; they add up to it). ``bands``: the
    corridor split of each plan and period by band (:class:`dsrip_lib.spending.corridors.CorridorResult`).
    """

    plans: pd.DataFrame
    bands: pd.DataFrame

    def summary(self) -> str:
        p = self.plans
        if p.empty:
            return "Partnership Plans: none compared with a medical capitation"
        return (f"Partnership Plans: {p['entity_id'].nunique()} plan(s), {len(p)} plan-period(s) against medical "
                f"capitation; {int((p['gain_usd'] > 0).sum())} with medical gains, {int((p['gain_usd'] < 0).sum())} "
                f"with losses (net ${p['gain_usd'].sum():,.2f}: State ${p['state_usd'].sum():,.2f}, plans "
                f"${p['plan_usd'].sum():,.2f}); TCOC component 0 in {int((p['tcoc_component'] == 0).sum())}")


def partnership_plans(benchmarks: pd.DataFrame, program: Program) -> PartnershipPlans:
    """The Partnership Plans of :func:`aco_benchmarks` compared with capitation, with their risk-corridor split.

    Parameters
    ----------
    benchmarks
        :func:`aco_benchmarks` run with a ``capitation`` frame; its ``"medical_capitation"`` rows
        are the plans (none without capitation: empty tables).
    program
        Supplies ``partnership_plan_risk_corridors`` (ILLUSTRATIVE bands: the protocol refers to
        the corridors without publishing them).

    Returns
    -------
    PartnershipPlans
        One row per plan and budget period, and its split by band.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.2, step 4 (medical gains or losses against risk-adjusted
    medical capitation, aligned with the State's risk corridors) and Exhibit 39.
    """
    rows = benchmarks[benchmarks["comparison"] == CAPITATION]
    plans, bands = [], []
    for period, group in rows.groupby("budget_period", sort=True):
        split = apply_corridors(group[["entity_id", "medical_capitation_usd", "medical_expense_usd"]], program)
        plans.append(split.plans.assign(budget_period=period).merge(
            group[["entity_id", "member_months", "tcoc_component"]], on="entity_id"))
        bands.append(split.bands.assign(budget_period=period))
    if not plans:
        return PartnershipPlans(pd.DataFrame(columns=PLAN_COLUMNS), pd.DataFrame(columns=BAND_COLUMNS))
    return PartnershipPlans(pd.concat(plans, ignore_index=True)[PLAN_COLUMNS].sort_values(KEY, ignore_index=True),
                            pd.concat(bands, ignore_index=True)[BAND_COLUMNS])
