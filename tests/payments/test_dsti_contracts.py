"""DSTI glide path paid to the contracting ACO (dsrip_lib.payments.dsti_contracts, Sec 4.4.3)."""

from __future__ import annotations

from fractions import Fraction

import pandas as pd
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from dsrip_lib.errors import InputValidationError
from dsrip_lib.inputs.validation import validate_table
from dsrip_lib.payments.dsti_contracts import (
    allot_to_contracting_acos,
    contracted_periods,
    uncontracted_hospital_periods,
)
from dsrip_lib.payments.ledger import FORFEITED, RELEASED, WITHHELD, check_ledger, ledger_from_tables
from dsrip_lib.payments.streams import dsti_glide_path
from dsrip_lib.program import load_program

# A1 joins in Prep, A2 in BP 2 (a late joiner), P1 is a CP
ENTITIES = pd.DataFrame({"entity_id": ["A1", "A2", "P1"], "entity_type": ["aco", "aco", "cp_bh"],
                         "aco_model": ["A", "B", None], "risk_track": [None, 2, None],
                         "safety_net_category": [2, 3, None], "join_budget_period": [0, 2, 1]})
MONTHS = pd.DataFrame({"entity_id": ["A1", "A2"], "budget_period": [4, 4], "member_months": [1200, 600],
                       "chc_member_months": [0, 0]})
# two hospitals, SFY2018-2022 (Exhibit 10's years): every ACO budget period 0-5 has funds
PAYMENTS = pd.DataFrame({"hospital": ["H1"] * 5 + ["H2"] * 5, "sfy": list(range(2018, 2023)) * 2,
                         "amount": [1000.0, 900.0, 800.0, 700.0, 600.0, 503.0, 401.0, 307.0, 211.0, 103.0]})
CONTRACTS = pd.DataFrame({"hospital": ["H1", "H1", "H2"], "aco_id": ["A1", "A2", "A1"],
                          "from_budget_period": [0, 3, 1], "to_budget_period": [2, 5, 4]})
APPROVALS = pd.DataFrame({"budget_period": [4], "submitted_on": ["2022-01-15"], "approved_on": ["2022-03-01"]})
SHOW = ["hospital", "aco_id", "from_budget_period", "to_budget_period"]


def _key(frame):
    return frame.set_index(["hospital", "budget_period"])


def test_each_contracted_hospital_period_goes_whole_to_its_aco(program):
    state = dsti_glide_path(PAYMENTS, program)
    moved = allot_to_contracting_acos(state, CONTRACTS, ENTITIES, program, PAYMENTS["hospital"])
    # the same hospital-periods and amounts: only the payee changes
    assert _key(moved)["allotted_usd"].to_dict() == _key(state)["allotted_usd"].to_dict()
    payee = _key(moved)["entity_id"]
    assert [payee[("H1", bp)] for bp in range(6)] == ["A1", "A1", "A1", "A2", "A2", "A2"]
    assert [payee[("H2", bp)] for bp in range(6)] == ["H2", "A1", "A1", "A1", "A1", "H2"]
    kinds = _key(moved)["entity_type"]
    assert kinds[("H2", 0)] == kinds[("H2", 5)] == "dsti_hospital" and kinds[("H1", 3)] == "aco"
    left = uncontracted_hospital_periods(moved)
    assert left[["hospital", "budget_period"]].values.tolist() == [["H2", 0], ["H2", 5]]
    assert set(moved["stream"]) == {"aco"} and set(moved["sub_stream"]) == {"dsti_glide_path"}


def test_the_at_risk_share_follows_the_acos_join_lag(program):
    moved = _key(allot_to_contracting_acos(dsti_glide_path(PAYMENTS, program), CONTRACTS, ENTITIES, program,
                                                   PAYMENTS["hospital"]))
    at_risk = program.require("at_risk")
    # Exhibit 20's glide-path row: A2 joined in BP 2, so its BP 4 share is the schedule's BP 3 (10%), not 15%
    assert moved.loc[("H1", 4), "at_risk_share"] == at_risk.aco_share("dsti_glide_path", 3) == 0.10
    assert moved.loc[("H2", 4), "at_risk_share"] == at_risk.aco_share("dsti_glide_path", 4) == 0.15  # A1: Prep
    assert moved.loc[("H2", 5), "at_risk_share"] == at_risk.aco_share("dsti_glide_path", 5)  # State level: no lag


def test_the_acos_score_releases_the_dsti_withhold_and_hospital_totals_hold(program):
    scores = pd.DataFrame({"entity_id": ["A1", "A2"], "budget_period": [4, 4], "accountability_score": [0.5, 0.8]})
    ledger = ledger_from_tables(MONTHS, ENTITIES, program, dsti_payments=PAYMENTS, dsti_contracts=CONTRACTS,
                                scores=scores, approvals=APPROVALS)
    check_ledger(ledger)
    rows = ledger.rows[(ledger.rows["sub_stream"] == "dsti_glide_path") & (ledger.rows["budget_period"] == 4)]
    by = rows.groupby(["entity_id", "hospital", "kind"])["cents"].sum()
    for aco, hospital, score in (("A2", "H1", 0.8), ("A1", "H2", 0.5)):
        withheld = by[(aco, hospital, WITHHELD)]
        # Sec 5.3.3: score x withheld, half up to the cent
        assert by[(aco, hospital, RELEASED)] == int(withheld * Fraction(str(score)) + Fraction(1, 2))
        assert by[(aco, hospital, RELEASED)] + by[(aco, hospital, FORFEITED)] == withheld
    # paid + withheld per hospital and period is the State-level allotment, to the cent
    plain = ledger_from_tables(MONTHS, ENTITIES, program, dsti_payments=PAYMENTS)
    for ledger_ in (ledger, plain):
        cash = ledger_.rows[ledger_.rows["kind"].isin(["paid", WITHHELD])
                            & (ledger_.rows["sub_stream"] == "dsti_glide_path")]
        totals = cash.groupby(["hospital", "budget_period"])["cents"].sum()
        allotted = dsti_glide_path(PAYMENTS, program).set_index(["hospital", "budget_period"])["allotted_usd"]
        assert totals.to_dict() == (allotted * 100).round().astype(int).to_dict()


def test_without_contracts_the_hospital_is_paid_at_state_level_as_before(program):
    plain = ledger_from_tables(MONTHS, ENTITIES, program, dsti_payments=PAYMENTS).rows
    dsti = plain[plain["sub_stream"] == "dsti_glide_path"]
    assert set(dsti["entity_type"]) == {"dsti_hospital"} and (dsti["hospital"] == dsti["entity_id"]).all()
    assert (plain.loc[plain["sub_stream"] != "dsti_glide_path", "hospital"] == "").all()
    # a contract table covering nothing leaves the same ledger
    none = ledger_from_tables(MONTHS, ENTITIES, program, dsti_payments=PAYMENTS,
                              dsti_contracts=CONTRACTS.iloc[:0]).rows
    pd.testing.assert_frame_equal(plain, none)


@pytest.mark.parametrize("change, column, rule, example", [
    ({"hospital": ["H9", "H1", "H2"]}, "hospital", "a hospital of dsti_payments", "hospital='H9', aco_id='A1'"),
    ({"aco_id": ["A1", "P1", "A1"]}, "aco_id", "with entity_type 'aco'", "aco_id='P1'"),
    ({"aco_id": ["A1", "ZZ", "A1"]}, "aco_id", "with entity_type 'aco'", "aco_id='ZZ'"),
    ({"to_budget_period": [3, 5, 4]}, "from_budget_period, to_budget_period", "one ACO at a time",
     "hospital='H1', aco_id='A2', from_budget_period=3, to_budget_period=5, budget_period=3"),
    ({"from_budget_period": [0, 3, 5]}, "to_budget_period", "from_budget_period <= to_budget_period",
     "hospital='H2', aco_id='A1', from_budget_period=5, to_budget_period=4"),
    ({"to_budget_period": [2, 6, 4]}, "to_budget_period", "a budget period of the ACO calendar", "to_budget_period=6"),
    ({"from_budget_period": [0, 1, 1], "to_budget_period": [0, 5, 4]}, "aco_id", "join_budget_period",
     "aco_id='A2', budget_period=1, join_budget_period=2"),
])
def test_a_bad_contract_is_refused_naming_table_column_and_rows(program, change, column, rule, example):
    bad = CONTRACTS.assign(**change)
    with pytest.raises(InputValidationError) as caught:
        contracted_periods(bad, ENTITIES, program, hospitals=PAYMENTS["hospital"])
    message = str(caught.value)
    assert message.startswith(f"dsti_contracts, column {column}: rule") and rule in message
    assert example in message  # the offending rows are shown


def test_the_data_contract_refuses_overlapping_contracts(program):
    overlapping = CONTRACTS.assign(to_budget_period=[3, 5, 4])
    with pytest.raises(InputValidationError, match=r"(?s)one ACO at a time.*hospital='H1': aco_id='A1' budget "
                                                   r"periods 0-3 overlaps aco_id='A2' budget periods 3-5"):
        validate_table("dsti_contracts", overlapping, program=program)
    validate_table("dsti_contracts", CONTRACTS, program=program)


@settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.sampled_from(["A1", "A2"])), max_size=4),
       st.lists(st.integers(0, 10**8), min_size=5, max_size=5), st.floats(0, 1))
def test_contracts_keep_the_ledger_invariants_and_every_hospital_periods_amount(spans, cents, score):
    program = load_program()
    payments = pd.DataFrame({"hospital": "H", "sfy": range(2018, 2023), "amount": [c / 100 for c in cents]})
    # one hospital's contracts: consecutive, non-overlapping spans, each from its ACO's join period on
    rows, start = [], 0
    for length, gap, aco in spans:
        first = max(start + gap % 2, 2 if aco == "A2" else 0)
        last = min(first + length % 3, 5)
        if first > 5:
            break
        rows.append(("H", aco, first, last))
        start = last + 1
    contracts = pd.DataFrame(rows, columns=SHOW)
    scores = pd.DataFrame({"entity_id": ["A1", "A2"], "budget_period": 4, "accountability_score": score})
    ledger = ledger_from_tables(MONTHS, ENTITIES, program, dsti_payments=payments, dsti_contracts=contracts,
                                scores=scores, approvals=APPROVALS)
    check_ledger(ledger)  # paid + withheld = allotted, released + forfeited <= withheld, nothing negative
    dsti = ledger.rows[ledger.rows["sub_stream"] == "dsti_glide_path"]
    state = dsti_glide_path(payments, program).set_index("budget_period")["allotted_usd"]
    booked = dsti[dsti["kind"].isin(["paid", WITHHELD])].groupby("budget_period")["cents"].sum()
    expected = (state * 100).round().astype(int)
    assert booked.to_dict() == expected[expected > 0].to_dict()  # a row of 0 cents is not written
    covered = {bp: aco for _, aco, f, t in rows for bp in range(f, t + 1)}
    payees = dsti.groupby("budget_period")["entity_id"].unique()
    assert {bp: list(p) for bp, p in payees.items()} == {bp: [covered.get(bp, "H")] for bp in payees.index}
