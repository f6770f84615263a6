"""The payments_quarterly report: every table total is the ledger's, the quarter is checked, the planted
early payments are found, and the notebook end to end on the tiny state."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from dsrip_lib.errors import ParameterError
from dsrip_lib.program.calendar import Quarter
from dsrip_lib.reports import payments_quarterly as report
from dsrip_lib.run import runner

APPROVED = {1: "2019-09-30", 2: "2020-09-30", 3: "2021-09-30"}
CASH = {"paid": 1, "released": 1, "returned": -1, "recouped": -1}


def _context(data_dir, **options):
    return report.open_payments_report(program="masshealth_dsrip", data_dir=str(data_dir),
                                       options={"missing_domain": "reweight", **options})


@pytest.fixture(scope="module")
def run(tiny_data):
    """2020Q3: BP 2's scores are approved in it (releases), BP 3 installments are paid in it."""
    return report.build(_context(tiny_data, quarter="2020Q3", scores_approved_on=APPROVED))


def _cash_cents(rows, start, end):
    """Signed cash cents of the ledger rows dated in [start, end], written independently of the report."""
    rows = rows[(rows["date"] >= pd.Timestamp(start)) & (rows["date"] <= pd.Timestamp(end))]
    return int(sum(c * CASH.get(k, 0) for c, k in zip(rows["cents"], rows["kind"])))


def _total(table, column, label_column="stream"):
    body = table[table[label_column] != "Total"]
    total = table.loc[table[label_column] == "Total", column].item()
    assert round(total * 100) == round(body[column].sum() * 100)  # the total row is its column's sum
    return round(total * 100)


def test_the_quarters_cash_is_the_ledgers_in_both_tables(run):
    expected = _cash_cents(run.ledger.rows, "2020-07-01", "2020-09-30")
    by_stream = report.quarter_by_stream_table(run)
    assert _total(by_stream, "net_usd") == expected
    assert _total(by_stream, "released_usd") > 0  # BP 2's scores approved on 2020-09-30
    account = report.payment_account_table(run)
    assert round(account["amount_usd"].sum() * 100) == expected
    assert set(account["date"]) <= {f"2020-{m:02d}-{d:02d}" for m in (7, 8, 9) for d in range(1, 32)}
    assert (account.loc[account["kind"] == "Released", "claimable_on"] == "2020-09-30").all()
    values = report.headline(run)
    assert round(values["quarter_payments_usd"][0] * 100) == expected


def test_year_to_date_is_the_ledgers_cash_since_the_demonstration_year_began(tiny_data, run, program):
    assert run.demonstration_year == 4  # 2020Q3 is in SFY2021 = DY4
    table = report.year_to_date_table(run)
    expected = _cash_cents(run.ledger.rows, "2020-07-01", "2020-09-30")  # DY4 began on 2020-07-01
    assert _total(table, "year_to_date_usd") == expected
    authority = program.funding.streams_by_dy.rows
    aco = table[table["stream"] == "ACO"].iloc[0]
    assert aco["authority_usd"] == pytest.approx(authority["aco"][4] * 1e6)
    assert aco["remaining_usd"] == pytest.approx(aco["authority_usd"] - aco["year_to_date_usd"])
    assert "State operations" not in set(table["stream"])
    later = report.build(_context(tiny_data, quarter="2021Q2", scores_approved_on=APPROVED))
    assert round(report.headline(later)["year_to_date_usd"][0] * 100) == _cash_cents(
        later.ledger.rows, "2020-07-01", "2021-06-30")


def test_withheld_balances_are_the_ledgers(run):
    table = report.withheld_table(run)
    balances = run.ledger.withheld_balances(pd.Timestamp("2020-09-30"))
    assert _total(table, "balance_usd") == round(balances["balance_usd"].sum() * 100)
    rows = run.ledger.rows
    to_date = rows[rows["at_risk"] & (rows["date"] <= pd.Timestamp("2020-09-30"))]
    assert _total(table, "withheld_usd") == int(to_date.loc[to_date["kind"] == "withheld", "cents"].sum())
    # released + forfeited + balance = withheld, row by row
    body = table[table["stream"] != "Total"]
    assert np.allclose(body["released_usd"] + body["forfeited_usd"] + body["balance_usd"], body["withheld_usd"])
    assert round(report.headline(run)["withheld_balance_usd"][0] * 100) == _total(table, "balance_usd")


def test_flexible_services_are_the_ledgers_for_the_quarters_budget_period(run):
    assert report.flexible_period(run) == 3
    table = report.flexible_table(run)
    allot = run.ledger.allotments
    allot = allot[(allot["sub_stream"] == "flexible_services") & (allot["budget_period"] == 3)]
    assert _total(table, "allotted_usd", "entity_id") == int(allot["allotted_cents"].sum())
    rows = run.ledger.rows
    flex = rows[(rows["sub_stream"] == "flexible_services") & (rows["budget_period"] == 3)
                & (rows["date"] <= pd.Timestamp("2020-09-30"))]
    assert _total(table, "reimbursed_usd", "entity_id") == int(flex.loc[flex["kind"] == "paid", "cents"].sum())
    assert _total(table, "forfeited_usd", "entity_id") == 0  # forfeits are dated at the period's end
    requests = run.flexible_requests
    asked = requests[(requests["budget_period"] == 3) & (requests["quarter"] <= 3)]
    assert _total(table, "requested_usd", "entity_id") == round(asked["amount_requested"].sum() * 100)
    body = table[table["entity_id"] != "Total"]
    assert (body["reimbursed_usd"] <= body["allotted_usd"] + 0.005).all()


def test_the_report_finds_exactly_the_planted_early_payments(tiny_data):
    planted = json.loads((tiny_data / "truth.json").read_text())["effects"]["early_payments"]
    run = report.build(_context(tiny_data, quarter="2022Q4", scores_approved_on=APPROVED))
    table = report.gating_table(run)
    found = {(e, g) for e, g in zip(run.gating["entity_id"], run.gating["gate"])}
    assert found == {(p["entity_id"], p["gate"]) for p in planted}
    summary = report.gating_summary_table(run)
    assert summary.loc[summary["gate"] == "Any gate", "payments"].item() == len(
        run.gating.drop_duplicates(["entity_id", "sub_stream", "budget_period", "installment", "kind", "paid_on"]))
    assert len(table) == len(run.gating) == report.headline(run)["gating_exceptions"][0]
    assert not table.isna().any().any()
    # an earlier quarter lists only the exceptions paid by its end
    early = report.build(_context(tiny_data, quarter="2018Q1"))
    assert len(report.gating_table(early)) == (run.gating["paid_on"] <= pd.Timestamp("2018-03-31")).sum()


def test_nothing_is_released_without_an_approval(tiny_data, run):
    none = report.build(_context(tiny_data, quarter="2020Q3"))
    assert not (none.ledger.rows["kind"] == "released").any()
    assert "No score approval is recorded" in report.method_text(none, _context(tiny_data))
    table = report.withheld_table(none)
    assert _total(table, "balance_usd") == _total(table, "withheld_usd")
    # the approvals move money from the balance to released + forfeited, never change what was withheld
    assert _total(table, "withheld_usd") == _total(report.withheld_table(run), "withheld_usd")


def test_one_approval_date_approves_every_period_ended_before_it(program):
    frame = report.approvals_frame(dt.date(2020, 9, 30), program)
    assert list(frame["budget_period"]) == [0, 1, 2]  # BP 3 ends on 2020-12-31
    frame = report.approvals_frame(dt.date(2021, 1, 1), program)
    assert list(frame["budget_period"]) == [0, 1, 2, 3]
    assert report.approvals_frame(None, program).empty
    with pytest.raises(ParameterError, match=r"no budget period \[9\]"):
        report.approvals_frame({9: dt.date(2021, 1, 1)}, program)


@pytest.mark.parametrize("quarter, message", [
    ("2017Q2", "2017Q2 is outside the program calendar (2017Q3 to 2022Q4"),
    ("2023Q1", "2023Q1 is outside the program calendar"),
    ("2020Q5", "'2020Q5' is not a quarter like '2020Q3'"),
    ("Q3 2020", "is not a quarter"),
])
def test_a_quarter_outside_the_calendar_is_refused_naming_it(program, quarter, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(")):
        report.parse_quarter(quarter, program)


def test_a_bad_quarter_is_refused_before_any_work(tiny_data):
    with pytest.raises(ParameterError, match="2030Q1 is outside"):
        report.build(_context(tiny_data, quarter="2030Q1"))


def test_the_default_quarter_is_the_last_with_cash(tiny_data, run):
    default = report.build(_context(tiny_data))
    cash = default.ledger.cash()
    assert default.quarter == Quarter(2022, 4)
    assert (cash["date"] <= pd.Timestamp("2022-12-31")).all() and (cash["date"] >= pd.Timestamp("2022-10-01")).any()


@pytest.mark.slow
def test_report_end_to_end_publishes_the_ledgers_totals(tiny_data, tmp_path):
    params = tmp_path / "p.yaml"
    options = {"missing_domain": "reweight", "quarter": "2020Q3", "scores_approved_on": APPROVED}
    params.write_text(yaml.safe_dump({"run_id": "p", "data_dir": str(tiny_data), "reports_dir": str(tmp_path / "r"),
                                      "options": {"payments_quarterly": options}}))
    html = runner.run_notebook("payments_quarterly", params, {})
    values = json.loads(html.with_name("payments_quarterly.results.json").read_text())
    assert set(values) == {"quarter_payments_usd", "year_to_date_usd", "withheld_balance_usd", "gating_exceptions"}
    expected = report.headline(report.build(_context(tiny_data, **options)))
    for name, (value, _) in expected.items():
        assert values[name]["value"] == pytest.approx(value, abs=0.005)
    text = html.read_text()
    for heading in ("Payments made in the quarter", "Year to date against expenditure authority", "Withheld balances",
                    "Flexible services", "Payments released before their gate", "Allocation changes"):
        assert heading in text
    assert html.with_name("payments_quarterly.xlsx").exists()


def test_outcomes_pools_are_paid_in_the_quarter_the_scores_are_approved(tiny_data, program):
    run = report.build(_context(tiny_data, quarter="2021Q3", scores_approved_on=APPROVED))
    rows = run.ledger.rows
    pools = rows[rows["sub_stream"] == "outcomes_based_payments"]
    assert len(pools)  # the tiny state has CPs at the excellence benchmark of every avoidable-utilisation measure
    assert (pools["date"] == pd.Timestamp("2021-09-30")).all() and not pools["at_risk"].any()
    stated = program.cp_payments.outcomes_pool_usd
    for (etype, bp), cents in pools.groupby(["entity_type", "budget_period"])["cents"].sum().items():
        assert cents == round(stated[etype][int(bp)] * 100)  # each awarded pool to the cent
    by_stream = report.quarter_by_stream_table(run)
    line = by_stream[by_stream["sub_stream"] == "Outcomes-based payments (pool)"]
    assert round(line["paid_usd"].item() * 100) == int(pools["cents"].sum())
    assert "Outcomes-based pools" in report.extras_text(run, _context(tiny_data))


def test_remediation_and_recoupment_rows_in_the_quarter(tiny_data):
    approved = {**APPROVED, 4: "2022-03-15", 5: "2023-03-15"}
    plain = report.build(_context(tiny_data, quarter="2022Q4", scores_approved_on=approved))
    rows = plain.ledger.rows
    forfeited = rows[(rows["kind"] == "forfeited") & rows["at_risk"] & (rows["entity_id"] == "ACO01")
                     & (rows["budget_period"] == 1)]
    plan = {"approved_share": 0.5, "plan_score": 7, "approved_on": "2022-11-01"}
    options = dict(quarter="2022Q4", scores_approved_on=approved, remediation={"ACO01": {1: plan}}, recoup=True,
                   recouped_on="2022-12-01")
    ctx = _context(tiny_data, **options)
    run = report.build(ctx)
    rows = run.ledger.rows
    # remediation: half up of 35% of the forfeited cents of each sub-stream, released on the plan's approval date
    back = rows[rows["note"] == "remediation"]
    expected = sum((2 * int(c) * 7 + 20) // 40 for c in forfeited.groupby("sub_stream")["cents"].sum())
    assert int(back["cents"].sum()) == expected > 0
    account = report.payment_account_table(run)
    assert round(account.loc[account["kind"] == "Released (remediation)", "amount_usd"].sum() * 100) == expected
    # recoupment: per class, the class split to the cent; nothing from an entity that scored 100%
    assert run.recoupments
    recouped = rows[rows["kind"] == "recouped"]
    for bp, recoupment in run.recoupments.items():
        mine = recouped[recouped["budget_period"] == bp]
        allocated = recoupment.classes.set_index("entity_class")["allocated_cents"]
        by_stream = mine.groupby("stream")["cents"].sum()
        assert by_stream.get("aco", 0) == allocated["aco"]
        assert by_stream.get("community_partners", 0) == allocated["community_partners"]
        full = recoupment.rows.loc[recoupment.rows["accountability_score"] == 1.0, "entity_id"]
        assert not set(mine["entity_id"]) & set(full)
    recouped_in_account = account.loc[account["kind"] == "Recouped", "amount_usd"].sum()
    assert round(recouped_in_account * 100) == -int(recouped["cents"].sum())
    assert _total(report.quarter_by_stream_table(run), "recouped_usd") == int(recouped["cents"].sum())
    text = report.method_text(run, ctx)
    assert "recouped on 2022-12-01" in text and "earn back" in text
    # everything else is the plain run's ledger
    assert (report.headline(plain)["quarter_payments_usd"][0] * 100 + expected - recouped["cents"].sum()
            == pytest.approx(report.headline(run)["quarter_payments_usd"][0] * 100, abs=0.5))


def test_recoup_needs_its_date(tiny_data):
    with pytest.raises(ParameterError, match="recouped_on"):
        _context(tiny_data, recoup=True)


def test_recorded_funding_moves_are_listed_with_what_they_need(tiny_data, tmp_path):
    import shutil
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    (data / "funding_moves.parquet").unlink()  # this test records its own moves
    pd.DataFrame({
        "move_id": ["cf", "shift", "old"], "kind": ["carry_forward", "investment_shift", "redistribution"],
        "from_stream": ["aco", "statewide_investments", None],
        "from_substream": ["flexible_services", "technical_assistance", None],
        "to_stream": [None, "statewide_investments", "aco"], "to_substream": [None, "apm_preparation",
                                                                             "flexible_services"],
        "demonstration_year": [3, 3, 2], "amount_usd": [100e6, 500_000.0, 1_000.0],
        "notified_on": ["2020-08-01", "2020-07-15", "2019-08-01"], "approved_on": [None, None, None],
    }).to_csv(data / "funding_moves.csv", index=False)
    run = report.build(_context(data, quarter="2020Q3", scores_approved_on=APPROVED))
    moves = report.moves_table(run).set_index("move_id")
    assert list(moves.index) == ["cf", "shift"]  # "old" was recorded in 2019Q3
    assert moves.loc["cf", "needs"] == "CMS approval" and moves.loc["cf", "flagged"]  # 15% of DY3 is exceeded
    assert moves.loc["shift", "needs"].startswith("notice") and not moves.loc["shift", "flagged"]
    assert "2 move(s) in 2020Q3" in report.moves_text(run) and "1 of them flagged" in report.moves_text(run)
