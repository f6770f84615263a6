"""ACO TCOC benchmarks (Sec 5.3.2): preliminary and final benchmark, performance, savings, TCOC component."""

from __future__ import annotations

import pandas as pd
import pytest

from dsrip_lib.errors import InputValidationError
from dsrip_lib.spending.benchmarks import aco_benchmarks
from tests.spending.test_growth import COLUMNS, cell


def cells():
    """Base PMPM 400 (Base Families) and 600 (New Adult) in CY2017; ACO A1 in 2018 (BP 1) and 2019 (BP 2).

    2018: A1 is all Base Families, risk 1.1 against the ACO-eligible 1.0: final benchmark
    400 x 1.044 x 1.1 = 459.36; performance 440: savings 19.36 PMPM (4.21%), component 100%.
    2019: mix 50/50, risks 1.0 / 1.2 against 1.0 / 1.2 (normalised 1.0): final benchmark
    (400 + 600) / 2 x 1.044^2 = 544.97; preliminary (2018's all-Base-Families mix) 400 x 1.044^2 =
    435.97; performance 561.32 (3% losses): component (1.05 x 544.97 - 561.32) / (0.05 x 544.97) = 40%.
    """
    bench19 = 500 * 1.044 ** 2
    return pd.DataFrame([
        cell(2017, "base_families", eligible=(1000, 400_000.0, 1000.0)),
        cell(2017, "new_adult", eligible=(1000, 600_000.0, 1200.0)),
        cell(2018, "base_families", eligible=(1000, 1.0, 1000.0)),
        cell(2018, "base_families", "A1", in_aco=(100, 44_000.0, 110.0)),
        cell(2019, "base_families", eligible=(1000, 1.0, 1000.0)),
        cell(2019, "new_adult", eligible=(1000, 1.0, 1200.0)),
        cell(2019, "base_families", "A1", in_aco=(100, bench19 * 1.03 * 100, 100.0)),
        cell(2019, "new_adult", "A1", in_aco=(100, bench19 * 1.03 * 100, 120.0)),
    ], columns=COLUMNS)


def test_benchmarks_performance_savings_and_component_by_hand(program):
    out = aco_benchmarks(cells(), program).set_index("budget_period")
    bp1, bp2 = out.loc[1], out.loc[2]
    assert bp1.final_benchmark_pmpm == pytest.approx(459.36)
    assert bp1.preliminary_benchmark_pmpm == pytest.approx(400 * 1.044)  # its own year's mix: no year before
    assert (bp1.performance_pmpm, bp1.member_months) == (440.0, 100)
    assert bp1.savings_pmpm == pytest.approx(19.36) and bp1.savings_usd == pytest.approx(1936.0)
    assert bp1.savings_share == pytest.approx(19.36 / 459.36) and bp1.tcoc_component == 1.0
    assert bp2.preliminary_mix_year == 2018
    assert round(bp2.preliminary_benchmark_pmpm, 2) == 435.97
    assert round(bp2.final_benchmark_pmpm, 2) == 544.97
    assert bp2.savings_share == pytest.approx(-0.03)
    assert bp2.tcoc_component == pytest.approx(0.4)


def test_scaling_every_amount_leaves_savings_shares_and_components_unchanged(program):
    base = aco_benchmarks(cells(), program)
    c = cells()
    scaled = aco_benchmarks(c.assign(aco_eligible_spending=c.aco_eligible_spending * 2.5,
                                     aco_spending=c.aco_spending * 2.5), program)
    assert scaled["savings_share"].tolist() == pytest.approx(base["savings_share"].tolist())
    assert scaled["tcoc_component"].tolist() == pytest.approx(base["tcoc_component"].tolist())


def test_a_group_the_aco_has_no_members_in_carries_no_weight(program):
    c = cells()
    extra = pd.DataFrame([cell(2017, "r2_disabled", eligible=(100, 500_000.0, 300.0)),
                          cell(2018, "r2_disabled", eligible=(100, 1.0, 300.0))], columns=COLUMNS)
    pd.testing.assert_frame_equal(aco_benchmarks(pd.concat([c, extra], ignore_index=True), program),
                                  aco_benchmarks(c, program))


def test_an_aco_group_without_risk_scores_is_refused(program):
    c = cells()
    c.loc[c.aco_id == "A1", "aco_scored_months"] = 0
    with pytest.raises(InputValidationError, match="risk_scores"):
        aco_benchmarks(c, program)


# -- Partnership Plans against risk-adjusted medical capitation (Sec 5.3.2, step 4) --------------
# Each plan: 100 member-months in 2018 (BP 1), capitation $50,000, and its total medical expense.
# Illustrative corridors (masshealth_dsrip.yaml): the plan keeps all within 3% of capitation
# ($1,500), the State takes or bears half between 3% and 5% ($1,500-$2,500), 95% beyond.
PLANS = {
    # plan: (medical expense, gain, TCOC component, State's share, plan's share) by hand
    "P_GAIN": (48_000.0, 2_000.0, 1.0, 250.0, 1_750.0),             # 4% gain: 1,500 kept, 500 halved
    "P_GAIN_BEYOND": (44_000.0, 6_000.0, 1.0, 3_825.0, 2_175.0),    # 12%: 0 + 500 + 0.95 x 3,500
    "P_LOSS_SMALL": (51_000.0, -1_000.0, 0.6, 0.0, -1_000.0),       # 2% loss: (52,500 - 51,000) / 2,500
    "P_LOSS_BAND2": (52_000.0, -2_000.0, 0.2, -250.0, -1_750.0),    # 4% loss: (52,500 - 52,000) / 2,500
    "P_LOSS_EDGE": (52_500.0, -2_500.0, 0.0, -500.0, -2_000.0),     # exactly 5%: component exactly 0
    "P_LOSS_BEYOND": (55_000.0, -5_000.0, 0.0, -2_875.0, -2_125.0),  # 10%: 0 + 500 + 0.95 x 2,500
}
CAPITATION = 50_000.0


def plan_cells():
    """:func:`cells` plus the plans in 2018, in Base Families at the ACO-eligible risk."""
    rows = [cell(2018, "base_families", plan, in_aco=(100, expense, 100.0))
            for plan, (expense, *_) in PLANS.items()]
    return pd.concat([cells(), pd.DataFrame(rows, columns=COLUMNS)], ignore_index=True)


def capitation(plans=tuple(PLANS), amount=CAPITATION, period=1):
    return pd.DataFrame({"entity_id": list(plans), "budget_period": period, "medical_capitation_usd": amount})


def test_partnership_plans_by_hand(program):
    from dsrip_lib.spending.benchmarks import partnership_plans
    from dsrip_lib.spending.tcoc_component import partnership_tcoc_component

    bench = aco_benchmarks(plan_cells(), program, capitation())
    plans = bench[bench.comparison == "medical_capitation"].set_index("entity_id")
    assert sorted(plans.index) == sorted(PLANS)
    result = partnership_plans(bench, program)
    table = result.plans.set_index("entity_id")
    for plan, (expense, gain, component, state, kept) in PLANS.items():
        row = table.loc[plan]
        assert (row.budget_period, row.member_months, row.medical_capitation_usd) == (1, 100, CAPITATION)
        assert row.medical_expense_usd == expense and row.gain_usd == gain, plan
        assert row.gain_share == pytest.approx(gain / CAPITATION), plan
        assert row.tcoc_component == pytest.approx(component, abs=1e-12), plan
        assert row.tcoc_component == pytest.approx(partnership_tcoc_component(CAPITATION, expense, 0.05), abs=1e-12)
        assert (row.state_usd, row.plan_usd) == (state, kept), plan
        # the benchmark table carries the same comparison, in PMPM
        assert plans.loc[plan, "reference_pmpm"] == CAPITATION / 100
        assert plans.loc[plan, "savings_usd"] == pytest.approx(gain)
        assert plans.loc[plan, "savings_share"] == pytest.approx(gain / CAPITATION)
    assert table.loc["P_LOSS_EDGE", "tcoc_component"] == 0.0
    bands = result.bands[result.bands.entity_id == "P_LOSS_BEYOND"]
    assert bands["in_band_usd"].tolist() == [-1_500.0, -1_000.0, -2_500.0]
    assert bands["state_usd"].tolist() == [0.0, -500.0, -2_375.0]
    assert (result.bands.groupby("entity_id")["in_band_usd"].sum() == table["gain_usd"]).all()
    assert "6 plan-period(s)" in result.summary() and "TCOC component 0 in 2" in result.summary()


def test_capitation_leaves_the_other_acos_and_periods_on_their_benchmark(program):
    without = aco_benchmarks(plan_cells(), program)
    assert (without["comparison"] == "final_benchmark").all() and without["medical_capitation_usd"].isna().all()
    with_capitation = aco_benchmarks(plan_cells(), program, capitation(["P_GAIN"]))
    changed = (with_capitation.entity_id == "P_GAIN") & (with_capitation.budget_period == 1)
    pd.testing.assert_frame_equal(with_capitation[~changed].drop(columns="comparison"),
                                  without[~changed].drop(columns="comparison"))
    assert (with_capitation.loc[~changed, "comparison"] == "final_benchmark").all()
    # a plan's result follows its capitation, not the benchmark: the same expense against a benchmark
    # of 400 x 1.044 = 417.60 PMPM is a 14.9% loss (component 0), against $500 PMPM a 4% gain
    assert without.set_index("entity_id").loc["P_GAIN", "tcoc_component"] == 0.0
    assert with_capitation.set_index("entity_id").loc["P_GAIN", "tcoc_component"] == 1.0


def test_without_capitation_there_are_no_partnership_plans(program):
    from dsrip_lib.spending.benchmarks import PLAN_COLUMNS, partnership_plans

    result = partnership_plans(aco_benchmarks(plan_cells(), program), program)
    assert result.plans.empty and result.bands.empty and list(result.plans.columns) == PLAN_COLUMNS
    assert "none" in result.summary()


def test_plans_settle_by_period_in_any_row_order(program):
    """The same plan in two periods is two settlements; reordering the capitation rows changes nothing."""
    from dsrip_lib.spending.benchmarks import partnership_plans

    c = pd.concat([plan_cells(), pd.DataFrame([cell(2019, "base_families", "P_GAIN", in_aco=(100, 60_000.0, 100.0))],
                                              columns=COLUMNS)], ignore_index=True)
    cap = pd.concat([capitation(), capitation(["P_GAIN"], 50_000.0, 2)], ignore_index=True)
    first = partnership_plans(aco_benchmarks(c, program, cap), program)
    second = partnership_plans(aco_benchmarks(c.iloc[::-1], program, cap.iloc[::-1]), program)
    pd.testing.assert_frame_equal(first.plans, second.plans)
    bp2 = first.plans[first.plans.budget_period == 2].iloc[0]
    # a 20% loss: 0 x 1,500 + 0.5 x 1,000 + 0.95 x 7,500 borne by the State
    assert (bp2.entity_id, bp2.gain_usd, bp2.tcoc_component, bp2.state_usd) == ("P_GAIN", -10_000.0, 0.0, -7_625.0)


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c.drop(columns="medical_capitation_usd"), "missing"),
    (lambda c: pd.concat([c, c.iloc[[0]]]), "one row per key"),
    (lambda c: c.assign(medical_capitation_usd=[0.0] + [CAPITATION] * (len(c) - 1)), "a finite number > 0"),
    (lambda c: c.assign(medical_capitation_usd=[-1.0] + [CAPITATION] * (len(c) - 1)), "a finite number > 0"),
    (lambda c: c.assign(budget_period=3), "with ACO member-months"),
    (lambda c: c.assign(entity_id=["NOBODY", *c.entity_id[1:]]), "with ACO member-months"),
])
def test_a_bad_capitation_frame_is_refused(program, change, message):
    with pytest.raises(InputValidationError, match="medical_capitation") as info:
        aco_benchmarks(plan_cells(), program, change(capitation()))
    assert message in str(info.value)


# -- planted effects of the synthetic generator (truth.json) -------------------------------------
@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The small synthetic state (30,000 members, seed 2017): its truth, PMPM cells, DSTI payments and
    Partnership Plans' medical capitation."""
    import json

    from dsrip_lib.attribution.rules import monthly_attribution
    from dsrip_lib.inputs.dataset import open_dataset
    from dsrip_lib.program import load_program
    from dsrip_lib.spending.pmpm import pmpm_cells
    from dsrip_lib.synth import generate

    root = generate(profile="small", seed=2017, out=tmp_path_factory.mktemp("synth") / "small")
    program = load_program()
    data = open_dataset(root, validate=False, program=program)
    attribution = monthly_attribution(*(data.table(n) for n in ("enrollment", "pcp_assignments", "providers",
                                                                 "entities")), program)
    cells = pmpm_cells(data.table("claims"), data.table("enrollment"), attribution, data.table("risk_scores"), program)
    return (json.loads((root / "truth.json").read_text()), cells, data.to_pandas("dsti_payments"),
            data.to_pandas("medical_capitation"))


@pytest.mark.slow
def test_the_planted_losing_aco_scores_zero_on_tcoc(small, program):
    truth, cells, *_ = small
    losing = truth["effects"]["losing_aco"]
    out = aco_benchmarks(cells, program)
    planted = out[(out.entity_id == losing["aco_id"]) & (out.budget_period >= losing["from_budget_period"])]
    assert len(planted) == 4
    assert (planted["savings_share"] < -program.aco_accountability.tcoc_loss_corridor_share).all()
    assert (planted["tcoc_component"] == 0).all()
    # its costs are x1.35 from BP 2 and nobody else's: the others' median savings share is 30 points better
    others = out[(out.entity_id != losing["aco_id"]) & (out.budget_period >= 2)]
    assert others["savings_share"].median() - planted["savings_share"].median() > 0.2


# Sampling tolerance of a year's percent reduction on the small profile, two standard errors: the
# ratio-estimator standard error of a year's PMPM, measured on the small data (seed 2017), is about
# 6.8% for the ~3,000 members enrolled in model A/B ACOs (about 5.5% with the model C attributed ones)
# and 2.3-2.7% for the ~16,000 ACO-eligible members of CY2017: about 6 points together (annual cost
# is a hurdle lognormal with sigma 1.45, so a few members move a year). Measured deviations at seed
# 2017: -9.6 points in CY2018, at most 5.4 in CY2019-2022.
REDUCTION_TOLERANCE_SMALL = 0.12


@pytest.mark.slow
def test_the_planted_spending_trend_passes_with_the_expected_reduction(small, program):
    """The planted trend is under the target (1% a year nominal against 4.4%), the planted losing
    ACO takes part of it back and the DSTI glide path adds its savings: truth.json's expected
    percent reduction (from the planted means) is 6-11% in CY2020-2022. The chain finds it within
    the sampling tolerance, and the State scores 100% in BP 3-5.

    The generator's realised PMPMs (its own arrays, by month, without groups or risk) give the
    chain's reduction up to eligibility-group mix and risk adjustment: within 2.5 points."""
    from dsrip_lib.spending.growth import spending_growth

    truth, cells, dsti, _ = small
    trend = truth["effects"]["spending_trend"]
    assert trend["direction"] == "under"
    result = spending_growth(cells, program, dsti)
    assert result.notes == ()  # DSTI savings are subtracted: the data has CY2017's DSTI payments
    summary = result.summary_table.set_index("year")
    expected = trend["expected_reduction_by_year"]
    base = trend["aco_eligible_pmpm_by_year"]["2017"]
    rate = program.state_accountability.spending_growth.trend_rate
    for year, e in expected.items():
        row = summary.loc[int(year)]
        assert row["percent_reduction"] == pytest.approx(e["percent_reduction"], abs=REDUCTION_TOLERANCE_SMALL), year
        assert row["dsti_savings_pmpm"] == pytest.approx(e["dsti_savings_pmpm"], rel=1e-9)
        realised = trend["aco_attributed_pmpm_by_year"][year] - e["dsti_savings_pmpm"]
        assert row["percent_reduction"] == pytest.approx(
            1 - realised / (base * (1 + rate) ** (int(year) - 2017)), abs=0.025), year
    scored = summary[summary["target"].notna()]
    assert scored["budget_period"].tolist() == [3, 4, 5]
    assert (scored["score"] == 1).all()
    assert (scored["percent_reduction"] > scored["target"] + 0.01).all()


@pytest.mark.slow
def test_the_planted_capitation_covers_every_corridor_band_and_the_losing_plan_loses(small, program):
    """The generator pays each Partnership Plan its expected medical cost x a margin around 1 (truth.json).

    Planted: the margins put plan-periods in every corridor band on both sides (gain share
    1 - 1/margin). Realised on the small profile, a plan-year's medical expense has a sampling
    error of 10-30% (100-1,000 members, hurdle-lognormal costs), so the bands a plan lands in are
    mostly chance there; what must hold is the planted losing plan (its costs x1.35 from BP 2,
    which its capitation does not know): a medical loss beyond 5% and a TCOC component of 0 in BP 2-5.
    """
    from dsrip_lib.spending.benchmarks import partnership_plans

    truth, cells, _, capitation = small
    planted = truth["effects"]["partnership_capitation"]
    margins = [v["margin"] for plan in planted["plans"].values() for v in plan.values()]
    shares = pd.Series([1 - 1 / m for m in margins])
    edges = [-1, -0.05, -0.03, 0, 0.03, 0.05, 1]
    assert (pd.cut(shares, edges).value_counts() > 0).all()
    assert capitation.set_index(["entity_id", "budget_period"])["medical_capitation_usd"].to_dict() == {
        (plan, int(bp)): v["medical_capitation_usd"] for plan, by_bp in planted["plans"].items()
        for bp, v in by_bp.items()}
    result = partnership_plans(aco_benchmarks(cells, program, capitation), program)
    assert len(result.plans) == len(capitation) == 45  # 9 model A ACOs x BP 1-5
    losing = truth["effects"]["losing_aco"]
    lost = result.plans[(result.plans.entity_id == losing["aco_id"])
                        & (result.plans.budget_period >= losing["from_budget_period"])]
    assert len(lost) == 4 and (lost["gain_share"] < -0.2).all() and (lost["tcoc_component"] == 0).all()
    assert (lost["state_usd"] < 0).all() and (lost["plan_usd"] < 0).all()
    # the plans are roughly paid their cost: the others' total expense is within 15% of their expected cost
    others = result.plans[result.plans.entity_id != losing["aco_id"]]
    expected = sum(planted["plans"][p][str(bp)]["expected_medical_cost_usd"]
                   for p, bp in zip(others.entity_id, others.budget_period))
    assert others["medical_expense_usd"].sum() / expected == pytest.approx(1, abs=0.15)
