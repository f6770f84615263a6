"""Preliminary then final member counts: the first installment on preliminary counts, the later ones adjusted.

MassHealth DSRIP Protocol, Sec 3.4.4.1 (lines 284, 289, 295-300).
"""

from __future__ import annotations

import pandas as pd
import pytest

from dsrip_lib.payments.installments import schedule_installments
from dsrip_lib.payments.ledger import FINAL_COUNT, RETURNED, build_ledger, check_ledger, ledger_from_tables
from dsrip_lib.payments.streams import ALLOTMENT_COLUMNS, preliminary_member_months

EMPTY_FLEX = pd.DataFrame(columns=ALLOTMENT_COLUMNS)
EMPTY_REIMB = pd.DataFrame(columns=["request_id", "entity_id", "budget_period", "quarter", "amount_approved",
                                    "reimbursed_usd"])


def _allotment(final_usd, preliminary_usd, bp=2, share=0.15):
    return pd.DataFrame([dict(entity_id="A", entity_type="aco", stream="aco", sub_stream="startup_ongoing_discretionary",
                              budget_period=bp, calendar="aco", schedule="quarterly", at_risk_share=share,
                              allotted_usd=final_usd, allotted_cents=round(final_usd * 100),
                              preliminary_cents=None if preliminary_usd is None else round(preliminary_usd * 100))])


def _by_installment(final_usd, preliminary_usd, program, bp=2):
    out = schedule_installments(_allotment(final_usd, preliminary_usd, bp), program)
    return out.set_index("installment")[["paid_cents", "withheld_cents", "returned_cents"]]


def test_later_installments_are_adjusted_to_the_final_count(program):
    # final $1,000.00 (15% withheld: $150.00), preliminary $1,200.00 ($180.00 withheld):
    # Q1 pays $1,020 / 4 = $255.00 and withholds $45.00; Q2-Q4 share $850 - $255 = $595.00 and $105.00
    got = _by_installment(1000.0, 1200.0, program)
    assert got["paid_cents"].tolist() == [25_500, 19_834, 19_833, 19_833]
    assert got["withheld_cents"].tolist() == [4_500, 3_500, 3_500, 3_500]
    assert got["paid_cents"].sum() + got["withheld_cents"].sum() == 100_000  # final allotment, to the cent
    assert got["returned_cents"].sum() == 0


def test_a_higher_final_count_raises_the_later_installments(program):
    got = _by_installment(1000.0, 800.0, program)  # Q1: $680 / 4 = $170.00 paid, $30.00 withheld
    assert got["paid_cents"].tolist() == [17_000, 22_667, 22_667, 22_666]
    assert got["withheld_cents"].tolist() == [3_000, 4_000, 4_000, 4_000]


def test_without_a_preliminary_amount_the_split_is_even(program):
    assert _by_installment(1000.0, None, program)["paid_cents"].tolist() == [21_250] * 4


def test_bp5_first_half_adjusts_its_second_installment(program):
    got = _by_installment(1000.0, 1200.0, program, bp=5)  # two installments: Q1 $1,020 / 2, Q2 $850 - $510
    assert got["paid_cents"].tolist() == [51_000, 34_000] and got["withheld_cents"].tolist() == [9_000, 6_000]


def test_an_overpaid_first_installment_is_returned_and_the_ledger_holds(program):
    # final $200.00 ($170.00 paid, $30.00 withheld) but Q1 paid $255.00 on preliminary counts
    got = _by_installment(200.0, 1200.0, program)
    assert got["paid_cents"].tolist() == [25_500, 0, 0, 0]
    assert got["withheld_cents"].tolist() == [3_000, 0, 0, 0]
    assert got["returned_cents"].tolist() == [0, 8_500, 0, 0]
    allot = _allotment(200.0, 1200.0).drop(columns="allotted_cents")
    ledger = build_ledger(allot, pd.DataFrame(), EMPTY_FLEX, EMPTY_REIMB, program)
    check_ledger(ledger)
    back = ledger.rows[ledger.rows["kind"] == RETURNED]
    assert back["cents"].tolist() == [8_500] and back["note"].tolist() == [FINAL_COUNT]
    assert back["date"].tolist() == [pd.Timestamp("2019-04-01")]
    assert ledger.cash()["cash_usd"].sum() == pytest.approx(170.0)


def _counts():
    # ACO A1: 1,000 members through Oct 2018 (the BP 2 notification month), 1,100 from Nov 2018
    months = pd.date_range("2018-01-01", "2019-12-01", freq="MS")
    members = [1000 if m <= pd.Timestamp("2018-10-01") else 1100 for m in months]
    return pd.DataFrame({"aco_id": "A1", "month": months, "members": members, "chc_members": 0})


def test_preliminary_member_months_are_the_notification_snapshot(program):
    got = preliminary_member_months(_counts(), program).set_index("budget_period")
    # BP 1: no count before its notification (Oct 2017), so its first month; BP 2: October 2018
    assert got.loc[1, "snapshot_month"] == pd.Timestamp("2018-01-01")
    assert got.loc[1, "member_months"] == 12_000
    assert got.loc[2, "snapshot_month"] == pd.Timestamp("2018-10-01")
    assert got.loc[2, "member_months"] == 12_000  # final BP 2 member-months are 13,200


def test_ledger_from_tables_pays_final_startup_funding_after_the_true_up(program):
    entities = pd.DataFrame({"entity_id": ["A1"], "entity_type": "aco", "aco_model": ["B"], "risk_track": [2],
                             "safety_net_category": [3], "join_budget_period": [0]})
    final = pd.DataFrame({"entity_id": "A1", "budget_period": [2], "member_months": [13_200],
                          "chc_member_months": [0]})
    early = preliminary_member_months(_counts(), program)
    plain = ledger_from_tables(final, entities, program)
    trued = ledger_from_tables(final, entities, program, preliminary_member_months=early)
    check_ledger(trued)
    sums = [led.rows.groupby("kind")["cents"].sum() for led in (plain, trued)]
    assert sums[0]["paid"] == sums[1]["paid"] and sums[0]["withheld"] == sums[1]["withheld"]
    q = trued.rows[(trued.rows["kind"] == "paid") & (trued.rows["sub_stream"] == "startup_ongoing_primary_care")]
    # primary care $3 PMPM: Q1 on 12,000 preliminary member-months ($9,000), Q2-Q4 share $39,600 - $9,000
    assert q.sort_values("installment")["cents"].tolist() == [900_000, 1_020_000, 1_020_000, 1_020_000]
