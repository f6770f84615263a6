"""Payments released without their gate (dsrip_lib.payments.gating; protocol Sec 3.2-3.4, 5.5.1)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dsrip_lib.errors import InputValidationError
from dsrip_lib.inputs.validation import validate_table
from dsrip_lib.payments.gating import EXCEPTION_COLUMNS, PAYMENT_COLUMNS, exceptions_by_gate, gating_exceptions
from dsrip_lib.payments.ledger import build_ledger
from dsrip_lib.payments.streams import ALLOTMENT_COLUMNS

D = pd.Timestamp
ENTITIES = pd.DataFrame({"entity_id": ["A", "C", "L"], "entity_type": ["aco", "cp_bh", "aco"],
                         "join_budget_period": [0, 0, 2]})


def _allotment(entity, bp, usd, etype="aco"):
    aco = etype == "aco"
    return dict(entity_id=entity, entity_type=etype, stream="aco" if aco else "community_partners",
                sub_stream="startup_ongoing_primary_care" if aco else "infrastructure", budget_period=bp,
                calendar="aco" if aco else "cp", schedule="quarterly" if aco else "biannual", at_risk_share=0.0,
                allotted_usd=usd)


def _ledger(program, allotments):
    empty = pd.DataFrame(columns=ALLOTMENT_COLUMNS)
    reimbursed = pd.DataFrame(columns=["request_id", "entity_id", "budget_period", "quarter", "amount_approved",
                                       "reimbursed_usd"])
    return build_ledger(pd.DataFrame(allotments, columns=ALLOTMENT_COLUMNS), pd.DataFrame(), empty, reimbursed,
                        program).rows


def _documents(program, entities=ENTITIES):
    """Every document of every entity approved (or submitted) in good time."""
    plans = pd.DataFrame({"entity_id": list(entities["entity_id"]) * 2,
                          "plan": ["preliminary"] * len(entities) + ["full"] * len(entities),
                          "submitted_on": D("2017-05-01"), "approved_on": [D("2017-06-01")] * len(entities)
                          + [D("2018-03-01")] * len(entities)})
    budgets, reports = [], []
    for e, etype, join in entities.itertuples(index=False):
        kind = "aco" if etype == "aco" else "cp"
        for period in program.calendar.budget_periods(kind):
            if period.number >= join:
                start = D(period.start)
                budgets.append((e, period.number, start - pd.Timedelta(days=40), start - pd.Timedelta(days=10)))
        for r in program.gating.progress_reports(program.calendar, kind):
            if r.budget_period >= join:
                reports.append((e, r.budget_period, r.report, D(r.due_on), pd.NaT))  # review pending
    budgets = pd.DataFrame(budgets, columns=["entity_id", "budget_period", "submitted_on", "approved_on"])
    reports = pd.DataFrame(reports, columns=["entity_id", "budget_period", "report", "submitted_on", "approved_on"])
    return plans, budgets, reports


def _check(program, payments, plans, budgets, reports, entities=ENTITIES):
    return gating_exceptions(payments, entities, plans, budgets, reports, program)


def _set(frame, column, key, value):
    """The documents with ``column`` set to ``value`` on the row matching ``key``."""
    frame = frame.copy()
    hit = pd.Series(True, index=frame.index)
    for c, v in key.items():
        hit &= frame[c] == v
    assert hit.sum() == 1
    frame.loc[hit, column] = value
    return frame


@pytest.fixture
def paid(program):
    return _ledger(program, [_allotment("A", b, 4000.0) for b in range(6)]
                   + [_allotment("C", b, 2000.0, "cp_bh") for b in range(6)] + [_allotment("L", 3, 400.0)])


def test_progress_report_due_dates_are_the_protocols(program):
    """Sec 5.5.1 (lines 2311-2313, 2327-2331): the published due dates; BP 2-5 follow the pattern."""
    due = {k: {(r.budget_period, r.report): r.due_on for r in program.gating.progress_reports(program.calendar, k)}
           for k in ("aco", "cp")}
    assert due["aco"][(0, 1)] == dt.date(2018, 2, 28)
    assert due["aco"][(1, 1)] == dt.date(2018, 8, 31) and due["aco"][(1, 2)] == dt.date(2019, 2, 28)
    assert due["cp"][(0, 1)] == dt.date(2018, 5, 31)
    assert due["cp"][(1, 1)] == dt.date(2018, 11, 30) and due["cp"][(1, 2)] == dt.date(2019, 2, 28)
    assert due["cp"][(2, 1)] == dt.date(2019, 8, 31) and due["cp"][(2, 2)] == dt.date(2020, 2, 28)  # not the 29th
    assert due["aco"][(4, 2)] == dt.date(2022, 2, 28) and due["aco"][(5, 2)] == dt.date(2023, 2, 28)
    assert len(due["aco"]) == len(due["cp"]) == 11  # Prep has one report, BP 1-5 two each


def test_all_documents_in_time_gives_no_exception(program, paid):
    out = _check(program, paid, *_documents(program))
    assert out.empty and list(out.columns) == EXCEPTION_COLUMNS
    assert exceptions_by_gate(out)["payments"].tolist() == [0, 0, 0, 0]


def test_budget_approved_late_flags_the_installments_paid_before_it(program, paid):
    plans, budgets, reports = _documents(program)
    # BP 2's installments are dated 2019-01-01, 04-01, 07-01, 10-01; approval on 04-01 itself is in time
    budgets = _set(budgets, "approved_on", {"entity_id": "A", "budget_period": 2}, D("2019-04-01"))
    out = _check(program, paid, plans, budgets, reports)
    assert out[["entity_id", "budget_period", "installment", "gate"]].values.tolist() == [["A", 2, 1, "budget"]]
    row = out.iloc[0]
    assert row["paid_on"] == D("2019-01-01") and row["gate_date"] == D("2019-04-01") and row["days_early"] == 90
    assert row["amount_usd"] == 1000.0 and row["gate_budget_period"] == 2
    # one day later the second installment is early too
    budgets = _set(budgets, "approved_on", {"entity_id": "A", "budget_period": 2}, D("2019-04-02"))
    assert _check(program, paid, plans, budgets, reports)["installment"].tolist() == [1, 2]


def test_a_budget_never_approved_or_never_submitted_flags_every_payment_of_its_period(program, paid):
    plans, budgets, reports = _documents(program)
    pending = _set(budgets, "approved_on", {"entity_id": "C", "budget_period": 3}, pd.NaT)
    out = _check(program, paid, plans, pending, reports)
    assert out["installment"].tolist() == [1, 2] and (out["budget_period"] == 3).all()
    assert out["gate_date"].isna().all() and out["days_early"].isna().all()
    missing = budgets[~((budgets["entity_id"] == "C") & (budgets["budget_period"] == 3))]
    pd.testing.assert_frame_equal(_check(program, paid, plans, missing, reports), out)


def test_preliminary_plan_gates_prep_and_bp1_first_quarter_full_plan_the_rest(program, paid):
    plans, budgets, reports = _documents(program)
    # ACO BP 1 installments: 2018-01-01 (first quarter: preliminary plan), 2018-04-01 on (full plan)
    late = _set(plans, "approved_on", {"entity_id": "A", "plan": "full"}, D("2018-04-02"))
    out = _check(program, paid, late, budgets, reports)
    assert out[["budget_period", "installment", "gate"]].values.tolist() == [[1, 2, "full_participation_plan"]]
    assert out["gate_budget_period"].isna().all() and out["days_early"].tolist() == [1]
    # the preliminary plan gates the two Prep installments and BP 1's first
    late = _set(plans, "approved_on", {"entity_id": "A", "plan": "preliminary"}, D("2018-01-02"))
    out = _check(program, paid, late, budgets, reports)
    assert out[["budget_period", "installment"]].values.tolist() == [[0, 1], [0, 2], [1, 1]]
    assert set(out["gate"]) == {"preliminary_participation_plan"}
    # approved on the day of the payment is in time
    same_day = _set(plans, "approved_on", {"entity_id": "A", "plan": "preliminary"}, D("2018-01-01"))
    assert _check(program, paid, same_day, budgets, reports)["budget_period"].tolist() == [0, 0]


def test_cp_plans_follow_the_cp_calendar(program, paid):
    """CP BP 1 starts 2018-04-01: its first installment (April) is on the preliminary plan, October's on the full."""
    plans, budgets, reports = _documents(program)
    # on the ACO calendar a payment dated 2018-04-01 would need the full plan
    april = _set(plans, "approved_on", {"entity_id": "C", "plan": "full"}, D("2018-04-15"))
    assert _check(program, paid, april, budgets, reports).empty
    late = _set(plans, "approved_on", {"entity_id": "C", "plan": "full"}, D("2018-10-02"))
    out = _check(program, paid, late, budgets, reports)
    assert out[["entity_id", "budget_period", "installment", "paid_on"]].values.tolist() == [
        ["C", 1, 2, D("2018-10-01")]]


def test_a_late_progress_report_blocks_payments_from_its_due_date_to_its_submission(program, paid):
    plans, budgets, reports = _documents(program)
    key = {"entity_id": "A", "budget_period": 1, "report": 1}  # due 2018-08-31
    late = _set(reports, "submitted_on", key, D("2018-10-15"))
    out = _check(program, paid, plans, budgets, late)
    assert out[["budget_period", "installment", "gate", "gate_budget_period", "gate_report"]].values.tolist() == [
        [1, 4, "progress_report", 1, 1]]
    assert out["due_on"].tolist() == [D("2018-08-31")] and out["days_early"].tolist() == [14]
    # submitted on the payment's day: in time (Sec 5.5.1: payments resume from the submission)
    assert _check(program, paid, plans, budgets, _set(reports, "submitted_on", key, D("2018-10-01"))).empty
    # never submitted: every later payment to A is blocked, and only A's
    never = late[~((late["entity_id"] == "A") & (late["budget_period"] == 1) & (late["report"] == 1))]
    out = _check(program, paid, plans, budgets, never)
    assert set(out["entity_id"]) == {"A"} and (out["paid_on"] > D("2018-08-31")).all()
    assert len(out) == 1 + 4 * 3 + 2 and out["gate_date"].isna().all()


def test_a_payment_on_the_due_date_is_in_time_the_day_after_is_not(program):
    plans, budgets, reports = _documents(program)
    reports = reports[~((reports["entity_id"] == "A") & (reports["budget_period"] == 1) & (reports["report"] == 1))]
    payments = pd.DataFrame({"entity_id": "A", "entity_type": "aco", "stream": "aco",
                             "sub_stream": "flexible_services", "budget_period": 1, "installment": [2, 3],
                             "kind": "paid", "date": [D("2018-08-31"), D("2018-09-01")], "cents": 100})
    out = _check(program, payments, plans, budgets, reports)
    assert out["paid_on"].tolist() == [D("2018-09-01")]


def test_a_late_joiner_owes_no_report_of_periods_before_it_joined(program, paid):
    plans, budgets, reports = _documents(program)
    assert not (reports["entity_id"].eq("L") & reports["budget_period"].lt(2)).any()
    assert _check(program, paid, plans, budgets, reports).empty
    with pytest.raises(InputValidationError, match="(?s)progress_reports, column report.*entity_id='L'"):
        extra = pd.DataFrame({"entity_id": ["L"], "budget_period": [1], "report": [1], "submitted_on": [D("2018-08-01")],
                              "approved_on": [pd.NaT]})
        _check(program, paid, plans, budgets, pd.concat([reports, extra], ignore_index=True))


def test_only_cash_to_acos_cps_and_csas_is_gated(program):
    plans, budgets, reports = _documents(program)
    base = dict(stream="aco", sub_stream="startup_ongoing_discretionary", budget_period=2, installment=1,
                date=D("2019-01-01"), cents=100)
    payments = pd.DataFrame([
        dict(base, entity_id="A", entity_type="aco", kind="withheld"),
        dict(base, entity_id="A", entity_type="aco", kind="forfeited"),
        dict(base, entity_id="BMC", entity_type="dsti_hospital", kind="paid", sub_stream="dsti_glide_path"),
        dict(base, entity_id="state", entity_type="state", kind="paid", stream="statewide_investments"),
        dict(base, entity_id="A", entity_type="aco", kind="released", date=D("2020-12-15")),
    ])[PAYMENT_COLUMNS]
    budgets = budgets[budgets["entity_id"] != "A"]  # A has no budget at all
    out = _check(program, payments, plans, budgets, reports)
    assert out[["entity_id", "kind", "gate"]].values.tolist() == [["A", "released", "budget"]]


def test_input_order_does_not_matter(program, paid):
    plans, budgets, reports = _documents(program)
    budgets = _set(budgets, "approved_on", {"entity_id": "A", "budget_period": 2}, D("2019-08-01"))
    reports = _set(reports, "submitted_on", {"entity_id": "C", "budget_period": 1, "report": 2}, D("2019-08-01"))
    first = _check(program, paid, plans, budgets, reports)
    again = _check(program, paid.iloc[::-1], plans.iloc[::-1], budgets.sample(frac=1, random_state=1),
                   reports.iloc[::-1], ENTITIES.iloc[::-1])
    pd.testing.assert_frame_equal(first, again)
    # A: BP 2 installments 1-3; C: BP 2's July installment, after BP 1 report 2 was due (2019-02-28)
    assert first[["entity_id", "budget_period", "installment"]].values.tolist() == [
        ["A", 2, 1], ["A", 2, 2], ["A", 2, 3], ["C", 2, 2]]
    assert exceptions_by_gate(first).set_index("gate")["payments"].to_dict() == {
        "preliminary_participation_plan": 0, "full_participation_plan": 0, "budget": 3, "progress_report": 1}


@pytest.mark.parametrize("table, change, match", [
    ("budgets", lambda t: _set(t, "approved_on", {"entity_id": "A", "budget_period": 2}, D("2018-01-01")),
     r"(?s)budgets, column approved_on: rule \"approved on or after its submission\".*entity_id='A', budget_period=2"),
    ("plans", lambda t: _set(t, "approved_on", {"entity_id": "C", "plan": "full"}, D("2017-01-01")),
     r"(?s)participation_plans, column approved_on.*entity_id='C', plan='full'"),
    ("plans", lambda t: pd.concat([t, t.iloc[:1]], ignore_index=True), r"participation_plans.*one row per key"),
    ("plans", lambda t: _set(t, "plan", {"entity_id": "A", "plan": "full"}, "draft"), r"plan.*one of preliminary"),
    ("budgets", lambda t: _set(t, "entity_id", {"entity_id": "L", "budget_period": 3}, "X"),
     r"budgets, column entity_id.*entity_id='X'"),
    ("reports", lambda t: _set(t, "report", {"entity_id": "A", "budget_period": 0, "report": 1}, 2),
     r"progress_reports, column report.*budget_period=0, report=2"),
    ("reports", lambda t: _set(t, "submitted_on", {"entity_id": "A", "budget_period": 0, "report": 1}, pd.NaT),
     r"progress_reports, column submitted_on"),
    ("reports", lambda t: t.drop(columns="submitted_on"), r"progress_reports: missing column"),
    ("reports", lambda t: _set(t, "approved_on", {"entity_id": "C", "budget_period": 0, "report": 1},
                               D("2018-01-01")), r"progress_reports, column approved_on.*entity_id='C'"),
])
def test_bad_documents_are_refused_naming_table_column_and_rows(program, paid, table, change, match):
    docs = dict(zip(("plans", "budgets", "reports"), _documents(program)))
    docs[table] = change(docs[table])
    with pytest.raises(InputValidationError, match=match):
        _check(program, paid, docs["plans"], docs["budgets"], docs["reports"])


def test_contract_refuses_an_approval_before_its_submission(program):
    budgets = pd.DataFrame({"entity_id": ["A", "A"], "budget_period": [1, 2],
                            "submitted_on": [dt.date(2017, 11, 1), dt.date(2018, 11, 1)],
                            "approved_on": [dt.date(2017, 12, 1), dt.date(2018, 10, 31)]})
    validate_table("budgets", budgets.iloc[:1], program=program)
    with pytest.raises(InputValidationError, match="(?s)submitted_on <= approved_on.*1 row.*budget_period=2"):
        validate_table("budgets", budgets, program=program)


def test_no_payments_no_exceptions_and_no_documents_every_payment_flagged(program, paid):
    plans, budgets, reports = _documents(program)
    assert _check(program, paid.iloc[:0], plans, budgets, reports).empty
    none = [t.iloc[:0] for t in (plans, budgets, reports)]
    out = _check(program, paid, *none)
    cash = paid[paid["kind"] == "paid"]
    per_gate = out.groupby("gate").size()
    assert per_gate["budget"] == len(cash)
    assert per_gate["preliminary_participation_plan"] + per_gate["full_participation_plan"] == len(cash)
    # A's Prep report is due 2018-02-28: its payments from BP 1's second installment on are blocked by it
    assert ((out["gate"] == "progress_report") & (out["gate_budget_period"] == 0) & (out["entity_id"] == "A")).sum() \
        == len(cash[(cash["entity_id"] == "A") & (cash["date"] > D("2018-02-28"))])
    assert out["gate_date"].isna().all()
