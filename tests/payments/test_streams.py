"""Allotments per stream (dsrip_lib.payments.streams)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dsrip_lib.errors import InputValidationError
from dsrip_lib.payments.streams import (
    cp_care_coordination,
    cp_infrastructure,
    dsti_glide_path,
    engaged_members,
    flexible_services_allotments,
    flexible_services_reimbursements,
    statewide_investment_allotments,
)

ENTITIES = pd.DataFrame({
    "entity_id": ["ACO1", "ACO2", "BH1", "LT1", "CSA1"], "entity_type": ["aco", "aco", "cp_bh", "cp_ltss", "csa"],
    "aco_model": ["A", "B", None, None, None], "risk_track": [None, 2, None, None, None],
    "safety_net_category": [3, 1, None, None, None], "join_budget_period": [0, 3, 0, 1, 0]})


def _engagement(rows):
    return pd.DataFrame(rows, columns=["member_id", "month", "cp_id", "engaged"])


def test_care_coordination_pays_engaged_and_outreach_within_three_months(program):
    months = [dt.date(2018, m, 1) for m in (4, 5, 6, 7, 8)]
    rows = [("M1", m, "BH1", False) for m in months]  # never engaged: outreach paid Apr-Jun only
    rows += [("M2", months[0], "BH1", False), ("M2", months[1], "BH1", True), ("M2", months[2], "BH1", False)]
    out = cp_care_coordination(_engagement(rows), ENTITIES, program, pmpm_usd={"cp_bh": 160.0})
    by_month = out.set_index("month")
    assert by_month["outreach_members"].tolist() == [2, 1, 1]  # M2's not-engaged month after engagement is unpaid
    assert by_month["engaged_members"].tolist() == [0, 1, 0]
    # Sec 4.5.1: (assigned but not engaged + engaged) x $160
    assert by_month["allotted_usd"].tolist() == [320.0, 320.0, 160.0]
    assert set(out["budget_period"]) == {1} and (out["at_risk_share"] == 0).all()  # Exhibit 22: BP 1 0%


def test_ltss_outreach_has_no_month_limit(program):
    rows = [("M1", dt.date(2018, m, 1), "LT1", False) for m in (4, 5, 6, 7, 8)]
    out = cp_care_coordination(_engagement(rows), ENTITIES, program)
    assert out["outreach_members"].sum() == 5 and out["allotted_usd"].sum() == 5 * 80.0


def test_engagement_before_the_cp_joined_is_refused(program):
    rows = [("M9", dt.date(2018, 2, 1), "LT1", True)]  # CP Prep; LT1 joins in BP 1
    with pytest.raises(InputValidationError, match="(?s)cp_engagement.*LT1.*join_budget_period"):
        cp_care_coordination(_engagement(rows), ENTITIES, program)


def test_infrastructure_cap_and_prep(program):
    # 1,000 engaged members all year in BP 2; point 0.5 of $25-$35 = $30 -> 30 x 12 x 1,000
    engaged = pd.DataFrame({"entity_id": ["BH1", "LT1"], "budget_period": [2, 2], "engaged_members": [1000.0, 10.0]})
    out = cp_infrastructure(engaged, ENTITIES, program, point=0.5).set_index(["entity_id", "budget_period"])
    assert out.loc[("BH1", 2), "allotted_usd"] == 360_000
    assert out.loc[("LT1", 2), "allotted_usd"] == 25.0 * 12 * 10
    assert out.loc[("BH1", 0), "allotted_usd"] == 500_000  # "up to $500,000": the high
    assert out.loc[("CSA1", 0), "allotted_usd"] == pytest.approx(212_500)  # midway $75,000-$350,000
    assert out.loc[("BH1", 2), "at_risk_share"] == out.loc[("LT1", 2), "at_risk_share"] == 0.05  # Exhibit 22


def test_engaged_members_is_the_monthly_average(program):
    rows = [(f"M{i}", dt.date(2019, 1, 1), "BH1", True) for i in range(12)] + [("X", dt.date(2019, 2, 1), "BH1", False)]
    out = engaged_members(_engagement(rows), program)
    assert out["engaged_members"].tolist() == [1.0]


def test_flexible_services_reimbursed_up_to_the_allotment(program):
    months = pd.DataFrame({"entity_id": ["ACO1", "ACO1"], "budget_period": [0, 1], "member_months": [100, 1000]})
    allot = flexible_services_allotments(months, program)
    assert allot["allotted_usd"].tolist() == [3750.0]  # Prep has no flexible services (Exhibit 9)
    requests = pd.DataFrame({"request_id": ["r3", "r1", "r2"], "aco_id": "ACO1", "budget_period": 1,
                             "quarter": [3, 1, 2], "amount_requested": [5000.0, 2000.0, 3000.0],
                             "amount_approved": [1000.0, 2000.0, 2500.0]})
    out = flexible_services_reimbursements(allot, requests, ENTITIES).set_index("request_id")
    assert out["reimbursed_usd"].to_dict() == {"r1": 2000.0, "r2": 1750.0, "r3": 0.0}


def test_flexible_services_approval_above_request_is_refused(program):
    requests = pd.DataFrame({"request_id": ["r1"], "aco_id": ["ACO1"], "budget_period": [1], "quarter": [1],
                             "amount_requested": [100.0], "amount_approved": [100.01]})
    with pytest.raises(InputValidationError, match="(?s)amount_approved <= amount_requested.*r1"):
        flexible_services_reimbursements(pd.DataFrame(columns=["entity_id", "budget_period", "allotted_usd"]),
                                         requests, ENTITIES)


def test_flexible_services_of_an_aco_before_it_joined_is_refused(program):
    requests = pd.DataFrame({"request_id": ["r1"], "aco_id": ["ACO2"], "budget_period": [2], "quarter": [1],
                             "amount_requested": [100.0], "amount_approved": [10.0]})
    with pytest.raises(InputValidationError, match="(?s)ACO2'.*budget_period=2"):
        flexible_services_reimbursements(pd.DataFrame(columns=["entity_id", "budget_period", "allotted_usd"]),
                                         requests, ENTITIES)


def test_dsti_at_state_level_from_the_data_without_pre_dsrip_years(program):
    rows = pd.DataFrame({"hospital": "H", "sfy": [2017, 2018, 2019], "amount": [999.0, 100.0, 50.0]})
    out = dsti_glide_path(rows, program).set_index("budget_period")
    assert out["allotted_usd"].to_dict() == {0: 50.0, 1: 75.0, 2: 25.0}
    assert set(out["entity_type"]) == {"dsti_hospital"} and out.loc[2, "at_risk_share"] == 0.05
    with pytest.raises(InputValidationError, match="sfy"):
        dsti_glide_path(pd.DataFrame({"hospital": ["H"], "sfy": [2023], "amount": [1.0]}), program)


def test_statewide_investments_by_initiative():
    rows = pd.DataFrame({"investment": ["a", "b", "a"], "budget_period": [1, 1, 2], "amount": [1.0, 0.0, 2.0]})
    out = statewide_investment_allotments(rows)
    assert out[["sub_stream", "budget_period", "allotted_usd"]].values.tolist() == [["a", 1, 1.0], ["a", 2, 2.0]]
    assert set(out["stream"]) == {"statewide_investments"}
