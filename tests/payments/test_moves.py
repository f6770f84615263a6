"""Recorded moves of the payment account: what each needs from CMS, and the authority it moves (moves.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from dsrip_lib.errors import DsripError, InputValidationError
from dsrip_lib.payments.ledger import authority_by_budget_period, build_ledger, check_ledger
from dsrip_lib.payments.moves import ADVANCE_NOTICE, MOVE_COLUMNS, move_allowances, review_moves
from dsrip_lib.payments.reallocation import APPROVAL, NOTICE
from dsrip_lib.payments.streams import ALLOTMENT_COLUMNS


def _moves(*rows):
    return pd.DataFrame([dict(zip(MOVE_COLUMNS, r)) for r in rows], columns=MOVE_COLUMNS)


def _review(program, *rows):
    return review_moves(_moves(*rows), program).set_index("move_id")


def test_a_carry_forward_above_15_percent_without_approval_is_flagged(program):
    # DY1's authority is $425M: 15% is $63.75M (Sec 4.7)
    got = _review(program,
                  ("big", "carry_forward", "aco", "flexible_services", None, None, 1, 63_750_000.01, "2018-07-01", None),
                  ("ok", "carry_forward", "aco", "flexible_services", None, None, 1, 63_750_000.00, None, None),
                  ("signed", "carry_forward", "aco", "flexible_services", None, None, 1, 70e6, "2018-07-01",
                   "2018-09-01"))
    assert got.loc["big", "needs"] == APPROVAL and got.loc["big", "flagged"]
    assert got.loc["ok", "needs"] == NOTICE and not got.loc["ok", "flagged"]
    assert got.loc["signed", "needs"] == APPROVAL and not got.loc["signed", "flagged"]
    assert got.loc["ok", "threshold_usd"] == 63_750_000.0


def test_a_shift_below_the_threshold_needs_notice_only(program):
    # Sec 4.6: approval above the larger of 15% of the source's DY funding and $1M
    got = _review(program,
                  ("small", "investment_shift", "statewide_investments", "technical_assistance",
                   "statewide_investments", "apm_preparation", 2, 1_000_000.0, None, None),
                  ("large", "investment_shift", "statewide_investments", "technical_assistance",
                   "statewide_investments", "apm_preparation", 2, 1e9, None, None))
    assert got.loc["small", "needs"] == NOTICE and not got.loc["small", "flagged"]
    assert got.loc["large", "flagged"]  # above the source's funding: not allowed at all
    assert not got.loc["large", "allowed"]


def test_redistribution_outside_sec_5_1_3_and_allocation_change_notice(program):
    got = _review(program,
                  ("dsti", "redistribution", None, None, "aco", "dsti_glide_path", 3, 1e6, None, None),
                  ("flex", "redistribution", None, None, "aco", "flexible_services", 3, 1e6, None, None),
                  ("shift", "allocation_change", "aco", "all", "community_partners", "all", 3, 160e6, None, None),
                  ("tiny", "allocation_change", "aco", "all", "community_partners", "all", 3, 1e6, None, None))
    assert not got.loc["dsti", "allowed"] and got.loc["dsti", "flagged"]
    assert got.loc["flex", "needs"] == NOTICE and not got.loc["flex", "flagged"]
    # 15% of Table F's ACO $1,065.6M is $159.84M: a larger reallocation needs notice before it takes effect
    assert got.loc["shift", "needs"] == ADVANCE_NOTICE and got.loc["shift", "flagged"]
    assert got.loc["tiny", "needs"] == NOTICE and not got.loc["tiny", "flagged"]


def test_bad_moves_are_refused(program):
    with pytest.raises(InputValidationError, match="approved on or after its notice"):
        review_moves(_moves(("m", "carry_forward", "aco", "flexible_services", None, None, 1, 1.0, "2019-01-02",
                             "2019-01-01")), program)
    with pytest.raises(InputValidationError, match="move 'm'"):
        review_moves(_moves(("m", "carry_forward", "aco", "flexible_services", None, None, 9, 1.0, None, None)),
                     program)
    with pytest.raises(InputValidationError, match="kind"):
        review_moves(_moves(("m", "gift", "aco", "flexible_services", None, None, 1, 1.0, None, None)), program)


def test_allowances_move_authority_between_streams_and_years(program):
    moves = _moves(("c", "carry_forward", "aco", "flexible_services", None, None, 2, 1_000.0, None, None),
                   ("r", "redistribution", None, None, "community_partners", "care_coordination", 2, 500.0, None,
                    None))
    got = move_allowances(moves, program).groupby("stream")["amount_usd"].sum()
    assert got["aco"] == pytest.approx(0.0)  # out of DY2, into DY3 of the same stream
    assert got["community_partners"] == pytest.approx(500.0)  # undistributed funds only add
    by_bp = move_allowances(moves.iloc[:1], program).groupby("budget_period")["amount_usd"].sum()
    # DY2 = SFY19 (half in BP 1, half in BP 2), DY3 = SFY20 (half in BP 2, half in BP 3)
    assert by_bp.to_dict() == pytest.approx({1: -500.0, 2: 0.0, 3: 500.0})  # BP 2: -500 + 500


def test_the_ledger_counts_a_recorded_move_as_an_allowance(program):
    limit = authority_by_budget_period(program).set_index(["stream", "budget_period"])["authority_usd"][("aco", 1)]
    over = pd.DataFrame([dict(entity_id="A", entity_type="aco", stream="aco", sub_stream="startup_ongoing_primary_care",
                              budget_period=1, calendar="aco", schedule="quarterly", at_risk_share=0.0,
                              allotted_usd=limit + 100.0)], columns=ALLOTMENT_COLUMNS)
    empty = pd.DataFrame(columns=ALLOTMENT_COLUMNS)
    reimb = pd.DataFrame(columns=["request_id", "entity_id", "budget_period", "quarter", "amount_approved",
                                  "reimbursed_usd"])
    # a redistribution into DY1 adds half its amount to BP 1 (DY1 = SFY18: half in Prep, half in BP 1)
    small = _moves(("r", "redistribution", None, None, "aco", "startup_ongoing_primary_care", 1, 100.0, None, None))
    with pytest.raises(DsripError, match="aco budget period 1"):
        build_ledger(over, pd.DataFrame(), empty, reimb, program, allowances=move_allowances(small, program))
    enough = small.assign(amount_usd=200.0)
    check_ledger(build_ledger(over, pd.DataFrame(), empty, reimb, program,
                              allowances=move_allowances(enough, program)))
