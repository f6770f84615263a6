"""The generator's participation plans, budgets and progress reports, and its planted early payments
(dsrip_lib.synth.gating), found by the compliance check (dsrip_lib.payments.gating) on the ledger."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dsrip_lib.inputs.codes import PLAN_ENTITY_TYPES, calendar_of
from dsrip_lib.inputs.validation import validate_table
from dsrip_lib.payments.gating import gating_exceptions
from dsrip_lib.payments.ledger import ledger_from_tables

TABLES = ("participation_plans", "budgets", "progress_reports")


def _read(path, table):
    return pd.read_parquet(path / f"{table}.parquet")


@pytest.fixture(scope="module")
def documents(tiny_data):
    return {t: _read(tiny_data, t) for t in (*TABLES, "entities")}


@pytest.fixture(scope="module")
def exceptions(tiny_data, documents, program):
    truth = json.loads((tiny_data / "truth.json").read_text())
    months = pd.DataFrame([(aco, int(bp), mm, 0.0) for aco, by_bp in truth["aco_member_months"].items()
                           for bp, mm in by_bp.items() if mm > 0],
                          columns=["entity_id", "budget_period", "member_months", "chc_member_months"])
    ledger = ledger_from_tables(months, documents["entities"], program,
                                engagement=_read(tiny_data, "cp_engagement"),
                                flexible_requests=_read(tiny_data, "flexible_services"))
    found = gating_exceptions(ledger.rows, documents["entities"], *(documents[t] for t in TABLES), program)
    return found, truth["effects"]["early_payments"], ledger


def test_tables_conform_to_the_contract(documents, program):
    for table in TABLES:
        validate_table(table, documents[table], program=program)
        assert (documents[table]["approved_on"] >= documents[table]["submitted_on"]).all()


def test_every_payee_has_its_plans_budgets_and_reports(documents, program):
    entities = documents["entities"]
    payees = entities[entities["entity_type"].isin(PLAN_ENTITY_TYPES)]
    assert {"aco", "cp_bh", "cp_ltss", "csa"} <= set(payees["entity_type"])
    plans = documents["participation_plans"]
    assert sorted(zip(plans["entity_id"], plans["plan"])) == sorted(
        (e, p) for e in payees["entity_id"] for p in ("full", "preliminary"))
    budgets, reports = documents["budgets"], documents["progress_reports"]
    for entity, etype, join in payees[["entity_id", "entity_type", "join_budget_period"]].itertuples(index=False):
        kind = calendar_of(etype)
        mine = budgets[budgets["entity_id"] == entity]
        assert sorted(mine["budget_period"]) == [p.number for p in program.calendar.budget_periods(kind)[join:]]
        owed = program.gating.progress_reports(program.calendar, kind, join)
        mine = reports[reports["entity_id"] == entity]
        assert sorted(zip(mine["budget_period"], mine["report"])) == [(r.budget_period, r.report) for r in owed]
    assert not entities.loc[~entities["entity_type"].isin(PLAN_ENTITY_TYPES), "entity_id"].isin(
        budgets["entity_id"]).any()  # MCOs are paid no DSRIP funds


def test_the_check_finds_exactly_the_planted_early_payments(exceptions):
    found, planted, ledger = exceptions
    assert {p["gate"] for p in planted} == {"budget", "progress_report"}
    assert len({p["entity_id"] for p in planted}) == 3
    key = ["entity_id", "gate", "budget_period", "gate_budget_period", "gate_report"]
    got = found[key].astype(object).where(found[key].notna(), None).drop_duplicates()
    assert sorted(map(tuple, got.values.tolist())) == sorted(tuple(p[k] for k in key) for p in planted)
    for p in planted:
        mine = found[found["entity_id"] == p["entity_id"]]
        assert (mine["gate_date"] == pd.Timestamp(p["gate_date"])).all()
        startup = mine[mine["sub_stream"].str.startswith("startup_ongoing")]
        # both startup/ongoing sub-streams, each planted installment
        assert sorted(startup["installment"]) == sorted(p["installments"] * 2)
        assert (mine["days_early"] > 0).all()
    # everything else the ledger paid to an ACO, CP or CSA was paid in time
    paid = ledger.rows[ledger.rows["kind"].eq("paid") & ledger.rows["entity_type"].isin(PLAN_ENTITY_TYPES)]
    assert len(paid) > 10 * len(found) and {"aco", "cp_bh", "cp_ltss"} <= set(paid["entity_type"])


def test_the_planted_unapproved_funding_move_is_the_only_one_flagged(tiny_data, program):
    """truth.json's unapproved moves are exactly those the payment account review flags (Sec 4.6, 4.7)."""
    import json

    import pandas as pd

    from dsrip_lib.payments.moves import review_moves

    moves = pd.read_parquet(tiny_data / "funding_moves.parquet")
    reviewed = review_moves(moves, program)
    planted = json.loads((tiny_data / "truth.json").read_text())["effects"]["unapproved_moves"]
    assert sorted(reviewed.loc[reviewed["flagged"], "move_id"]) == sorted(planted) != []
    assert reviewed["allowed"].all()
