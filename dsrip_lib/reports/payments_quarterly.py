"""The quarterly payments report (notebooks/payments_quarterly.ipynb): the DSRIP payment account to CMS.

The ledger (:mod:`dsrip_lib.payments.ledger`) holds every amount of every stream, sub-stream,
installment and kind; this module builds it once from the run's data and the accountability
stage's scores, and cuts it for one calendar quarter: the cash paid in the quarter, the demonstration
year to date against Exhibit 1, the withheld balances at the quarter's end, the flexible services
of the budget period, and the payments released before their gate (:mod:`dsrip_lib.payments.gating`).
Every total is a sum of ledger cents.

References
----------
MassHealth DSRIP Protocol, Sec 1.4 (Exhibit 1), Sec 3.2-3.4 and 5.5.1 (gates), Sec 4.4-4.6
(streams and installments), Sec 4.6-4.7 and 5.1.3 (shifts, carry forward, redistribution),
Sec 5.1.2 (Exhibits 19-22; CMS-64 claiming).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dsrip_lib.accountability.cp import cp_domain_scores
from dsrip_lib.attribution.member_months import member_months_by_period
from dsrip_lib.errors import ParameterError
from dsrip_lib.payments.dsti_contracts import uncontracted_hospital_periods
from dsrip_lib.payments.gating import exceptions_by_gate, gating_exceptions
from dsrip_lib.payments.moves import move_allowances, review_moves
from dsrip_lib.payments.recoupment import Recoupment
from dsrip_lib.payments.streams import DSTI, HOSPITAL, preliminary_member_months
from dsrip_lib.payments.ledger import (
    CASH_SIGN,
    FORFEITED,
    OUTCOMES_POOL,
    PAID,
    RECOUPED,
    RECOUPMENT,
    RELEASED,
    REMEDIATION,
    REMEDIATION_COLUMNS,
    RETURNED,
    WITHHELD,
    Ledger,
    ledger_from_tables,
)
from dsrip_lib.program import Program
from dsrip_lib.program.calendar import Calendar, Quarter
from dsrip_lib.reports import accountability, stages, state_accountability_recoupment
from dsrip_lib.reports.context import ReportContext, open_report

GATING_TABLES = ("participation_plans", "budgets", "progress_reports")
MOVE_TABLE_COLUMNS = ["move_id", "kind", "from_stream", "from_substream", "to_stream", "to_substream",
                      "demonstration_year", "amount_usd", "threshold_usd", "needs", "notified_on", "approved_on",
                      "allowed", "flagged", "reasons"]
CASH_KINDS = [k for k, sign in CASH_SIGN.items() if sign]
FLEXIBLE = "flexible_services"
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


class RemediationPlan(BaseModel):
    """An approved DSRIP Performance Remediation Plan of one entity and budget period (Sec 5.3.4, 5.4.6.1)."""

    model_config = ConfigDict(extra="forbid")

    approved_share: float
    plan_score: float
    approved_on: dt.date


class PaymentsOptions(BaseModel):
    """Options of the payments_quarterly report (validated on entry; unknown keys rejected).

    Attributes
    ----------
    quarter
        The calendar quarter reported, ``"2020Q3"``; default the last quarter of the program
        calendar with a payment in the ledger. A quarter outside every budget period is refused.
    scores_approved_on
        When CMS approved the accountability scores, releasing the withheld funds (Sec 5.1.2):
        one date (every budget period that ended before it) or ``{budget_period: date}``.
        Default none: nothing is released and every withheld amount stays a balance.
    infrastructure_point
        ILLUSTRATIVE: where in the Sec 4.5 infrastructure PMPM and Prep ranges the State pays
        (0 = low, 1 = high).
    missing_domain
        For the accountability scores the releases use: ``"raise"`` or ``"reweight"``, as in the
        accountability report.
    remediation
        Approved Performance Remediation Plans, ``{entity_id: {budget_period: {approved_share,
        plan_score, approved_on}}}``: each earns back part of the period's forfeited withhold on its
        approval date (Sec 5.3.4, 5.4.6.1). Default none.
    recoup
        Recoup the State's lost authority where no later budget period can absorb it (the State
        score of ``dsrip_lib/reports/state_accountability_recoupment.py``, which needs the quality
        and spending stages; Sec 5.1.1). Default false.
    recouped_on
        The date the recoupment is taken back (required with ``recoup``).
    """

    model_config = ConfigDict(extra="forbid")

    quarter: str | None = None
    scores_approved_on: dt.date | dict[int, dt.date] | None = None
    infrastructure_point: float = Field(0.5, ge=0, le=1)
    missing_domain: Literal["raise", "reweight"] = "raise"
    remediation: dict[str, dict[int, RemediationPlan]] | None = None
    recoup: bool = False
    recouped_on: dt.date | None = None

    @model_validator(mode="after")
    def _recoupment_is_dated(self):
        if self.recoup and self.recouped_on is None:
            raise ValueError("recoup needs recouped_on, the date the recoupment is taken back")
        return self


HEADERS = {
    "move_id": "Move", "from_stream": "From stream", "from_substream": "From sub-stream", "to_stream": "To stream",
    "to_substream": "To sub-stream", "demonstration_year": "Demonstration year", "threshold_usd": "Threshold ($)",
    "notified_on": "Notified", "approved_on": "Approved",
    "entity_id": "Payee", "name": "Name", "stream": "Stream", "sub_stream": "Sub-stream",
    "period": "Budget period", "installment": "Installment", "kind": "Kind", "date": "Date",
    "amount_usd": "Amount ($)", "claimable_on": "Claimable on the CMS-64",
    "paid_usd": "Paid ($)", "released_usd": "Released ($)", "returned_usd": "Returned ($)",
    "recouped_usd": "Recouped ($)", "net_usd": "Net cash ($)", "authority_usd": "Exhibit 1 authority ($)",
    "year_to_date_usd": "Year to date ($)", "share_used": "Share used", "remaining_usd": "Remaining ($)",
    "withheld_usd": "Withheld ($)", "forfeited_usd": "Forfeited ($)", "balance_usd": "Withheld balance ($)",
    "payees": "Payees", "allotted_usd": "Allotted ($)", "requested_usd": "Requested ($)",
    "approved_usd": "Approved ($)", "reimbursed_usd": "Reimbursed ($)", "gate": "Gate",
    "gate_period": "Gate budget period", "gate_report": "Progress report", "due_on": "Due",
    "gate_date": "Gate satisfied on", "days_early": "Days early", "paid_on": "Paid on", "payments": "Payments",
    "entities": "Entities",
}
STREAM_WORDS = {"aco": "ACO", "community_partners": "Community Partners", "statewide_investments":
                "Statewide investments", "state_operations": "State operations"}
GATE_WORDS = {"preliminary_participation_plan": "Preliminary participation plan",
              "full_participation_plan": "Full participation plan", "budget": "Approved budget",
              "progress_report": "Semiannual progress report"}


@dataclass(frozen=True)
class PaymentsRun:
    """The ledger and the quarter it is cut for.

    ``gating`` is None when the data has none of the gating tables (the check cannot run);
    ``moves`` the contract's ``funding_moves`` as ``dsrip_lib.payments.moves.review_moves`` judges
    them (None without the table);
    ``approvals`` the score approvals the ledger released withholds on; ``recoupments`` the
    recoupment of each budget period whose lost authority the ledger recoups (empty unless the run
    asks to recoup).
    """

    program: Program
    quarter: Quarter
    ledger: Ledger = field(repr=False)
    names: pd.DataFrame = field(repr=False)
    flexible_requests: pd.DataFrame = field(repr=False)
    approvals: pd.DataFrame = field(repr=False)
    gating: pd.DataFrame | None = field(repr=False)
    recoupments: dict[int, Recoupment] = field(default_factory=dict, repr=False)
    moves: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def start(self) -> pd.Timestamp:
        return pd.Timestamp(self.quarter.start)

    @property
    def end(self) -> pd.Timestamp:
        return pd.Timestamp(self.quarter.end)

    @property
    def labels(self) -> dict[int, str]:
        return {p.number: p.label for p in self.program.calendar.budget_periods("aco")}

    @property
    def demonstration_year(self) -> int:
        """The demonstration year the quarter's year to date runs in: its end's, or the last one
        for a quarter after the demonstration (budget period 5's second half)."""
        calendar = self.program.calendar
        dy = calendar.demonstration_year_of(self.quarter.end)
        return dy if dy is not None else calendar.demonstration_year_of(calendar.demonstration.end)

    def summary(self) -> str:
        cash = quarter_cash(self)
        return (f"{self.quarter}: ${signed_cents(cash).sum() / 100:,.2f} paid to {cash['entity_id'].nunique()} "
                f"payees; {self.ledger.summary()}")


def open_payments_report(**parameters) -> ReportContext[PaymentsOptions]:
    """The report's context (:func:`~dsrip_lib.reports.context.open_report` with its options and headers)."""
    return open_report(PaymentsOptions, headers=HEADERS, **parameters)


# -- quarters --------------------------------------------------------------------------------------
def calendar_quarters(calendar: Calendar) -> list[Quarter]:
    """Every calendar quarter overlapping a budget period of any schedule (ACO or CP), in order."""
    periods = [p for kind in calendar.budget_period_schedules for p in calendar.budget_periods(kind)]
    first = Calendar.quarter_of(min(p.start for p in periods))
    last = Calendar.quarter_of(max(p.end for p in periods))
    return [Quarter(y, q) for y in range(first.year, last.year + 1) for q in range(1, 5)
            if (first.year, first.quarter) <= (y, q) <= (last.year, last.quarter)]


def parse_quarter(text: str, program: Program) -> Quarter:
    """``"2020Q3"`` as a :class:`~dsrip_lib.program.calendar.Quarter` of the program calendar.

    Raises
    ------
    ParameterError
        A malformed quarter, or one outside every budget period, naming it and the calendar's range.
    """
    quarters = calendar_quarters(program.calendar)
    span = f"{quarters[0]} to {quarters[-1]}"
    match = _QUARTER.match(str(text).strip())
    if not match:
        raise ParameterError(f"quarter {text!r} is not a quarter like '2020Q3'; the program calendar runs {span}")
    quarter = Quarter(int(match.group(1)), int(match.group(2)))
    if quarter not in quarters:
        raise ParameterError(f"quarter {quarter} is outside the program calendar ({span}, the budget periods)")
    return quarter


def last_paid_quarter(ledger: Ledger, program: Program) -> Quarter:
    """The last quarter of the program calendar with cash in the ledger."""
    quarters = calendar_quarters(program.calendar)
    dates = ledger.cash()["date"]
    dates = dates[dates <= pd.Timestamp(quarters[-1].end)]
    if not len(dates):
        raise ParameterError("the ledger has no payment in the program calendar: no quarter to report")
    return Calendar.quarter_of(dates.max().date())


def remediation_frame(plans: dict[str, dict[int, RemediationPlan]] | None) -> pd.DataFrame | None:
    """The ``remediation`` option as the ledger's ``entity_id, budget_period, approved_share, plan_score,
    approved_on`` rows (None without plans)."""
    if not plans:
        return None
    rows = [(entity, bp, plan.approved_share, plan.plan_score, pd.Timestamp(plan.approved_on))
            for entity, by_period in plans.items() for bp, plan in by_period.items()]
    return pd.DataFrame(rows, columns=REMEDIATION_COLUMNS)


def approvals_frame(approved_on: dt.date | dict[int, dt.date] | None, program: Program) -> pd.DataFrame:
    """``budget_period, submitted_on, approved_on`` from the option (see :class:`PaymentsOptions`).

    The run gives only the approval date; the submission is taken as that day (the ledger
    requires it after the period's end and no later than the approval). One date approves every
    ACO budget period that ended before it.
    """
    columns = ["budget_period", "submitted_on", "approved_on"]
    if approved_on is None:
        return pd.DataFrame(columns=columns)
    periods = program.calendar.budget_periods("aco")
    if isinstance(approved_on, dict):
        unknown = sorted(set(approved_on) - {p.number for p in periods})
        if unknown:
            raise ParameterError(f"scores_approved_on: no budget period {unknown}")
        dates = dict(approved_on)
    else:
        dates = {p.number: approved_on for p in periods if p.end < approved_on}
    rows = [(bp, pd.Timestamp(day), pd.Timestamp(day)) for bp, day in sorted(dates.items())]
    return pd.DataFrame(rows, columns=columns)


# -- the stage -------------------------------------------------------------------------------------
def build(ctx: ReportContext[PaymentsOptions]) -> PaymentsRun:
    """The ledger of every stream the data supports, with the accountability stage's scores and the
    run's approvals, the gating check, and the quarter reported.

    Raises
    ------
    ParameterError
        A quarter outside the program calendar, or an approval for a budget period that does not exist.
    InputValidationError
        From the ledger and the gating check (an approval before its submission, a flexible-services
        approval above its request, a payment for an entity that did not exist in its period).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4-4.6, Sec 5.1.2, Sec 3.2-3.4, Sec 5.5.1.
    """
    program, opts, data = ctx.program, ctx.options, ctx.data
    quarter = parse_quarter(opts.quarter, program) if opts.quarter is not None else None
    approvals = approvals_frame(opts.scores_approved_on, program)
    scored = accountability.score(replace(ctx, options=accountability.AccountabilityOptions(
        missing_domain=opts.missing_domain)))
    scores = pd.concat([scored.aco[["entity_id", "budget_period", "accountability_score"]],
                        scored.cp[["entity_id", "budget_period", "accountability_score"]]], ignore_index=True)
    counts = stages.attributed_counts(ctx)
    months = member_months_by_period(counts, program.calendar.budget_periods("aco"))
    entities = data.to_pandas("entities")
    optional = {name: data.to_pandas(name) if data.has(name) else None
                for name in ("cp_engagement", "flexible_services", "dsti_payments", "statewide_investments",
                             "dsti_contracts", "csa_caseload")}
    moves = data.to_pandas("funding_moves") if data.has("funding_moves") else None
    domains = cp_domain_scores(accountability.cp_points(
        *(data.to_pandas(n) for n in ("measure_results", "utilization", "survey_scores")), entities,
        scored.quality.benchmarks, program))
    ledger = ledger_from_tables(
        months.rename(columns={"aco_id": "entity_id"}), entities, program, engagement=optional["cp_engagement"],
        flexible_requests=optional["flexible_services"], dsti_payments=optional["dsti_payments"],
        investments=optional["statewide_investments"], scores=scores, approvals=approvals,
        infrastructure_point=opts.infrastructure_point, cp_domain_scores=domains,
        remediation=remediation_frame(opts.remediation),
        preliminary_member_months=preliminary_member_months(counts, program),
        allowances=None if moves is None else move_allowances(moves, program),
        dsti_contracts=optional["dsti_contracts"], csa_caseload=optional["csa_caseload"])
    recoupments = {}
    if opts.recoup:
        recoupments = state_accountability_recoupment.score(replace(
            ctx, options=state_accountability_recoupment.StateOptions(missing_domain=opts.missing_domain))).recoupments
        for bp, recoupment in sorted(recoupments.items()):
            ledger = ledger.with_recoupment(recoupment, bp, pd.Timestamp(opts.recouped_on), entities)
    gating = None
    if any(data.has(name) for name in GATING_TABLES):
        documents = [data.to_pandas(n) if data.has(n) else pd.DataFrame(
            columns=["entity_id", "plan", "budget_period", "report", "submitted_on", "approved_on"])
            for n in GATING_TABLES]
        gating = gating_exceptions(ledger.rows, entities, *documents, program)
    requests = optional["flexible_services"]
    if requests is None:
        requests = pd.DataFrame(columns=["aco_id", "budget_period", "quarter", "amount_requested", "amount_approved"])
    names = pd.concat([entities[["entity_id", "name"]], pd.DataFrame({"entity_id": ["state"],
                                                                       "name": ["The State"]})])
    return PaymentsRun(program, quarter or last_paid_quarter(ledger, program), ledger, names, requests, approvals,
                       gating, recoupments, None if moves is None else review_moves(moves, program))


# -- tables ----------------------------------------------------------------------------------------
def signed_cents(rows: pd.DataFrame) -> pd.Series:
    """Each ledger row's cents with its kind's cash sign (paid and released +, returned and recouped -)."""
    return rows["cents"].astype("int64") * rows["kind"].map(CASH_SIGN).astype("int64")


def quarter_cash(run: PaymentsRun) -> pd.DataFrame:
    """The ledger's cash rows dated in the quarter."""
    rows = run.ledger.rows
    return rows[rows["kind"].isin(CASH_KINDS) & (rows["date"] >= run.start) & (rows["date"] <= run.end)]


def _kind_cents(rows: pd.DataFrame, keys: list[str], kinds: list[str]) -> pd.DataFrame:
    """Cents per ``keys`` (the index) and kind (a column for each of ``kinds``, 0 where none)."""
    if not len(rows):
        return pd.DataFrame({k: pd.Series(dtype="int64") for k in kinds})
    return rows.groupby([*keys, "kind"])["cents"].sum().unstack("kind", fill_value=0).reindex(
        columns=kinds, fill_value=0)


def _by_kind(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per ``keys``: paid, released, returned, recouped and net cash in dollars, from the rows' cents."""
    wide = _kind_cents(rows, keys, CASH_KINDS)
    out = pd.DataFrame({f"{kind}_usd": wide[kind] / 100 for kind in CASH_KINDS}, index=wide.index)
    out["net_usd"] = (wide * pd.Series(CASH_SIGN)[CASH_KINDS]).sum(axis=1) / 100
    return out.reset_index()


def _with_total(table: pd.DataFrame, label_column: str, money: list[str], **others) -> pd.DataFrame:
    """The table and a Total row summing ``money`` (in cents, so the total is the ledger's to the cent);
    ``others`` gives the total row's other cells (blank where not given)."""
    total = {c: np.rint(table[c] * 100).astype("int64").sum() / 100 for c in money}
    blank = {c: "" for c in table.columns if c not in money and c != label_column}
    return pd.concat([table, pd.DataFrame([{**blank, label_column: "Total", **total, **others}])], ignore_index=True)


def quarter_by_stream_table(run: PaymentsRun) -> pd.DataFrame:
    """Cash of the quarter per stream and sub-stream (paid, released, returned, recouped, net), with a total."""
    cash = quarter_cash(run)
    if not len(cash):
        return pd.DataFrame(columns=["stream", "sub_stream", "payees", *[f"{k}_usd" for k in CASH_KINDS], "net_usd"])
    out = _by_kind(cash, ["stream", "sub_stream"])
    out.insert(2, "payees", cash.groupby(["stream", "sub_stream"])["entity_id"].nunique().to_numpy())
    out["stream"] = out["stream"].map(STREAM_WORDS)
    out["sub_stream"] = out["sub_stream"].map(_words)
    return _with_total(out, "stream", [c for c in out.columns if c.endswith("_usd")],
                       payees=cash["entity_id"].nunique())


def payment_account_table(run: PaymentsRun) -> pd.DataFrame:
    """Every cash row of the quarter: the payee's id, stream, sub-stream, budget period, installment, kind
    (a released amount is the at-risk part; "Released (remediation)" an earn-back), date, signed amount
    and when it is claimable on the CMS-64 (Sec 5.1.2)."""
    cash = quarter_cash(run)
    out = pd.DataFrame({
        "entity_id": cash["entity_id"],
        "stream": cash["stream"].map(STREAM_WORDS),
        "sub_stream": cash["sub_stream"].map(_words), "period": cash["budget_period"].astype(int).map(run.labels),
        "installment": cash["installment"].astype(int),
        "kind": cash["kind"].str.capitalize() + np.where(cash["note"] == REMEDIATION, " (remediation)", ""),
        "date": cash["date"].dt.strftime("%Y-%m-%d"), "amount_usd": signed_cents(cash) / 100,
        "claimable_on": cash["claimable_on"].dt.strftime("%Y-%m-%d").fillna("-"),
    })
    return out.sort_values(["entity_id", "sub_stream", "date", "installment", "kind"], ignore_index=True)


def year_to_date_range(run: PaymentsRun) -> tuple[pd.Timestamp, pd.Timestamp]:
    """From the start of the quarter's demonstration year to the quarter's end."""
    return pd.Timestamp(run.program.calendar.demonstration_year(run.demonstration_year).start), run.end


def year_to_date_table(run: PaymentsRun) -> pd.DataFrame:
    """Cash per stream from the demonstration year's start to the quarter's end against Exhibit 1's
    authority for that year (streams the ledger pays; State operations are not paid through it)."""
    start, end = year_to_date_range(run)
    rows = run.ledger.rows
    rows = rows[rows["kind"].isin(CASH_KINDS) & (rows["date"] >= start) & (rows["date"] <= end)]
    cash = rows.assign(signed=signed_cents(rows)).groupby("stream")["signed"].sum()
    by_dy = run.program.require("funding").streams_by_dy.rows
    streams = [s for s in by_dy if s in set(run.ledger.rows["stream"])]
    cents = np.array([int(cash.get(s, 0)) for s in streams], dtype="int64")
    authority = np.array([by_dy[s][run.demonstration_year] * 1e6 for s in streams])
    out = pd.DataFrame({"stream": [STREAM_WORDS[s] for s in streams], "authority_usd": authority,
                        "year_to_date_usd": cents / 100})
    out = _with_total(out, "stream", ["authority_usd", "year_to_date_usd"])
    out["share_used"] = out["year_to_date_usd"] / out["authority_usd"]
    out["remaining_usd"] = out["authority_usd"] - out["year_to_date_usd"]
    return out


def withheld_balance_rows(run: PaymentsRun) -> pd.DataFrame:
    """:meth:`Ledger.withheld_balances` at the quarter's end (per entity, sub-stream and budget period)."""
    return run.ledger.withheld_balances(run.end)


def withheld_table(run: PaymentsRun) -> pd.DataFrame:
    """Withheld, released, forfeited and the balance at the quarter's end per stream, sub-stream and
    budget period of the at-risk rows, with a total (released and forfeited only once dated)."""
    rows = run.ledger.rows
    rows = rows[rows["at_risk"].astype(bool) & (rows["date"] <= run.end)]
    keys = ["stream", "sub_stream", "budget_period"]
    if not len(rows):
        return pd.DataFrame(columns=["stream", "sub_stream", "period", "payees", "withheld_usd", "released_usd",
                                     "forfeited_usd", "balance_usd"])
    wide = _kind_cents(rows, keys, [WITHHELD, RELEASED, FORFEITED])
    out = pd.DataFrame({"withheld_usd": wide[WITHHELD] / 100, "released_usd": wide[RELEASED] / 100,
                        "forfeited_usd": wide[FORFEITED] / 100,
                        "balance_usd": (wide[WITHHELD] - wide[RELEASED] - wide[FORFEITED]) / 100}).reset_index()
    out.insert(3, "payees", rows.groupby(keys)["entity_id"].nunique().to_numpy())
    out = out.assign(stream=out["stream"].map(STREAM_WORDS), sub_stream=out["sub_stream"].map(_words),
                     period=out["budget_period"].astype(int).map(run.labels))
    out = out[["stream", "sub_stream", "period", "payees", "withheld_usd", "released_usd", "forfeited_usd",
               "balance_usd"]]
    return _with_total(out, "stream", ["withheld_usd", "released_usd", "forfeited_usd", "balance_usd"],
                       payees=rows["entity_id"].nunique())


def flexible_period(run: PaymentsRun) -> int | None:
    """The ACO budget period containing the quarter (flexible services are allotted per ACO period)."""
    period = run.program.calendar.budget_period_of(run.quarter.end, "aco")
    return None if period is None else period.number


def flexible_table(run: PaymentsRun) -> pd.DataFrame:
    """Per ACO, flexible services of the quarter's budget period as of the quarter's end: allotted,
    requested and approved (requests of the period's quarters so far), reimbursed (paid less returned)
    and forfeited (Sec 4.4.2; BP 5's prospective payment counts as reimbursed until the unused part
    is returned)."""
    bp = flexible_period(run)
    allotted = run.ledger.allotments
    allotted = allotted[(allotted["sub_stream"] == FLEXIBLE) & (allotted["budget_period"] == bp)]
    columns = ["entity_id", "name", "allotted_usd", "requested_usd", "approved_usd", "reimbursed_usd",
               "forfeited_usd"]
    if not len(allotted):
        return pd.DataFrame(columns=columns)
    rows = run.ledger.rows
    rows = rows[(rows["sub_stream"] == FLEXIBLE) & (rows["budget_period"] == bp) & (rows["date"] <= run.end)]
    kinds = _kind_cents(rows, ["entity_id"], [PAID, RETURNED, FORFEITED])
    period_start = pd.Timestamp(run.program.calendar.budget_period(bp, "aco").start)
    so_far = (run.end.year - period_start.year) * 4 + (run.end.month - period_start.month) // 3 + 1
    requests = run.flexible_requests
    requests = requests[(requests["budget_period"] == bp) & (requests["quarter"] <= so_far)]
    asked = requests.groupby("aco_id")[["amount_requested", "amount_approved"]].sum()
    out = allotted.groupby("entity_id", as_index=False)["allotted_cents"].sum()
    out = out.merge(run.names, on="entity_id", how="left")
    ids = out["entity_id"]
    out["allotted_usd"] = out["allotted_cents"] / 100
    out["requested_usd"] = ids.map(asked["amount_requested"]).fillna(0.0)
    out["approved_usd"] = ids.map(asked["amount_approved"].fillna(0.0)).fillna(0.0)
    out["reimbursed_usd"] = ids.map(kinds[PAID] - kinds[RETURNED]).fillna(0).astype("int64") / 100
    out["forfeited_usd"] = ids.map(kinds[RETURNED] + kinds[FORFEITED]).fillna(0).astype("int64") / 100
    out = out[columns].sort_values("entity_id", ignore_index=True)
    return _with_total(out, "entity_id", columns[2:])


def gating_table(run: PaymentsRun) -> pd.DataFrame:
    """Every payment released before its gate, paid up to the quarter's end (one row per payment and gate)."""
    found = run.gating[run.gating["paid_on"] <= run.end].merge(run.names, on="entity_id", how="left")
    return pd.DataFrame({
        "entity_id": found["entity_id"], "name": found["name"], "sub_stream": found["sub_stream"].map(_words),
        "period": found["budget_period"].astype(int).map(run.labels), "installment": found["installment"],
        "paid_on": found["paid_on"].dt.strftime("%Y-%m-%d"), "amount_usd": found["amount_usd"],
        "gate": found["gate"].map(GATE_WORDS),
        "gate_period": found["gate_budget_period"].map(lambda b: run.labels[int(b)] if pd.notna(b) else "-"),
        "gate_report": found["gate_report"].map(lambda r: str(int(r)) if pd.notna(r) else "-"),
        "due_on": found["due_on"].map(lambda d: d.date().isoformat() if pd.notna(d) else "-"),
        "gate_date": found["gate_date"].map(lambda d: d.date().isoformat() if pd.notna(d) else "never"),
        "days_early": found["days_early"].map(lambda d: str(int(d)) if pd.notna(d) else "-"),
    })


def gating_summary_table(run: PaymentsRun) -> pd.DataFrame:
    """Payments, entities and dollars released early per gate up to the quarter's end (every gate listed),
    with a total of distinct payments and entities (a payment failing two gates is listed under each)."""
    found = run.gating[run.gating["paid_on"] <= run.end]
    out = exceptions_by_gate(found)
    out = out.assign(gate=out["gate"].map(GATE_WORDS))
    payments = found[["entity_id", "sub_stream", "budget_period", "installment", "kind", "paid_on"]].drop_duplicates()
    once = found.drop_duplicates(subset=list(payments.columns))
    total = {"gate": "Any gate", "payments": len(payments), "entities": found["entity_id"].nunique(),
             "amount_usd": np.rint(once["amount_usd"] * 100).astype("int64").sum() / 100}
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


# -- prose -----------------------------------------------------------------------------------------
SUB_STREAM_WORDS = {"startup_ongoing_primary_care": "Startup/ongoing: primary care",
                    "startup_ongoing_discretionary": "Startup/ongoing: discretionary",
                    "dsti_glide_path": "DSTI glide path", OUTCOMES_POOL: "Outcomes-based payments (pool)",
                    RECOUPMENT: "Recoupment of lost authority"}


def _words(code: str) -> str:
    return SUB_STREAM_WORDS.get(code) or str(code).replace("_", " ").capitalize()


def _dollars(cents: int | float) -> str:
    return f"${cents / 100:,.2f}"


def method_text(run: PaymentsRun, ctx: ReportContext[PaymentsOptions]) -> str:
    """The method paragraph, its numbers from the program and the run's options."""
    program, opts = run.program, ctx.options
    aco_payments, cp_payments = program.require("aco_payments"), program.require("cp_payments")
    if len(run.approvals):
        approved = "; ".join(f"{run.labels[int(r.budget_period)]} on {r.approved_on.date().isoformat()}"
                             for r in run.approvals.itertuples())
        release = (f"CMS approved the accountability scores of {approved} (the run's `scores_approved_on`): on "
                   f"that date each score x the period's withheld amount is released and the rest forfeited.")
    else:
        release = ("**No score approval is recorded** (the run's `scores_approved_on` is empty): nothing withheld "
                   "has been released, and every withheld amount is still a balance.")
    return (
        f"**Method.** One ledger holds every amount in whole cents (MassHealth DSRIP Protocol, Sec 4.4-4.6 and "
        f"5.1.2): ACO startup/ongoing funds and flexible services paid in "
        f"{aco_payments.installments_per_budget_period} quarterly installments, CP/CSA infrastructure in "
        f"{cp_payments.infrastructure_installments_per_budget_period} per budget period, care coordination "
        f"monthly, statewide investments quarterly, each dated the first day of the months it covers; the at-risk "
        f"part of each installment is withheld (Exhibits 20 and 22). {release} CP and CSA infrastructure is paid at "
        f"point {opts.infrastructure_point:g} of the Sec 4.5 ranges (0 = low, 1 = high; ILLUSTRATIVE). "
        f"The accountability scores are the accountability report's"
        f"{' (domains without an eligible measure reweighted)' if opts.missing_domain == 'reweight' else ''}. "
        f"{extras_text(run, ctx)}"
        f"Every table below sums ledger cents. {dsti_text(run)}"
    )


def dsti_text(run: PaymentsRun) -> str:
    """Where the DSTI glide path goes: to each hospital's contracting ACO (Sec 4.4.3), and every
    hospital-period left at the State level for want of a contract."""
    allotted = run.ledger.allotments
    dsti = allotted[allotted["sub_stream"] == DSTI]
    if not len(dsti):
        return "The data has no DSTI glide-path payments (`dsti_payments`)."
    left = uncontracted_hospital_periods(allotted)
    contracted = len(dsti) - len(left)
    if not contracted:
        return ("DSTI glide-path funds are allotted to each hospital at the State level: the data records no "
                "hospital-to-ACO contract covering them (`dsti_contracts`; docs/methodology/payments.md).")
    listed = "; ".join(f"{hospital} ({', '.join(run.labels[int(bp)] for bp in group['budget_period'])})"
                       for hospital, group in left.groupby(HOSPITAL, sort=True))
    rest = (f" {len(left)} hospital-period(s) without a contract stay at the State level, allotted to the hospital: "
            f"{listed}." if len(left) else " Every hospital-period is under contract.")
    return (f"DSTI glide-path funds of {contracted} hospital-period(s) are paid to the ACO the hospital contracts "
            f"with (Sec 4.4.3), withheld at Exhibit 20's glide-path share and released by that ACO's score.{rest}")


def extras_text(run: PaymentsRun, ctx: ReportContext[PaymentsOptions]) -> str:
    """Sentences on the outcomes-based pools, remediation earn-backs and recoupments the ledger holds."""
    opts, rows = ctx.options, run.ledger.rows
    pools = rows[rows["sub_stream"] == OUTCOMES_POOL]
    pool = (f"Outcomes-based pools (Sec 4.5.3, 4.5.6) paid ${pools['cents'].sum() / 100:,.2f} to "
            f"{pools['entity_id'].nunique()} CPs scoring 1 on avoidable utilisation, by members engaged, on the "
            f"scores' approval date (not at risk). " if len(pools) else
            "No outcomes-based pool is paid: no CP of a period with a pool and approved scores scored 1 on "
            "avoidable utilisation (Sec 4.5.3, 4.5.6). ")
    back = rows[rows["note"] == REMEDIATION]
    remediation = (f"Approved remediation plans earn back ${back['cents'].sum() / 100:,.2f} of forfeited "
                   f"withholds, released on each plan's approval date (Sec 5.3.4, 5.4.6.1). " if opts.remediation
                   else "")
    if not opts.recoup:
        return pool + remediation
    if not run.recoupments:
        return pool + remediation + ("Nothing is recouped: no scored budget period lost authority that a later "
                                     "period cannot absorb (Sec 5.1.1). ")
    recouped = rows[rows["kind"] == RECOUPED]
    periods = ", ".join(run.labels[bp] for bp in sorted(run.recoupments))
    recoupment = (f"The State's lost authority of {periods} (no later budget period left to absorb it) is recouped "
                  f"on {opts.recouped_on.isoformat()}: ${recouped['cents'].sum() / 100:,.2f} from "
                  f"{recouped['entity_id'].nunique()} entities by the Table F shares and 1 - score (Sec 5.1.1). ")
    return pool + remediation + recoupment


def year_to_date_caption(run: PaymentsRun) -> str:
    start, end = year_to_date_range(run)
    after = (" (the quarter is after the demonstration's end: its cash counts against the last demonstration "
             "year)" if run.program.calendar.demonstration_year_of(run.quarter.end) is None else "")
    return (f"Cash per stream (paid + released - returned - recouped) from {start.date().isoformat()} to "
            f"{end.date().isoformat()} against Exhibit 1's DY{run.demonstration_year} authority{after}; State "
            f"operations are not paid through the ledger (MassHealth DSRIP Protocol, Sec 1.4, Exhibit 1)")


def flexible_text(run: PaymentsRun) -> str:
    bp = flexible_period(run)
    label = run.labels.get(bp, "no budget period") if bp is not None else "no ACO budget period"
    return f"No ACO has a flexible-services allotment in {label}, the budget period of {run.quarter}."


def gating_text(run: PaymentsRun) -> str:
    """What the compliance check found up to the quarter's end, or why it did not run."""
    if run.gating is None:
        return ("**The gating check did not run**: the data has none of the contract's "
                f"{', '.join(f'`{t}`' for t in GATING_TABLES)} tables (Sec 3.2-3.4, 5.5.1).")
    found = run.gating[run.gating["paid_on"] <= run.end]
    if not len(found):
        return (f"No payment up to the end of {run.quarter} was released before its approved participation plan, "
                f"its period's approved budget, or while a due progress report was missing.")
    in_quarter = found[found["paid_on"] >= run.start]
    return (f"{len(found)} payment-gate pair(s) to {found['entity_id'].nunique()} entities "
            f"(${found['amount_usd'].sum():,.2f}) were released before their gate up to the end of {run.quarter}, "
            f"{len(in_quarter)} of them in the quarter. The State Auditor's 2022 audit found such payments.")


def moves_table(run: PaymentsRun) -> pd.DataFrame:
    """The quarter's recorded moves with what each needs from CMS (``dsrip_lib.payments.moves``).

    A move belongs to the quarter of its first recorded date (``notified_on``, else ``approved_on``);
    a move with neither is pending and listed in every quarter of its demonstration year.
    """
    moves = run.moves
    if moves is None or not len(moves):
        return pd.DataFrame(columns=MOVE_TABLE_COLUMNS)
    dated = pd.to_datetime(moves["notified_on"]).fillna(pd.to_datetime(moves["approved_on"]))
    pending = dated.isna() & (moves["demonstration_year"] == run.demonstration_year)
    mine = moves[((dated >= run.start) & (dated <= run.end)) | pending]
    return mine[MOVE_TABLE_COLUMNS].sort_values("move_id", ignore_index=True)


def moves_text(run: PaymentsRun) -> str:
    """The quarter's moves in a sentence (or why there is no sheet of them), with the approval rules."""
    funding = run.program.require("funding")
    rule = funding.statewide_investment_shift_approval
    if run.moves is None:
        found = (f"The data records no such move in {run.quarter}: it has no `funding_moves` table, so the workbook "
                 f"has no sheet for them rather than an empty one.")
    else:
        listed = moves_table(run)
        flagged = int(listed["flagged"].sum())
        found = (f"The data records {len(listed)} move(s) in {run.quarter} (by the first date recorded; pending moves "
                 f"in every quarter of their demonstration year), {flagged} of them flagged: not allowed, or needing "
                 f"CMS approval or advance notice the data does not record. The ledger counts every recorded move as "
                 f"an allowance of its stream's authority.")
    return (
        f"**Allocation changes, redistributions, statewide-investment shifts and carry-forwards.** {found} Each move "
        f"needs CMS approval or notice in this report by `dsrip_lib/payments/moves.py` and "
        f"`dsrip_lib/payments/reallocation.py`: a carry-forward above {funding.carry_forward_approval_share:.0%} "
        f"of the prior year's authority needs approval (Sec 4.7); a statewide-investment shift above the larger of "
        f"{rule.share_of_original:.0%} of the source's funding and ${rule.amount_musd:g}M needs approval (Sec 4.6); "
        f"redistributions go only to the categories Sec 5.1.3 allows; a reallocation between the ACO and CP streams "
        f"above {funding.stream_reallocation_notice_share:.0%} of Table F needs notice to CMS before it takes effect "
        f"(Sec 4.1)."
    )


def headline(run: PaymentsRun) -> dict[str, tuple[float, str]]:
    """The results.json values: ``name -> (value, description)`` (docs/methodology/payments.md)."""
    start, end = year_to_date_range(run)
    rows = run.ledger.rows
    ytd = rows[rows["kind"].isin(CASH_KINDS) & (rows["date"] >= start) & (rows["date"] <= end)]
    values = {
        "quarter_payments_usd": (signed_cents(quarter_cash(run)).sum() / 100,
                                 f"Net DSRIP cash paid in {run.quarter} (paid + released - returned - recouped)"),
        "year_to_date_usd": (signed_cents(ytd).sum() / 100,
                             f"Net DSRIP cash from the start of DY{run.demonstration_year} to the end of "
                             f"{run.quarter}"),
        "withheld_balance_usd": (withheld_balance_rows(run)["balance_usd"].sum(),
                                 f"At-risk funds withheld and not yet released or forfeited at the end of "
                                 f"{run.quarter}"),
    }
    if run.gating is not None:
        values["gating_exceptions"] = (float((run.gating["paid_on"] <= run.end).sum()),
                                       f"Payment-gate pairs released before their gate up to the end of "
                                       f"{run.quarter}")
    return values
