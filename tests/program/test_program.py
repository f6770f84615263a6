"""The MassHealth program definition against the protocol's exhibits, and its validation.

Every expected number is read from the MassHealth DSRIP Protocols published text
(line numbers of its plain-text edition cited), never from the YAML. Discrepancies D1-D10 are in
docs/protocol_discrepancies.md.
"""

import copy

import pytest
import yaml

from dsrip_lib.errors import ParameterError
from dsrip_lib.program import load_program, program_path

approx = pytest.approx


@pytest.fixture(scope="module")
def program():
    return load_program("masshealth_dsrip")


# ---------------------------------------------------------------------------------------
# Funding: Exhibit 1, Table F, Exhibit 15
# ---------------------------------------------------------------------------------------


def test_exhibit_1_cells_and_totals(program):
    table = program.funding.streams_by_dy
    # lines 25-31 (ACOs), 34-41 (CPs), 44-50, 53-59
    assert table.rows["aco"][1] == approx(329.2)
    assert table.rows["aco"][5] == approx(65.1)
    assert table.rows["community_partners"][3] == approx(132.2)
    assert table.rows["statewide_investments"][4] == approx(24.8)
    assert table.rows["state_operations"][2] == approx(14.6)
    assert table.row_totals["aco"] == approx(1065.6)
    assert table.row_totals["state_operations"] == approx(73.0)
    assert table.column_totals == approx({1: 425.0, 2: 425.0, 3: 400.0, 4: 325.0, 5: 225.0})  # line 62ff
    assert table.grand_total == approx(1800.0)
    assert program.funding.expenditure_authority_musd == approx(1800.0)  # line 1449: "$1.8 billion"
    # lines 32, 42, 51, 60: % of total
    assert program.funding.stream_share_of_total.shares == approx(
        {"aco": 0.59, "community_partners": 0.30, "statewide_investments": 0.06, "state_operations": 0.04}
    )


def test_exhibit_1_discrepancies_d8(program):
    table = program.funding.streams_by_dy
    # D8: the CP row sums to $546.7M but is published as $546.6M; DY5 sums to $225.1M, published $225.0M.
    assert table.row_sum("community_partners") == approx(546.7)
    assert table.row_totals["community_partners"] == approx(546.6)
    assert table.column_sum(5) == approx(225.1)
    assert table.known_discrepancies == {"row:community_partners": "D8", "column:5": "D8"}
    # Every other total is the sum of its cells.
    assert table.row_sum("aco") == approx(1065.6)
    assert [table.column_sum(dy) for dy in (1, 2, 3, 4)] == approx([425.0, 425.0, 400.0, 325.0])


def test_table_f_shares(program):
    # Sec 5.1.1, line 998: ACOs $1,065.6M or 66.1%; CPs $546.6M or 33.9%; $100 -> $66.10 / $33.90.
    table_f = program.funding.table_f
    assert table_f.amounts_musd == approx({"aco": 1065.6, "community_partners": 546.6})
    assert table_f.shares == approx({"aco": 0.661, "community_partners": 0.339})
    assert 100 * table_f.shares["aco"] == approx(66.10)


def test_funding_shift_thresholds(program):
    funding = program.funding
    assert funding.stream_reallocation_notice_share == approx(0.15)  # line 374
    assert funding.carry_forward_approval_share == approx(0.15)  # line 976
    assert funding.statewide_investment_shift_approval.share_of_original == approx(0.15)  # line 930
    assert funding.statewide_investment_shift_approval.amount_musd == approx(1.0)


def test_exhibit_15_statewide_investments(program):
    table = program.funding.statewide_investments_by_dy
    assert table.rows["student_loan_repayment"] == approx({1: 2.0, 2: 3.6, 3: 3.6, 4: 3.6, 5: 2.3})  # 853-859
    assert table.rows["technical_assistance"][1] == approx(10.9)  # line 886
    assert table.rows["apm_preparation"][4] == approx(5.7)  # line 897
    assert table.rows["enhanced_diversionary_bh"][5] == approx(0.0)  # line 906
    assert table.row_totals["workforce_development_grants"] == approx(13.5)  # line 883
    assert table.column_totals == approx({1: 24.2, 2: 24.6, 3: 23.8, 4: 24.8, 5: 17.4})  # lines 918-922
    # Exhibit 15's column totals are Exhibit 1's Statewide Investments row (lines 45-49).
    assert table.column_totals == approx(program.funding.streams_by_dy.rows["statewide_investments"])


def test_exhibit_15_discrepancies_d9_d10(program):
    table = program.funding.statewide_investments_by_dy
    # D9: sums of cells vs published totals.
    assert table.row_sum("technical_assistance") == approx(42.3) and table.row_totals["technical_assistance"] == approx(42.2)
    assert table.row_sum("apm_preparation") == approx(14.0) and table.row_totals["apm_preparation"] == approx(13.9)
    assert table.row_sum("enhanced_diversionary_bh") == approx(8.9)
    assert table.row_sum("improved_accessibility") == approx(10.4)
    assert table.column_sum(5) == approx(17.3) and table.column_totals[5] == approx(17.4)
    # D10: the published row totals add up to $114.7M, the grand total is $114.8M (line 923).
    assert sum(table.row_totals.values()) == approx(114.7)
    assert table.grand_total == approx(114.8)
    assert set(table.known_discrepancies.values()) == {"D9", "D10"}


# ---------------------------------------------------------------------------------------
# ACO payments: Exhibits 4, 6-11, 19
# ---------------------------------------------------------------------------------------


def test_exhibit_6_and_primary_care_schedule(program):
    aco = program.aco_payments
    # Exhibit 6, lines 453-458
    assert aco.startup_ongoing_average_pmpm_usd == approx({0: 15.02, 1: 14.61, 2: 10.29, 3: 7.75, 4: 4.06, 5: 1.21})
    assert aco.startup_ongoing_average_pmpm_tolerance_usd == approx(6.0)  # line 465
    # lines 545-551
    assert aco.primary_care_investment_pmpm_usd == approx({0: 4, 1: 4, 2: 3, 3: 3, 4: 1, 5: 1})
    assert aco.installments_per_budget_period == 4  # line 559


def test_exhibits_7_8_adjustments(program):
    aco = program.aco_payments
    # Exhibit 7, lines 470-478: categories 5..1 -> 40%..0%
    assert aco.safety_net_adjustment == approx({5: 0.40, 4: 0.30, 3: 0.20, 2: 0.10, 1: 0.00})
    assert aco.chc_safety_net_adjustment == approx(0.40)  # line 490
    # Exhibit 8, lines 497-515
    assert aco.model_adjustment("A") == approx(0.40)
    assert aco.model_adjustment("B", 1) == approx(0.30)
    assert aco.model_adjustment("C", 3) == approx(0.30)
    assert aco.model_adjustment("C", 2) == approx(0.10)
    assert aco.model_adjustment("C", 1) == approx(0.00)
    # the worked PMPM example of lines 531-532: tests/examples/test_sec_4_4_1_pmpm_example.py
    with pytest.raises(ParameterError, match="Exhibit 8"):
        aco.model_adjustment("A", 2)


def test_exhibit_9_flexible_services(program):
    # lines 573-578
    assert program.aco_payments.flexible_services_pmpm_usd == approx(
        {0: 0.00, 1: 3.75, 2: 3.25, 3: 2.75, 4: 2.25, 5: 2.25}
    )


def test_exhibits_4_19_21_substreams(program):
    # Exhibit 4 (line 378ff): four ACO sub-streams, seven CP/CSA sub-streams (3 + 3 + 1).
    assert len(program.aco_payments.substreams) == 4
    cp = program.cp_payments.substreams
    assert sum(len(s) for s in cp.values()) == 7
    # Exhibit 19 (lines 1015-1031) and Exhibit 21 (lines 1086-1112).
    mech = {k: v.value for k, v in program.aco_payments.substreams.items()}
    assert mech["startup_ongoing_primary_care"] == "not_at_risk"
    assert mech["startup_ongoing_discretionary"] == mech["dsti_glide_path"] == "withhold"
    assert cp["cp_bh"]["outcomes_based"].value == "incentive_pool"
    assert cp["csa"]["infrastructure"].value == "withhold"


def test_exhibit_10_dsti_by_sfy(program):
    table = program.aco_payments.dsti_glide_path_by_sfy
    # lines 598-604 and 646-652
    assert table.rows["boston_medical_center"] == approx({2018: 16.26, 2019: 13.53, 2020: 10.10, 2021: 7.82, 2022: 6.30})
    assert table.rows["steward_carney_hospital"] == approx({2018: 1.23, 2019: 1.00, 2020: 0.81, 2021: 0.30, 2022: 0.05})
    assert table.rows["lawrence_general_hospital"][2022] == approx(0.43)  # line 627
    assert table.row_totals["cambridge_health_alliance"] == approx(30.2)  # line 612
    assert program.aco_payments.dsti_hospital_names["signature_healthcare_brockton"] == "Signature Healthcare Brockton Hospital"


# ---------------------------------------------------------------------------------------
# CP / CSA payments: Exhibits 12-14 and Sec 4.5 constants
# ---------------------------------------------------------------------------------------


def test_exhibits_12_to_14_infrastructure_pmpm_ranges(program):
    pmpm = program.cp_payments.infrastructure_pmpm_usd
    # Exhibit 12, lines 764-768 (BH CP)
    assert [(pmpm["cp_bh"][bp].low, pmpm["cp_bh"][bp].high) for bp in range(1, 6)] == [
        (35, 45), (25, 35), (15, 25), (10, 20), (5, 15)
    ]
    # Exhibit 13, lines 800-804 (LTSS CP)
    assert [(pmpm["cp_ltss"][bp].low, pmpm["cp_ltss"][bp].high) for bp in range(1, 6)] == [
        (30, 40), (20, 30), (10, 20), (8, 18), (5, 15)
    ]
    # Exhibit 14, lines 831-835 (CSA)
    assert (pmpm["csa"][1].low, pmpm["csa"][4].high) == (35, 20)
    assert pmpm["cp_bh"][0] is None


def test_cp_payment_constants(program):
    cp = program.cp_payments
    assert cp.care_coordination_pmpm_usd == approx({"cp_bh": 180.0, "cp_ltss": 80.0})  # lines 748, 783
    assert (cp.caseload_per_fte["cp_bh"].low, cp.caseload_per_fte["cp_bh"].high) == (35, 50)  # line 748
    assert (cp.caseload_per_fte["cp_ltss"].low, cp.caseload_per_fte["cp_ltss"].high) == (70, 100)  # line 783
    assert cp.prep_infrastructure_usd["cp_bh"].high == approx(500_000)  # line 753
    assert (cp.prep_infrastructure_usd["csa"].low, cp.prep_infrastructure_usd["csa"].high) == (75_000, 350_000)  # 820
    assert cp.outcomes_pool_usd["cp_bh"][3] == approx(1_000_000)  # line 780
    assert cp.outcomes_pool_usd["cp_ltss"][5] == approx(500_000)  # line 817
    assert cp.outcomes_pool_usd["cp_bh"][2] is None  # "Starting in Budget Period 3"
    assert cp.infrastructure_installments_per_budget_period == 2  # bi-annual, line 754


# ---------------------------------------------------------------------------------------
# At risk: Exhibits 20, 22
# ---------------------------------------------------------------------------------------


def test_exhibit_20_aco_at_risk(program):
    # lines 1051-1065
    assert [program.at_risk.aco_share("startup_ongoing_discretionary", bp) for bp in range(6)] == approx(
        [0.0, 0.05, 0.15, 0.30, 0.40, 0.50]
    )
    assert [program.at_risk.aco_share("dsti_glide_path", bp) for bp in range(6)] == approx(
        [0.0, 0.05, 0.05, 0.10, 0.15, 0.20]
    )
    # line 1072: an ACO joining in BP3 -> BP3 5%, BP4 15%, BP5 30%
    assert [program.at_risk.aco_share("startup_ongoing_discretionary", bp, join_bp=3) for bp in (3, 4, 5)] == approx(
        [0.05, 0.15, 0.30]
    )
    with pytest.raises(ParameterError):
        program.at_risk.aco_share("flexible_services", 2)


def test_exhibit_22_cp_at_risk(program):
    # lines 1131-1137
    assert [program.at_risk.cp_csa_share(bp) for bp in range(6)] == approx([0.0, 0.0, 0.05, 0.10, 0.15, 0.20])
    # line 1143: a CP joining in BP3 -> BP3 0%, BP4 5%, BP5 10%
    assert [program.at_risk.cp_csa_share(bp, join_bp=3) for bp in (3, 4, 5)] == approx([0.0, 0.05, 0.10])
    assert program.at_risk.remediation_max_earn_back_share == approx(0.60)  # lines 1954, 2272


# ---------------------------------------------------------------------------------------
# State accountability: Exhibits 24-29 (= A2, A3, A4, A7, A10)
# ---------------------------------------------------------------------------------------


def test_exhibit_24_expenditure_authority(program):
    state = program.state_accountability
    # lines 1169-1190 (= Exhibit A10, lines 2875-2894)
    assert state.authority_of(0) is state.authority_of(1)
    assert state.authority_of(1).authority_musd == approx(637.5)
    assert [state.authority_of(bp).authority_musd for bp in (2, 3, 4, 5)] == approx([412.5, 362.5, 275, 112.5])
    assert [state.authority_of(bp).at_risk_share for bp in (1, 2, 3, 4, 5)] == approx([0, 0.05, 0.10, 0.15, 0.20])
    assert [state.authority_of(bp).at_risk_musd for bp in (1, 2, 3, 4, 5)] == approx([0, 20.625, 36.25, 41.25, 22.5])


def test_exhibit_24_is_exhibit_1_split_by_budget_period(program):
    # D8 note: Exhibit 1's DY totals (425, 425, 400, 325, 225; DY n = SFY 2017+n) split
    # by the rule of Sec 3.1.1 / 4.4.3 give Exhibit 24 exactly.
    dy_totals = program.funding.streams_by_dy.column_totals
    split = program.calendar.split_sfy_amounts({2017 + dy: amount for dy, amount in dy_totals.items()})
    assert split[0] + split[1] == approx(637.5)
    assert [split[bp] for bp in (2, 3, 4, 5)] == approx([412.5, 362.5, 275.0, 112.5])


def test_exhibit_25_state_domain_weights(program):
    state = program.state_accountability
    # lines 1218-1228
    assert state.domain_weights_in(0) == {} and state.domain_weights_in(1) == {}
    assert state.domain_weights_in(2) == approx({"adoption": 0.30, "quality_utilization": 0.70})
    for bp in (3, 4, 5):
        assert state.domain_weights_in(bp) == approx(
            {"adoption": 0.20, "spending_growth": 0.25, "quality_utilization": 0.55}
        )


def test_exhibit_26_adoption_targets(program):
    # lines 1266-1272 (= Exhibit A2, lines 2611-2616): NA, 25%, 30%, 35%, 40%, 45%.
    assert [program.state_accountability.adoption.target(bp) for bp in range(1, 6)] == approx([0.25, 0.30, 0.35, 0.40, 0.45])
    with pytest.raises(ParameterError, match="period 0"):
        program.state_accountability.adoption.target(0)
    with pytest.raises(ParameterError, match="does not exist"):
        program.state_accountability.adoption.target(6)
    # line 1255: "more than 20% of their non-primary care services".
    assert program.state_accountability.adoption.apm_non_primary_care_share_threshold == approx(0.20)


def test_exhibit_27_spending_growth(program):
    growth = program.state_accountability.spending_growth
    # lines 1294-1299 (= Exhibit A3, lines 2645-2650)
    assert growth.reduction_targets == approx({0: None, 1: None, 2: None, 3: 0.0025, 4: 0.011, 5: 0.021})
    assert growth.trend_rate == approx(0.044)  # lines 1282, 1311
    assert len(growth.eligibility_groups) == 6  # line 1309
    # Appendix C, line 2626: score 0% below 50% of the target; the example's 0.9% vs 1.1%
    # gives (0.9 - 0.55) / 0.55 = 63.6% (published 64%, D4).
    floor = program.state_accountability.gap_to_goal_floor_share
    target = growth.reduction_targets[4]
    assert (0.009 - floor * target) / (target - floor * target) == approx(0.6364, abs=5e-5)


def test_exhibit_29_state_avoidable_utilization_and_alpha(program):
    qu = program.state_accountability.quality_utilization
    # lines 1422-1436 (= Exhibit A7, lines 2771-2785)
    assert qu.avoidable_utilization_targets["ppa"] == approx({0: None, 1: None, 2: 0.03, 3: 0.07, 4: 0.12, 5: 0.15})
    assert qu.avoidable_utilization_targets["readmissions"] == approx(
        {0: None, 1: None, 2: 0.03, 3: 0.09, 4: 0.15, 5: 0.20}
    )
    assert qu.alpha == approx(0.10)  # line 1393: "an alpha value of <=0.1"


def test_exhibits_28_32_a4_quality_domain_weights(program):
    # Exhibit 32, lines 1502-1535 (the same numbers as Exhibit 28 lines 1353-1379 and A4 lines 2675-2708)
    assert program.quality_domains.weights_in(1) == approx({
        "prevention_wellness": 0.20, "chronic_disease": 0.20, "behavioral_health": 0.25, "ltss": 0.10,
        "integration": 0.25, "avoidable_utilization": 0.0, "member_experience": 0.0,
    })
    for bp in (2, 5):
        assert program.quality_domains.weights_in(bp) == approx({
            "prevention_wellness": 0.10, "chronic_disease": 0.15, "behavioral_health": 0.15, "ltss": 0.05,
            "integration": 0.20, "avoidable_utilization": 0.20, "member_experience": 0.15,
        })
    assert program.quality_domains.weights_in(0) == {}
    assert [d.number for d in program.quality_domains] == list(range(1, 8))


# ---------------------------------------------------------------------------------------
# ACO accountability: Exhibits 31, 33-37, 39
# ---------------------------------------------------------------------------------------


def test_exhibit_31_component_weights(program):
    # lines 1476-1484
    assert program.aco_accountability.component_weights_in(0) == {}
    assert program.aco_accountability.component_weights_in(2) == approx({"quality": 1.0})
    assert program.aco_accountability.component_weights_in(4) == approx({"quality": 0.75, "tcoc": 0.25})
    # line 1938: 75% x 75% + 80% x 25% = 76.25% (published 76.2%, D3)
    weights = program.aco_accountability.component_weights_in(4)
    assert 0.75 * weights["quality"] + 0.80 * weights["tcoc"] == approx(0.7625)


def test_aco_scoring_constants(program):
    aco = program.aco_accountability
    assert aco.achievement.max_points_per_measure == 2  # line 1552
    assert aco.achievement.benchmark_reset_share_of_acos == approx(0.75)  # line 1562
    assert aco.improvement.points_per_measure == 2  # line 1594
    assert aco.improvement.max_share_of_domain_achievement_points == approx(0.5)  # line 1592
    assert aco.improvement.alpha == approx(0.10)  # line 1595, Exhibit 34: 0.12 -> 0, 0.04 -> 2
    assert 0.12 > aco.improvement.alpha >= 0.04
    # Exhibit 33, line 1588: 2 * (60% - 45%) / (80% - 45%) = 0.86
    assert aco.achievement.max_points_per_measure * (0.60 - 0.45) / (0.80 - 0.45) == approx(0.857, abs=1e-3)
    # Exhibit 35, line 1651: improvement cap for two measures = 4 x 50% = 2
    assert 2 * aco.achievement.max_points_per_measure * aco.improvement.max_share_of_domain_achievement_points == 2
    # Exhibit 39, line 1919: benchmark $500, 5% corridor = $25; $20 loss -> 20%
    corridor = aco.tcoc_loss_corridor_share * 500
    assert corridor == approx(25.0) and (corridor - 20) / corridor == approx(0.20)


def test_exhibits_36_37_quartile_targets(program):
    targets = program.aco_accountability.avoidable_utilization_quartile_targets
    # Exhibit 36 (PPA), lines 1730-1756
    assert [targets["ppa"][1][bp] for bp in (1, 2, 3, 4, 5)] == approx([None, 0.03, 0.045, 0.09, 0.12])
    assert [targets["ppa"][4][bp] for bp in (2, 3, 4, 5)] == approx([0.06, 0.13, 0.18, 0.21])
    assert targets["ppa"][3][3] == approx(0.10)
    # Exhibit 37 (readmissions), lines 1774-1800
    assert [targets["readmissions"][1][bp] for bp in (2, 3, 4, 5)] == approx([0.03, 0.075, 0.125, 0.16])
    assert [targets["readmissions"][3][bp] for bp in (2, 3, 4, 5)] == approx([0.05, 0.125, 0.185, 0.24])
    assert targets["readmissions"][4][5] == approx(0.28)
    assert targets["readmissions"][2][1] is None


# ---------------------------------------------------------------------------------------
# CP / CSA accountability: Exhibits 41-46
# ---------------------------------------------------------------------------------------


def test_exhibits_43_to_45_cp_domain_weights(program):
    weights = program.cp_accountability.domain_weights
    # Exhibit 43, lines 2090-2116
    assert weights["cp_bh"] == approx({
        "prevention_wellness": 0.05, "chronic_disease": 0.05, "behavioral_health": 0.10, "member_experience": 0.10,
        "integration": 0.10, "avoidable_utilization": 0.10, "engagement": 0.50,
    })
    # Exhibit 44, lines 2134-2152
    assert weights["csa"]["behavioral_health"] == approx(0.20) and len(weights["csa"]) == 5
    # Exhibit 45, lines 2170-2188
    assert weights["cp_ltss"]["member_experience"] == approx(0.20)
    assert weights["cp_ltss"]["integration"] == approx(0.15)
    # Exhibit 46, lines 2205-2242: BH CP total quality score 80.45%
    averages = {"prevention_wellness": 0.51, "chronic_disease": 0.60, "behavioral_health": 0.73,
                "member_experience": 0.88, "integration": 0.56, "avoidable_utilization": 0.67, "engagement": 0.93}
    assert sum(weights["cp_bh"][d] * a for d, a in averages.items()) == approx(0.8045)


def test_cp_scoring_constants(program):
    cp = program.cp_accountability
    assert cp.max_points_per_measure == 1  # line 2005; Exhibit 41: (58% - 45%) / (80% - 45%) = 0.37
    assert cp.max_points_per_measure * (0.58 - 0.45) / (0.80 - 0.45) == approx(0.371, abs=1e-3)
    # line 2259: 75% + 50% x (75% - 65%) = 80%
    assert 0.75 + cp.improvement_over_self_share * (0.75 - 0.65) == approx(0.80)
    assert cp.reporting_only_budget_periods == [1, 2]  # line 2260


# ---------------------------------------------------------------------------------------
# Validation: a broken copy of the file raises ParameterError naming the file and key
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(program_path("masshealth_dsrip").read_text(encoding="utf-8"))


def _load_broken(tmp_path, raw, change):
    broken = copy.deepcopy(raw)
    change(broken)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken, sort_keys=False), encoding="utf-8")
    with pytest.raises(ParameterError) as info:
        load_program(path)
    message = str(info.value)
    assert str(path) in message
    return message


def test_round_trip_of_the_file_loads(tmp_path, raw):
    path = tmp_path / "copy.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert load_program(path) == load_program("masshealth_dsrip")


def test_missing_budget_period(tmp_path, raw):
    message = _load_broken(tmp_path, raw, lambda r: r["state_accountability"]["adoption"]["targets"].pop(5))
    assert "state_accountability.adoption.targets" in message and "budget periods" in message


def test_percentage_not_a_fraction(tmp_path, raw):
    message = _load_broken(tmp_path, raw, lambda r: r["at_risk"]["cp_csa"].__setitem__(5, 20))
    assert "at_risk.cp_csa.5" in message


def test_weights_not_summing_to_one(tmp_path, raw):
    message = _load_broken(tmp_path, raw, lambda r: r["quality_domains"][0]["weights"].__setitem__(3, 0.2))
    assert "budget period 3" in message and "not 1" in message


def test_cp_weights_not_summing_to_one(tmp_path, raw):
    message = _load_broken(tmp_path, raw, lambda r: r["cp_accountability"]["domain_weights"]["csa"].pop("engagement"))
    assert "cp_accountability" in message and "domain_weights.csa" in message


def test_total_that_is_not_the_sum_of_its_cells(tmp_path, raw):
    rows = lambda r: r["aco_payments"]["dsti_glide_path_by_sfy"]["rows"]  # noqa: E731
    message = _load_broken(tmp_path, raw, lambda r: rows(r)["boston_medical_center"].__setitem__(2019, 14.53))
    assert "aco_payments.dsti_glide_path_by_sfy" in message and "row:boston_medical_center" in message


def test_a_corrected_discrepancy_retires_its_record(tmp_path, raw):
    totals = lambda r: r["funding"]["streams_by_dy"]["row_totals"]  # noqa: E731
    message = _load_broken(tmp_path, raw, lambda r: totals(r).__setitem__("community_partners", 546.7))
    assert "row:community_partners" in message and "D8" in message


def test_at_risk_amount_is_the_product(tmp_path, raw):
    column = lambda r: r["state_accountability"]["expenditure_authority"][3]  # noqa: E731
    message = _load_broken(tmp_path, raw, lambda r: column(r).__setitem__("at_risk_musd", 41.0))
    assert "state_accountability.expenditure_authority.3" in message


def test_unknown_key_is_rejected(tmp_path, raw):
    message = _load_broken(tmp_path, raw, lambda r: r["aco_payments"].__setitem__("flexible_pmpm", 1.0))
    assert "aco_payments.flexible_pmpm" in message


def test_quartile_targets_must_rise(tmp_path, raw):
    ppa = lambda r: r["aco_accountability"]["avoidable_utilization_quartile_targets"]["ppa"]  # noqa: E731
    message = _load_broken(tmp_path, raw, lambda r: ppa(r)[4].__setitem__(3, 0.02))
    assert "aco_accountability" in message and "ppa" in message


def test_calendar_gap(tmp_path, raw):
    schedule = lambda r: r["calendar"]["budget_period_schedules"]["cp"]  # noqa: E731
    message = _load_broken(tmp_path, raw, lambda r: schedule(r)[2].__setitem__("start", "2019-02-01"))
    assert "calendar" in message and "cp.2" in message


def test_missing_and_unparsable_files(tmp_path):
    with pytest.raises(ParameterError, match="not found"):
        load_program(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(ParameterError, match="not valid YAML"):
        load_program(bad)


def test_minimal_program_by_name_from_program_dir(tmp_path, raw, monkeypatch):
    # A second program shape needs only a calendar; program-specific blocks are optional.
    minimal = {key: raw[key] for key in ("name", "title", "source", "calendar")}
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(minimal), encoding="utf-8")
    monkeypatch.setenv("DSRIP_PROGRAM_DIR", str(tmp_path))
    other = load_program("other")
    assert other.state_accountability is None
    with pytest.raises(ParameterError, match="state_accountability"):
        other.require("state_accountability").adoption.target(1)


def test_attribution_starts_in_bp_1(program):
    # Sec 4.2.1 (line 561), Sec 5.3 (line 1491): no enrolled or attributed members in Prep
    assert program.attribution.first_budget_period_with_members == 1


def test_first_budget_period_with_members_must_be_a_calendar_period(tmp_path, raw):
    raw["attribution"] = {"first_budget_period_with_members": 9}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ParameterError, match="attribution.*not a budget period"):
        load_program(path)
