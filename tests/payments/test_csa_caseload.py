"""CSA infrastructure on the actual caseload (dsrip_lib.payments.streams.csa_caseload_members; Sec 3.4.4.2,
4.5.7, Exhibits 14 and 22)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from dsrip_lib.errors import InputValidationError
from dsrip_lib.inputs.validation import validate_table
from dsrip_lib.payments.ledger import PAID, WITHHELD, check_ledger, ledger_from_tables
from dsrip_lib.payments.streams import cp_infrastructure, csa_caseload_members, engaged_members
from dsrip_lib.program import load_program

ENTITIES = pd.DataFrame({"entity_id": ["A1", "S1", "S2", "P1"], "entity_type": ["aco", "csa", "csa", "cp_bh"],
                         "aco_model": ["A", None, None, None], "risk_track": [None] * 4,
                         "safety_net_category": [2, None, None, None], "join_budget_period": [0, 0, 2, 1]})
MONTHS = pd.DataFrame({"entity_id": ["A1"], "budget_period": [2], "member_months": [1200], "chc_member_months": [0]})


def _caseload(entity, year, members, first_month=1):
    """One row per month of ``year`` from ``first_month``, ``members[i]`` in the i-th month."""
    return pd.DataFrame({"entity_id": entity, "month": [dt.date(year, first_month + i, 1) for i in range(len(members))],
                         "members": members})


def test_csa_infrastructure_is_the_exhibit_14_pmpm_on_caseload_member_months(program):
    # S1 in BP 2 (CY2019, 12 months): 1,000 to 1,110 members a month = 12,660 member-months
    caseload = _caseload("S1", 2019, [1000 + 10 * m for m in range(12)])
    members = csa_caseload_members(caseload, ENTITIES, program)
    assert members.set_index(["entity_id", "budget_period"])["engaged_members"].to_dict() == {("S1", 2): 1055.0}
    low, high = (program.require("cp_payments").infrastructure_pmpm_usd["csa"][2].low,
                 program.require("cp_payments").infrastructure_pmpm_usd["csa"][2].high)
    assert (low, high) == (25.0, 35.0)  # Exhibit 14, BP 2
    for point, pmpm in ((0.0, low), (0.5, 30.0), (1.0, high)):
        out = cp_infrastructure(members, ENTITIES, program, point=point).set_index(["entity_id", "budget_period"])
        # a 12-month period: PMPM x 12 x the monthly average = PMPM x caseload member-months
        assert out.loc[("S1", 2), "allotted_usd"] == pytest.approx(pmpm * 12_660)
        assert low * 12_660 <= out.loc[("S1", 2), "allotted_usd"] <= high * 12_660
        assert out.loc[("S1", 2), "at_risk_share"] == 0.05  # Exhibit 22, BP 2
        assert out.loc[("S1", 0), "allotted_usd"] > 0  # Prep still by the Sec 4.5.7 range


def test_a_short_first_period_is_annualised_as_for_cps(program):
    # CP/CSA BP 1 runs April-December 2018 (9 months): 900 member-months average 100 members
    caseload = _caseload("S1", 2018, [100] * 9, first_month=4)
    members = csa_caseload_members(caseload, ENTITIES, program)
    as_cp = engaged_members(pd.DataFrame({"member_id": [f"M{i}" for i in range(100) for _ in range(9)],
                                          "month": [dt.date(2018, 4 + m, 1) for _ in range(100) for m in range(9)],
                                          "cp_id": "P1", "engaged": True}), program)
    assert members["engaged_members"].tolist() == as_cp["engaged_members"].tolist() == [100.0]
    out = cp_infrastructure(members, ENTITIES, program, point=0.5).set_index(["entity_id", "budget_period"])
    assert out.loc[("S1", 1), "allotted_usd"] == 40.0 * 12 * 100  # Exhibit 14 BP 1 midpoint, the Sec 4.5.5 cap


def test_the_ledger_pays_caseload_infrastructure_bi_annually_with_the_exhibit_22_withhold(program):
    caseload = pd.concat([_caseload("S1", 2019, [500] * 12), _caseload("S2", 2020, [200] * 12)], ignore_index=True)
    ledger = ledger_from_tables(MONTHS, ENTITIES, program, csa_caseload=caseload)
    check_ledger(ledger)
    rows = ledger.rows[(ledger.rows["entity_type"] == "csa") & (ledger.rows["budget_period"] > 0)]
    by = rows.pivot_table(index=["entity_id", "budget_period"], columns="kind", values="cents", aggfunc="sum")
    # S1 BP 2: $30 x 6,000 member-months = $180,000, 5% withheld (Exhibit 22)
    assert by.loc[("S1", 2), PAID] + by.loc[("S1", 2), WITHHELD] == 180_000_00
    assert by.loc[("S1", 2), WITHHELD] == 9_000_00
    # S2 joined in BP 2: BP 3 is its second period, withheld at the schedule's BP 2 share (5%, not 10%)
    assert by.loc[("S2", 3), PAID] + by.loc[("S2", 3), WITHHELD] == 20 * 2_400 * 100
    assert by.loc[("S2", 3), WITHHELD] == 2_400_00
    assert rows.groupby(["entity_id", "budget_period"])["installment"].max().to_dict() == {("S1", 2): 2, ("S2", 3): 2}
    without = ledger_from_tables(MONTHS, ENTITIES, program).rows
    assert set(without.loc[without["entity_type"] == "csa", "budget_period"]) == {0}  # Prep only, as before


@pytest.mark.parametrize("caseload, column, rule, example", [
    (_caseload("P1", 2019, [10]), "entity_id", "with entity_type 'csa'", "entity_id='P1'"),
    (_caseload("XX", 2019, [10]), "entity_id", "with entity_type 'csa'", "entity_id='XX'"),
    (pd.concat([_caseload("S1", 2019, [10]), _caseload("S1", 2019, [11])]), "entity_id, month", "one row per key",
     "entity_id='S1'"),
    (_caseload("S1", 2019, [-1]), "members", "a whole number >= 0", "members=-1"),
    (_caseload("S1", 2019, [2.5]), "members", "a whole number >= 0", "members=2.5"),
    (_caseload("S1", 2016, [10]), "month", "a month of a CP/CSA budget period", "month=2016-01-01"),
    (_caseload("S2", 2018, [10], first_month=4), "entity_id", "join_budget_period", "entity_id='S2', budget_period=1"),
])
def test_a_bad_caseload_is_refused_naming_table_column_and_rows(program, caseload, column, rule, example):
    with pytest.raises(InputValidationError) as caught:
        csa_caseload_members(caseload, ENTITIES, program)
    message = str(caught.value)
    assert message.startswith(f"csa_caseload, column {column}: rule") and rule in message
    assert example in message


def test_the_data_contract_checks_the_caseload(program):
    validate_table("csa_caseload", _caseload("S1", 2019, [10, 11]), program=program)
    with pytest.raises(InputValidationError, match=r"(?s)column members: rule \">= 0\".*members=-3"):
        validate_table("csa_caseload", _caseload("S1", 2019, [10, -3]), program=program)


@settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(st.lists(st.tuples(st.sampled_from(["S1", "S2"]), st.integers(0, 56), st.integers(0, 5000)), max_size=30),
       st.floats(0, 1), st.floats(0, 1))
def test_caseload_keeps_the_ledger_invariants(rows, point, score):
    program = load_program()
    months = [m for p in program.calendar.budget_periods("cp") if p.number >= 1 for m in p.months]
    frame = pd.DataFrame([(e, months[i], n) for e, i, n in rows], columns=["entity_id", "month", "members"])
    frame = frame[~((frame["entity_id"] == "S2") & (pd.to_datetime(frame["month"]) < pd.Timestamp(2019, 1, 1)))]
    frame = frame.drop_duplicates(["entity_id", "month"])
    scores = pd.DataFrame({"entity_id": ["S1", "S2"], "budget_period": 3, "accountability_score": score})
    approvals = pd.DataFrame({"budget_period": [3], "submitted_on": ["2021-03-01"], "approved_on": ["2021-06-01"]})
    ledger = ledger_from_tables(MONTHS, ENTITIES, program, csa_caseload=frame, infrastructure_point=point,
                                scores=scores, approvals=approvals)
    check_ledger(ledger)  # paid + withheld = allotted, released + forfeited <= withheld, nothing negative
    infra = ledger.rows[(ledger.rows["entity_type"] == "csa") & ledger.rows["kind"].isin([PAID, WITHHELD])]
    allotted = ledger.allotments[ledger.allotments["entity_type"] == "csa"]
    assert infra["cents"].sum() == allotted["allotted_cents"].sum()  # installments sum to the cent
    pmpm = program.require("cp_payments").infrastructure_pmpm_usd["csa"]
    member_months = frame.assign(bp=[program.calendar.budget_period_of(m, "cp").number for m in frame["month"]])
    for (entity, bp), n in member_months.groupby(["entity_id", "bp"])["members"].sum().items():
        got = allotted.loc[(allotted["entity_id"] == entity) & (allotted["budget_period"] == bp), "allotted_usd"].sum()
        annualised = 12 / len(program.calendar.budget_period(bp, "cp").months)
        assert pmpm[bp].low * n * annualised - 0.01 <= got <= pmpm[bp].high * n * annualised + 0.01  # Exhibit 14
