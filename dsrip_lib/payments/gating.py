"""Payments released without their gate: the compliance check of the State Auditor's 2022 DSRIP audit.

A payment to an ACO, CP or CSA waits for three documents (``docs/methodology/payment_gating.md``):

* ``preliminary_participation_plan`` / ``full_participation_plan`` (Sec 3.2.1, 3.2.2): the
  preliminary plan approved for the Preparation Budget Period's payments and those of BP 1's
  first quarter (``program.gating.preliminary_plan_until``), the full plan for every other payment;
* ``budget`` (Sec 3.3, 3.4.4): the budget of the payment's budget period approved;
* ``progress_report`` (Sec 5.5.1): every semiannual progress report whose due date has passed
  submitted ("must submit their semiannual progress reports in order to receive further DSRIP
  funding").

A payment is on time when it is dated on or after the approval (or submission) date: the text
forbids disbursing to an entity that "does not have" an approved document, and on the approval
day it has one; a report is missing only after its due date ("no later than").

References
----------
MassHealth DSRIP Protocol, Sec 3.2.1, 3.2.2, 3.3, 3.4.4, 5.5.1.
"""

from __future__ import annotations

import pandas as pd

from dsrip_lib.inputs.codes import FULL_PLAN, PARTICIPATION_PLANS, PLAN_ENTITY_TYPES, PRELIMINARY_PLAN, calendar_of
from dsrip_lib.inputs.frame_checks import reject_rows, require_columns, require_unique
from dsrip_lib.payments.ledger import PAID, RELEASED
from dsrip_lib.program import Program

PRELIMINARY_GATE, FULL_GATE = "preliminary_participation_plan", "full_participation_plan"
BUDGET_GATE, REPORT_GATE = "budget", "progress_report"
GATES = (PRELIMINARY_GATE, FULL_GATE, BUDGET_GATE, REPORT_GATE)
PLAN_GATE = {PRELIMINARY_PLAN: PRELIMINARY_GATE, FULL_PLAN: FULL_GATE}
PAYMENT_COLUMNS = ["entity_id", "entity_type", "stream", "sub_stream", "budget_period", "installment", "kind",
                   "date", "cents"]
EXCEPTION_COLUMNS = ["entity_id", "entity_type", "stream", "sub_stream", "budget_period", "installment", "kind",
                     "paid_on", "amount_usd", "gate", "gate_budget_period", "gate_report", "due_on", "gate_date",
                     "days_early"]
DOCUMENT_COLUMNS = ["submitted_on", "approved_on"]


def gating_exceptions(payments: pd.DataFrame, entities: pd.DataFrame, participation_plans: pd.DataFrame,
                      budgets: pd.DataFrame, progress_reports: pd.DataFrame, program: Program) -> pd.DataFrame:
    """Every payment released before its gate was satisfied, one row per payment and gate it failed.

    Parameters
    ----------
    payments : DataFrame
        Ledger rows (``dsrip_lib.payments.ledger.Ledger.rows``): ``entity_id, entity_type, stream,
        sub_stream, budget_period, installment, kind, date, cents``. The cash paid to an ACO, CP or
        CSA (kinds ``paid`` and ``released``) is checked; other payees (DSTI hospitals, the
        statewide investments) and other kinds are not gated.
    entities : DataFrame
        The contract's ``entities`` (``entity_id, entity_type, join_budget_period``): the reports
        an entity owes start with its join budget period.
    participation_plans, budgets, progress_reports : DataFrame
        The contract's tables of those names (an empty frame: no document was ever submitted).
    program : Program
        The calendar and the ``gating`` block.

    Returns
    -------
    DataFrame
        :data:`EXCEPTION_COLUMNS`: the payment (``paid_on``, ``amount_usd``), the ``gate`` it
        failed, the budget period and report number of the gating document (null for plans), a
        report's ``due_on``, ``gate_date`` (the approval, or for a report the submission; null
        when there is none) and ``days_early`` (``gate_date - paid_on`` in days; null when the
        document never came). Sorted by entity, date, sub-stream, installment and gate.

    Raises
    ------
    InputValidationError
        A missing column, a duplicated document, an approval before its submission, a plan kind
        outside the code set, a document of an entity not in ``entities`` or not an ACO, CP or
        CSA, a progress report the calendar does not have.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 3.2.1, 3.2.2, 3.3, 3.4.4, 5.5.1.
    """
    gating = program.require("gating")
    require_columns(payments, "payments", PAYMENT_COLUMNS)
    require_columns(entities, "entities", ["entity_id", "entity_type", "join_budget_period"])
    plans = _documents(participation_plans, "participation_plans", ["entity_id", "plan"], entities)
    reject_rows(plans, "participation_plans", ~plans["plan"].isin(PARTICIPATION_PLANS), "plan",
                f"one of {', '.join(PARTICIPATION_PLANS)}", ["entity_id", "plan"])
    budgets = _documents(budgets, "budgets", ["entity_id", "budget_period"], entities)
    reports = _documents(progress_reports, "progress_reports", ["entity_id", "budget_period", "report"], entities)
    owed = _owed_reports(entities, program)
    key = ["entity_id", "budget_period", "report"]
    unknown = pd.Series(~_keys(reports, key).isin(_keys(owed, key)), index=reports.index)
    reject_rows(reports, "progress_reports", unknown, "report",
                "a report of the entity's calendar from its join budget period (Sec 5.5.1)",
                ["entity_id", "budget_period", "report"])

    cash = payments[payments["kind"].isin([PAID, RELEASED]) & payments["entity_type"].isin(PLAN_ENTITY_TYPES)
                    & (payments["cents"] > 0)]
    cash = cash[PAYMENT_COLUMNS].rename(columns={"date": "paid_on"}).reset_index(drop=True)
    cash["paid_on"] = pd.to_datetime(cash["paid_on"])
    cash["budget_period"] = cash["budget_period"].astype("int64")
    found = [_plan_exceptions(cash, plans, gating, program), _budget_exceptions(cash, budgets),
             _report_exceptions(cash, reports, owed)]
    out = pd.concat([f for f in found if len(f)], ignore_index=True) if any(len(f) for f in found) else None
    if out is None:
        return pd.DataFrame({c: pd.Series(dtype=_EMPTY_DTYPES.get(c, "object")) for c in EXCEPTION_COLUMNS})
    out["amount_usd"] = out["cents"] / 100
    out["days_early"] = (out["gate_date"] - out["paid_on"]).dt.days.astype("Int64")
    for column in ("gate_budget_period", "gate_report"):
        out[column] = out[column].astype("Int64")
    order = {gate: k for k, gate in enumerate(GATES)}
    out = out.assign(_gate=out["gate"].map(order)).sort_values(
        ["entity_id", "paid_on", "sub_stream", "installment", "kind", "_gate"], ignore_index=True)
    return out[EXCEPTION_COLUMNS]


def exceptions_by_gate(exceptions: pd.DataFrame) -> pd.DataFrame:
    """Payments, entities and dollars released early per gate (every gate listed, zero if none)."""
    grouped = exceptions.groupby("gate").agg(payments=("amount_usd", "size"), entities=("entity_id", "nunique"),
                                             amount_usd=("amount_usd", "sum"))
    return grouped.reindex(list(GATES), fill_value=0).rename_axis("gate").reset_index()


# -- the gates -----------------------------------------------------------------------------------
_EMPTY_DTYPES = {"paid_on": "datetime64[ns]", "due_on": "datetime64[ns]", "gate_date": "datetime64[ns]",
                 "amount_usd": "float64", "days_early": "Int64", "gate_budget_period": "Int64",
                 "gate_report": "Int64", "budget_period": "int64", "installment": "int64"}


def _late(frame: pd.DataFrame, gate_date: str) -> pd.Series:
    """Paid before ``gate_date`` or with no such date: the gate was not satisfied when paid."""
    return frame[gate_date].isna() | (frame["paid_on"] < frame[gate_date])


def _plan_exceptions(cash: pd.DataFrame, plans: pd.DataFrame, gating, program: Program) -> pd.DataFrame:
    """Sec 3.2.1, 3.2.2: the preliminary plan up to the first quarter of BP 1, the full plan after."""
    calendar = program.calendar
    kinds = cash["entity_type"].map(calendar_of)
    full_from = {key: gating.preliminary_plan_covers(calendar, *key)
                 for key in set(zip(kinds, cash["budget_period"]))}
    start = pd.to_datetime(pd.Series([full_from[key] for key in zip(kinds, cash["budget_period"])],
                                     index=cash.index, dtype="object"))
    needed = cash.assign(plan=(start.isna() | (cash["paid_on"] < start)).map({True: PRELIMINARY_PLAN,
                                                                              False: FULL_PLAN}))
    rows = needed.merge(plans[["entity_id", "plan", "approved_on"]], on=["entity_id", "plan"], how="left")
    rows = rows[_late(rows, "approved_on")]
    return rows.assign(gate=rows["plan"].map(PLAN_GATE), gate_budget_period=pd.NA, gate_report=pd.NA,
                       due_on=pd.NaT, gate_date=rows["approved_on"]).drop(columns=["plan", "approved_on"])


def _budget_exceptions(cash: pd.DataFrame, budgets: pd.DataFrame) -> pd.DataFrame:
    """Sec 3.3: no funds for a budget period before that period's budget is approved."""
    rows = cash.merge(budgets[["entity_id", "budget_period", "approved_on"]], on=["entity_id", "budget_period"],
                      how="left")
    rows = rows[_late(rows, "approved_on")]
    return rows.assign(gate=BUDGET_GATE, gate_budget_period=rows["budget_period"], gate_report=pd.NA,
                       due_on=pd.NaT, gate_date=rows["approved_on"]).drop(columns=["approved_on"])


def _report_exceptions(cash: pd.DataFrame, reports: pd.DataFrame, owed: pd.DataFrame) -> pd.DataFrame:
    """Sec 5.5.1: paid after a report's due date and before the report was submitted."""
    owed = owed.merge(reports[["entity_id", "budget_period", "report", "submitted_on"]],
                      on=["entity_id", "budget_period", "report"], how="left")
    owed = owed.rename(columns={"budget_period": "gate_budget_period", "report": "gate_report"})
    rows = cash.merge(owed, on="entity_id")
    rows = rows[(rows["due_on"] < rows["paid_on"]) & _late(rows, "submitted_on")]
    return rows.assign(gate=REPORT_GATE, gate_date=rows["submitted_on"]).drop(columns=["submitted_on"])


# -- inputs --------------------------------------------------------------------------------------
def _keys(frame: pd.DataFrame, key: list[str]) -> pd.Index:
    return pd.MultiIndex.from_frame(frame[key].astype({c: "int64" for c in key if c != "entity_id"}))


def _owed_reports(entities: pd.DataFrame, program: Program) -> pd.DataFrame:
    """``entity_id, budget_period, report, due_on``: every report of each ACO, CP and CSA from its
    join budget period (Sec 5.5.1)."""
    gating = program.require("gating")
    payees = entities[entities["entity_type"].isin(PLAN_ENTITY_TYPES)]
    rows = [(entity, r.budget_period, r.report, r.due_on)
            for entity, kind, join in zip(payees["entity_id"], payees["entity_type"].map(calendar_of),
                                          payees["join_budget_period"].astype(int))
            for r in gating.progress_reports(program.calendar, kind, join)]
    out = pd.DataFrame(rows, columns=["entity_id", "budget_period", "report", "due_on"])
    return out.assign(budget_period=out["budget_period"].astype("int64"), report=out["report"].astype("int64"),
                      due_on=pd.to_datetime(out["due_on"]))


def _documents(frame: pd.DataFrame, table: str, key: list[str], entities: pd.DataFrame) -> pd.DataFrame:
    """A gating table with dates parsed, checked: one row per document, approved on or after its
    submission, of a known ACO, CP or CSA."""
    require_columns(frame, table, [*key, *DOCUMENT_COLUMNS])
    out = frame.assign(**{c: pd.to_datetime(frame[c]) for c in DOCUMENT_COLUMNS})
    require_unique(out, table, key)
    reject_rows(out, table, out["submitted_on"].isna(), "submitted_on", "a submission date", key)
    reject_rows(out, table, out["approved_on"] < out["submitted_on"], "approved_on",
                "approved on or after its submission", [*key, *DOCUMENT_COLUMNS])
    payees = set(entities.loc[entities["entity_type"].isin(PLAN_ENTITY_TYPES), "entity_id"])
    reject_rows(out, table, ~out["entity_id"].isin(payees), "entity_id",
                f"an entity of entities with entity_type {' or '.join(PLAN_ENTITY_TYPES)}", key)
    return out
