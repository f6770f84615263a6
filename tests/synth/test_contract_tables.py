"""The generator's dsti_contracts and csa_caseload (dsrip_lib.synth.contracts), read back by the ledger."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dsrip_lib.inputs.validation import validate_table
from dsrip_lib.payments.dsti_contracts import uncontracted_hospital_periods
from dsrip_lib.payments.ledger import check_ledger, ledger_from_tables
from dsrip_lib.reports import payments_quarterly as report


def _read(path, table):
    return pd.read_parquet(path / f"{table}.parquet")


@pytest.fixture(scope="module")
def generated(tiny_data, program):
    """The tables, truth.json and the ledger of every stream with both contract tables."""
    truth = json.loads((tiny_data / "truth.json").read_text())
    tables = {t: _read(tiny_data, t) for t in ("entities", "dsti_payments", "dsti_contracts", "csa_caseload",
                                               "cp_engagement")}
    months = pd.DataFrame([(aco, int(bp), mm, 0.0) for aco, by_bp in truth["aco_member_months"].items()
                           for bp, mm in by_bp.items() if mm > 0],
                          columns=["entity_id", "budget_period", "member_months", "chc_member_months"])
    ledger = ledger_from_tables(months, tables["entities"], program, engagement=tables["cp_engagement"],
                                dsti_payments=tables["dsti_payments"], dsti_contracts=tables["dsti_contracts"],
                                csa_caseload=tables["csa_caseload"])
    return tables, truth["effects"], ledger


def test_both_tables_conform_to_the_contract(generated, program):
    tables, _, ledger = generated
    for name in ("dsti_contracts", "csa_caseload"):
        validate_table(name, tables[name], program=program)
    contracts, entities = tables["dsti_contracts"], tables["entities"].set_index("entity_id")
    assert set(contracts["hospital"]) == set(tables["dsti_payments"]["hospital"])
    assert (entities.loc[contracts["aco_id"], "entity_type"] == "aco").all()
    assert (entities.loc[tables["csa_caseload"]["entity_id"], "entity_type"] == "csa").all()
    check_ledger(ledger)


def test_the_ledger_leaves_exactly_the_planted_hospital_periods_at_state_level(generated):
    _, effects, ledger = generated
    planted = effects["dsti_contracts"]
    left = uncontracted_hospital_periods(ledger.allotments)
    assert sorted(map(list, zip(left["hospital"], left["budget_period"].astype(int)))) == \
        planted["uncontracted_hospital_periods"] != []
    assert {planted["late"], planted["lapsed"]} == set(left["hospital"])
    dsti = ledger.allotments[ledger.allotments["sub_stream"] == "dsti_glide_path"]
    assert (dsti["entity_type"] == "aco").sum() == planted["contracted_hospital_periods"]
    # the switching hospital is paid to two ACOs, one before and one from the switch
    switched = dsti[dsti["hospital"] == planted["switched"]]
    assert switched.loc[switched["entity_type"] == "aco", "entity_id"].nunique() == 2


def test_csa_caseloads_are_the_truths_and_plausibly_sized(generated, program):
    tables, effects, ledger = generated
    caseload, entities = tables["csa_caseload"], tables["entities"]
    periods = {m: p.number for p in program.calendar.budget_periods("cp") for m in p.months}
    by_period = caseload.assign(bp=caseload["month"].map(periods)).groupby(["entity_id", "bp"])["members"].sum()
    assert {e: {str(bp): int(n) for (e2, bp), n in by_period.items() if e2 == e}
            for e in by_period.index.get_level_values(0).unique()} == effects["csa_caseload"]["member_months"]
    csas = entities.loc[entities["entity_type"] == "csa", ["entity_id", "join_budget_period"]]
    for csa, join in csas.itertuples(index=False):  # every CSA, every period from its join (BP 1 at the earliest)
        assert sorted(by_period[csa].index) == list(range(max(1, join), 6))
    # each CSA serves about half an average BH CP's assigned members (csa_relative_size, docs/synthetic_data.md)
    engagement = tables["cp_engagement"].merge(entities, left_on="cp_id", right_on="entity_id")
    bh = engagement[(engagement["entity_type"] == "cp_bh") & engagement["month"].map(periods).ge(1)]
    per_bh_cp = len(bh) / bh["cp_id"].nunique()
    ratio = caseload.groupby("entity_id")["members"].sum() / per_bh_cp
    assert ((ratio > 0.15) & (ratio < 1.5)).all(), ratio
    infrastructure = ledger.allotments[(ledger.allotments["entity_type"] == "csa")
                                       & (ledger.allotments["budget_period"] > 0)]
    assert len(infrastructure) == len(by_period)  # every CSA-period with a caseload is allotted


def test_the_report_names_the_uncontracted_hospital_periods(tiny_data):
    ctx = report.open_payments_report(program="masshealth_dsrip", data_dir=str(tiny_data),
                                      options={"missing_domain": "reweight", "quarter": "2020Q3"})
    run = report.build(ctx)
    planted = json.loads((tiny_data / "truth.json").read_text())["effects"]["dsti_contracts"]
    text = report.dsti_text(run)
    assert f"{len(planted['uncontracted_hospital_periods'])} hospital-period(s) without a contract" in text
    for hospital, bp in planted["uncontracted_hospital_periods"]:
        assert f"{hospital} ({run.labels[bp]})" in text
    assert f"DSTI glide-path funds of {planted['contracted_hospital_periods']} hospital-period(s)" in text
    assert text in report.method_text(run, ctx)
