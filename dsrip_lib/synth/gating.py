"""The documents DSRIP payments wait for: participation plans, budgets, progress reports, with a few
payments planted to be released before their gate (``truth.json`` ``effects.early_payments``).

Every ACO, CP and CSA has its preliminary and full participation plans, a budget for each budget
period from its join period, and every semiannual progress report it owes. Plans and budgets are
approved a few days before the first payment they gate (the ledger dates an installment on the
first day of the months it covers), reports submitted by their due date; the planted ACOs' budget
is approved after a given quarterly installment, or their progress report submitted after the next
installment following its due date, so that exactly those installments (and any payment between)
are early.

References
----------
MassHealth DSRIP Protocol, Sec 3.2.1, 3.2.2 (participation plans), Sec 3.3, 3.4.4 (budgets),
Sec 4.4.1 (quarterly installments), Sec 5.5.1, 5.5.2 (progress reports).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dsrip_lib.inputs.codes import ACO_ENTITY_TYPE, FULL_PLAN, PLAN_ENTITY_TYPES, PRELIMINARY_PLAN, calendar_of
from dsrip_lib.synth.config import N_MONTHS_PER_YEAR, Config
from dsrip_lib.synth.writer import TableWriter

BUDGET_GATE, REPORT_GATE = "budget", "progress_report"  # the gate names of dsrip_lib.payments.gating


@dataclass(frozen=True)
class GatingTables:
    """The three contract tables and the planted early payments (truth.json records)."""

    participation_plans: pd.DataFrame
    budgets: pd.DataFrame
    progress_reports: pd.DataFrame
    early_payments: list[dict]


def _days(rng: np.random.Generator, bounds) -> pd.Timedelta:
    return pd.Timedelta(days=int(rng.integers(bounds[0], bounds[1] + 1)))


def _installment_date(cfg: Config, budget_period: int, k: int) -> pd.Timestamp:
    """The k-th (1-based) quarterly installment of an ACO budget period: the first day of its quarter."""
    step = N_MONTHS_PER_YEAR // cfg.program.require("aco_payments").installments_per_budget_period
    start = cfg.program.calendar.budget_period(budget_period, "aco").start
    return pd.Timestamp(start) + pd.DateOffset(months=step * (k - 1))


def _plant_acos(rng: np.random.Generator, entities: pd.DataFrame, member_months: dict[str, np.ndarray],
                budget_period: int, n: int, taken: set[str]) -> list[str]:
    """``n`` ACOs paid in ``budget_period`` (members that period), not already planted."""
    acos = entities[(entities["entity_type"] == ACO_ENTITY_TYPE) & (entities["join_budget_period"] <= budget_period)]
    eligible = sorted(a for a in acos["entity_id"] if member_months[a][budget_period] > 0 and a not in taken)
    return [str(a) for a in rng.choice(eligible, size=min(n, len(eligible)), replace=False)]


def gating_tables(cfg: Config, rng: np.random.Generator, entities: pd.DataFrame,
                  member_months: dict[str, np.ndarray]) -> GatingTables:
    """Plans, budgets and progress reports of every ACO, CP and CSA, with the planted late documents.

    Parameters
    ----------
    entities : DataFrame
        The generated ``entities`` table.
    member_months : dict
        ACO id -> member-months per ACO budget period (planted ACOs are paid in the planted period).
    """
    calendar, gating, par = cfg.program.calendar, cfg.program.require("gating"), cfg.calibration["gating"]
    span = gating.preliminary_plan_until
    plans, budgets, reports = [], [], []

    def approved(before: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
        on = pd.Timestamp(before) - _days(rng, par["approved_days_before_payment"])
        return on - _days(rng, par["review_days"]), on

    payees = entities[entities["entity_type"].isin(PLAN_ENTITY_TYPES)].sort_values("entity_id")
    for entity, etype, join in zip(payees["entity_id"], payees["entity_type"], payees["join_budget_period"]):
        kind, join = calendar_of(etype), int(join)
        first_full = gating.preliminary_plan_covers(calendar, kind, max(join, span.budget_period))
        plans += [(entity, PRELIMINARY_PLAN, *approved(calendar.budget_period(join, kind).start)),
                  (entity, FULL_PLAN, *approved(first_full))]
        budgets += [(entity, p.number, *approved(p.start)) for p in calendar.budget_periods(kind)[join:]]
        for r in gating.progress_reports(calendar, kind, join):
            submitted = pd.Timestamp(r.due_on) - _days(rng, par["report_submitted_days_before_due"])
            reports.append((entity, r.budget_period, r.report, submitted,
                            submitted + _days(rng, par["report_review_days"])))
    plans = pd.DataFrame(plans, columns=["entity_id", "plan", "submitted_on", "approved_on"])
    budgets = pd.DataFrame(budgets, columns=["entity_id", "budget_period", "submitted_on", "approved_on"])
    reports = pd.DataFrame(reports, columns=["entity_id", "budget_period", "report", "submitted_on", "approved_on"])

    early, taken = [], set()
    late = par["late_budgets"]
    bp, n = late["budget_period"], late["installments_early"]
    for aco in _plant_acos(rng, entities, member_months, bp, late["acos"], taken):
        taken.add(aco)
        on = _installment_date(cfg, bp, n) + _days(rng, par["days_after_installment"])
        budgets.loc[(budgets["entity_id"] == aco) & (budgets["budget_period"] == bp), "approved_on"] = on
        early.append(_record(aco, BUDGET_GATE, bp, bp, None, on, list(range(1, n + 1))))
    late = par["late_reports"]
    bp, report = late["budget_period"], late["report"]
    due = next(r.due_on for r in gating.progress_reports(calendar, "aco") if (r.budget_period, r.report) == (bp, report))
    k = next(k for k in range(1, N_MONTHS_PER_YEAR + 1) if _installment_date(cfg, bp, k) > pd.Timestamp(due))
    for aco in _plant_acos(rng, entities, member_months, bp, late["acos"], taken):
        on = _installment_date(cfg, bp, k) + _days(rng, par["days_after_installment"])
        row = (reports["entity_id"] == aco) & (reports["budget_period"] == bp) & (reports["report"] == report)
        reports.loc[row, ["submitted_on", "approved_on"]] = [on, on + _days(rng, par["report_review_days"])]
        early.append(_record(aco, REPORT_GATE, bp, bp, report, on, [k]))
    dates = {"submitted_on", "approved_on"}
    return GatingTables(*(t.astype({c: "datetime64[ns]" for c in dates}) for t in (plans, budgets, reports)), early)


def write_gating_tables(writer: TableWriter, cfg: Config, rng: np.random.Generator, entities: pd.DataFrame,
                        aco_ids: np.ndarray, aco_member_months: np.ndarray) -> list[dict]:
    """Write the three tables; return truth.json's ``effects.early_payments``."""
    tables = gating_tables(cfg, rng, entities, dict(zip(aco_ids, aco_member_months)))
    for name in ("participation_plans", "budgets", "progress_reports"):
        writer.write(name, getattr(tables, name))
    return tables.early_payments


def _record(aco: str, gate: str, budget_period: int, gate_budget_period: int, report: int | None,
            gate_date: pd.Timestamp, installments: list[int]) -> dict:
    """A truth.json ``early_payments`` entry: the quarterly startup/ongoing installments paid early."""
    return {"entity_id": aco, "entity_type": ACO_ENTITY_TYPE, "gate": gate, "budget_period": budget_period,
            "gate_budget_period": gate_budget_period, "gate_report": report,
            "gate_date": gate_date.date().isoformat(), "installments": installments}
