"""The payment ledger: every DSRIP amount as a dated row, in whole cents; every report total sums it.

One row per entity, sub-stream, budget period, installment and kind (and, for the DSTI glide path,
``hospital``: the hospital whose funds an ACO is paid, or that is paid itself at the State level;
"" elsewhere):

* ``paid``: the part of an installment paid when due (or a flexible-services reimbursement, or
  BP 5's prospective flexible-services payment);
* ``withheld``: the at-risk part of an installment (Exhibits 20 and 22);
* ``released``: ``accountability score x withheld`` once CMS has approved the period's scores,
  spread over the installments by their withheld cents; ``forfeited``: the rest of the withheld
  amount on the same date, and a flexible-services allotment not reimbursed (dated the period's
  end);
* ``returned``: BP 5 flexible services paid prospectively and not used;
* ``recouped``: a lost-authority recoupment from an entity (Sec 5.1.1; :meth:`Ledger.with_recoupment`),
  a positive amount that :meth:`Ledger.cash` subtracts.

Outcomes-based pool awards (Sec 4.5.3, 4.5.6) are ``paid`` rows of the ``outcomes_based_payments``
sub-stream on the date CMS approved the period's scores, not at risk (Exhibit 22 excepts them). A
remediation earn-back (Sec 5.3.4, 5.4.6.1) is a ``released`` row noted ``remediation`` on the plan's
approval date, moved out of the period's ``forfeited`` amount.

``claimable_on`` is when the amount may be claimed on the CMS-64: non-at-risk payments when
paid, at-risk (released) amounts only once CMS approves the scores or the remediation plan (Sec
5.1.2); withheld and forfeited amounts are never claimed as such; a recoupment is claimed back when
recouped.

References
----------
MassHealth DSRIP Protocol, Sec 4.4 and 4.5 (installments), Sec 4.5.3 and 4.5.6 (outcomes-based
pools), Sec 5.1.1 (recoupment), Sec 5.1.2 (Exhibits 19-22 and the CMS-64 rule), Sec 5.2.2 (FFP
claiming), Sec 5.3.4 and 5.4.6.1 (remediation), Sec 1.4 (Exhibit 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dsrip_lib.accountability.aco import remediation_earn_back
from dsrip_lib.accountability.outcomes_pool import outcomes_pool_awards
from dsrip_lib.errors import DsripError, InputValidationError
from dsrip_lib.exact import allocate_cents, exact
from dsrip_lib.inputs.frame_checks import reject_rows, require_columns, require_in_range, require_unique
from dsrip_lib.payments.dsti_contracts import allot_to_contracting_acos
from dsrip_lib.payments.installments import schedule_installments, withheld_cents
from dsrip_lib.payments.streams import (
    ALLOTMENT_COLUMNS,
    HOSPITAL,
    STREAM_OF_TYPE,
    aco_startup_ongoing,
    cp_care_coordination,
    cp_infrastructure,
    csa_caseload_members,
    dsti_glide_path,
    engaged_members,
    flexible_services_allotments,
    flexible_services_reimbursements,
    require_existing,
    statewide_investment_allotments,
)
from dsrip_lib.payments.recoupment import ACO_CLASS, Recoupment
from dsrip_lib.payments.withholds import startup_ongoing_funding
from dsrip_lib.program import Program

PAID, WITHHELD, RELEASED, FORFEITED, RETURNED, RECOUPED = (
    "paid", "withheld", "released", "forfeited", "returned", "recouped")
KINDS = (PAID, WITHHELD, RELEASED, FORFEITED, RETURNED, RECOUPED)
CASH_SIGN = {PAID: 1, RELEASED: 1, RETURNED: -1, RECOUPED: -1, WITHHELD: 0, FORFEITED: 0}
# hospital: the DSTI hospital of a glide-path row (paid to it or to its contracting ACO), else ""
GROUP = ["entity_id", "entity_type", "stream", "sub_stream", "budget_period", HOSPITAL]
ROW = [*GROUP, "installment", "kind", "date", "cents", "at_risk", "claimable_on"]
COLUMNS = [*ROW, "note"]
OUTCOMES_POOL, RECOUPMENT, REMEDIATION = "outcomes_based_payments", "recoupment", "remediation"
FINAL_COUNT = "final_count"
REMEDIATION_COLUMNS = ["entity_id", "budget_period", "approved_share", "plan_score", "approved_on"]


@dataclass(frozen=True)
class Ledger:
    """The ledger (``rows``, :data:`COLUMNS`) and the allotments it was built from (``allotments``).

    ``rows.cents`` is int64 and never negative; the sign of an amount for cash is its kind's
    (:data:`CASH_SIGN`).
    """

    rows: pd.DataFrame = field(repr=False)
    allotments: pd.DataFrame = field(repr=False)

    def summary(self) -> str:
        totals = self.rows.groupby("kind")["cents"].sum()
        parts = ", ".join(f"{k} ${totals.get(k, 0) / 100:,.2f}" for k in KINDS if totals.get(k, 0))
        return f"{len(self.rows):,} ledger rows for {self.rows['entity_id'].nunique()} payees: {parts}"

    def cash(self) -> pd.DataFrame:
        """The rows that move money (paid, released, returned, recouped) with signed ``cash_usd``."""
        sign = self.rows["kind"].map(CASH_SIGN).astype("int64")
        out = self.rows[sign != 0].copy()
        out["cash_usd"] = (out["cents"].astype("int64") * sign[sign != 0]).astype("float64") / 100
        return out

    def withheld_balances(self, as_of: pd.Timestamp) -> pd.DataFrame:
        """Withheld and not yet released or forfeited on ``as_of``, per entity, sub-stream and period ($)."""
        rows = self.rows[(self.rows["date"] <= as_of) & self.rows["kind"].isin([WITHHELD, RELEASED, FORFEITED])]
        signed = rows["cents"] * np.where(rows["kind"] == WITHHELD, 1, -1)
        out = rows[GROUP].assign(balance_usd=signed / 100).groupby(GROUP, as_index=False)["balance_usd"].sum()
        return out[out["balance_usd"] > 0].reset_index(drop=True)

    def with_recoupment(self, recoupment: Recoupment, budget_period: int, recouped_on: pd.Timestamp,
                        entities: pd.DataFrame | None = None) -> Ledger:
        """The ledger with a ``recouped`` row per entity of ``recoupment`` that owes a positive amount.

        Each row is the entity's ``recouped_cents`` (a positive amount; :meth:`cash` subtracts it)
        in sub-stream ``recoupment`` of its class's stream (ACOs ``aco``, CPs and CSAs
        ``community_partners``, Table F), dated and claimable (as a reduction) on ``recouped_on``
        and booked to ``budget_period``, the period whose lost authority it repays. An entity
        that scored 100% has no weight and gets no row; a class amount nobody can carry stays
        unallocated in the :class:`~dsrip_lib.payments.recoupment.Recoupment`. An entity's type is
        its ledger rows', else ``entities``' (``entity_id, entity_type``: a scored CSA may have no
        payment the contract's tables can allot).

        Raises
        ------
        InputValidationError
            An entity of the recoupment neither in the ledger nor in ``entities``.

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.1.1 (recoupment by Table F shares, 1 - score within a class).
        """
        owed = recoupment.rows[recoupment.rows["recouped_cents"] > 0]
        known = [self.rows[["entity_id", "entity_type"]]]
        if entities is not None:
            known.append(entities[["entity_id", "entity_type"]])
        types = pd.concat(known).drop_duplicates("entity_id").set_index("entity_id")["entity_type"]
        unknown = sorted(set(owed["entity_id"]) - set(types.index))
        if unknown:
            raise InputValidationError(f"recoupment: entities {unknown[:5]} are neither paid in the ledger nor in "
                                       "the entities table")
        date = pd.Timestamp(recouped_on)
        recouped = pd.DataFrame({
            "entity_id": owed["entity_id"].to_numpy(), "entity_type": owed["entity_id"].map(types).to_numpy(),
            "stream": np.where(owed["entity_class"] == ACO_CLASS, "aco", "community_partners"),
            "sub_stream": RECOUPMENT, "budget_period": int(budget_period), HOSPITAL: "", "installment": 0,
            "kind": RECOUPED, "date": date, "cents": owed["recouped_cents"].astype("int64").to_numpy(), "at_risk": False,
            "claimable_on": date, "note": ""})
        rows = pd.concat([self.rows, recouped], ignore_index=True) if len(recouped) else self.rows
        return Ledger(rows.sort_values(["date", *GROUP, "installment", "kind"], ignore_index=True)[COLUMNS],
                      self.allotments)


def build_ledger(allotments: pd.DataFrame, monthly: pd.DataFrame, flexible: pd.DataFrame,
                 reimbursements: pd.DataFrame, program: Program, *, scores: pd.DataFrame | None = None,
                 approvals: pd.DataFrame | None = None, allowances: pd.DataFrame | None = None,
                 pool_awards: pd.DataFrame | None = None, remediation: pd.DataFrame | None = None) -> Ledger:
    """Build the ledger from the allotments of ``dsrip_lib.payments.streams``.

    Parameters
    ----------
    allotments : DataFrame
        Allotments paid in scheduled installments (:data:`~dsrip_lib.payments.streams.ALLOTMENT_COLUMNS`,
        schedule ``quarterly`` or ``biannual``), with an optional ``hospital`` (DSTI glide path).
    monthly : DataFrame
        ``streams.cp_care_coordination`` (one installment per month, dated the month).
    flexible : DataFrame
        ``streams.flexible_services_allotments``.
    reimbursements : DataFrame
        ``streams.flexible_services_reimbursements``; each is paid the first day after its quarter.
    program : Program
        Calendar, ``aco_payments.flexible_services_prospective_budget_periods``, ``funding``.
    scores : DataFrame, optional
        ``entity_id, budget_period, accountability_score`` in [0, 1]: ACO scores on the ACO
        calendar, CP/CSA scores on the CP calendar. Withheld amounts without a score stay withheld.
    approvals : DataFrame, optional
        ``budget_period, submitted_on, approved_on``: when the State submitted and CMS approved the
        period's scores. A score is released only on its period's approval date.
    allowances : DataFrame, optional
        ``stream, budget_period, amount_usd``: recorded redistributions and carry-forwards that
        raise a stream's authority in a period (Sec 4.7, 5.1.3).
    pool_awards : DataFrame, optional
        ``dsrip_lib.accountability.outcomes_pool.outcomes_pool_awards``: each pool with an
        eligible CP is paid, in cents by largest remainder over the eligible CPs' engaged
        members (so the awards add up to the pool), on its period's approval date. A pool of a
        period without an approval is not yet paid.
    remediation : DataFrame, optional
        ``entity_id, budget_period, approved_share, plan_score, approved_on``: approved
        Performance Remediation Plans. Each earns back ``remediation_earn_back`` of the
        entity-period's forfeited at-risk cents per sub-stream (``share x score / max`` read as the
        exact decimals written, half up to the cent), released on ``approved_on`` and taken out of
        the forfeited rows by largest remainder.

    Returns
    -------
    Ledger

    Raises
    ------
    InputValidationError
        A score outside [0, 1] or duplicated, an approval dated before its submission or before
        its period ended, or a duplicated approval; a remediation plan duplicated, for a period
        whose scores are not approved, or approved before them.
    ParameterError
        A remediation share above the program's maximum or a plan score off its scale.
    DsripError
        A stream's cash in a budget period above its Exhibit 1 authority plus allowances.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4-4.5, Sec 5.1.2 (Exhibits 19-22; CMS-64), Sec 4.7, Sec 1.4;
    Sec 4.5.3, 4.5.6 (outcomes-based pools); Sec 5.3.4, 5.4.6.1 (remediation).
    """
    require_columns(allotments, "allotments", ALLOTMENT_COLUMNS)
    allotments, monthly, flexible = (_with_hospital(f) for f in (allotments, monthly, flexible))
    scheduled = schedule_installments(allotments.assign(allotted_cents=_cents(allotments["allotted_usd"])), program)
    parts = [_scheduled_rows(scheduled), _scheduled_rows(_monthly_installments(monthly)),
             _flexible_rows(flexible, reimbursements, program)]
    rows = pd.concat([p for p in parts if len(p)], ignore_index=True)
    approved = _approvals(approvals, program)
    pools = _pool_rows(pool_awards, approved)
    rows = pd.concat([p for p in (rows, _releases(rows, scores, approved), pools) if len(p)], ignore_index=True)
    rows = _earn_back(rows.assign(note=rows["note"].fillna("") if "note" in rows else ""), remediation, approved,
                      program)
    rows = rows[rows["cents"] > 0]
    rows = rows.sort_values(["date", *GROUP, "installment", "kind"], ignore_index=True)[COLUMNS]
    pooled = pools[GROUP].assign(calendar="cp", schedule="on_approval", at_risk_share=0.0,
                                 allotted_usd=pools["cents"] / 100, allotted_cents=pools["cents"])
    columns = [*ALLOTMENT_COLUMNS, HOSPITAL]
    allotted = pd.concat([allotments[columns].assign(allotted_cents=_cents(allotments["allotted_usd"])),
                          _monthly_allotments(monthly),
                          flexible[columns].assign(allotted_cents=_cents(flexible["allotted_usd"])),
                          pooled[[*columns, "allotted_cents"]]],
                         ignore_index=True)
    ledger = Ledger(rows, allotted)
    over = authority_exceedances(ledger, program, allowances)
    if len(over):
        first = over.iloc[0]
        raise DsripError(f"{len(over)} stream-period(s) paid above Exhibit 1 authority with no recorded "
                         f"redistribution or carry-forward, e.g. {first['stream']} budget period "
                         f"{first['budget_period']}: ${first['cash_usd']:,.2f} against ${first['limit_usd']:,.2f}")
    return ledger


def authority_by_budget_period(program: Program) -> pd.DataFrame:
    """Exhibit 1's authority per stream and budget period: each DY (an SFY) split over the ACO periods.

    Returns ``stream, budget_period, authority_usd`` (as Exhibit 24 splits Exhibit 1's totals).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 1.4 (Exhibit 1), Sec 3.1.1 (BP n sourced from DY n and n+1),
    Sec 5.2 (Exhibit 24).
    """
    funding, calendar = program.require("funding"), program.calendar
    first = calendar.first_demonstration_sfy
    rows = []
    for stream, by_dy in funding.streams_by_dy.rows.items():
        split = calendar.split_sfy_amounts({first + dy - 1: m for dy, m in by_dy.items()}, "aco")
        rows += [(stream, bp, musd * 1e6) for bp, musd in split.items()]
    return pd.DataFrame(rows, columns=["stream", "budget_period", "authority_usd"])


def authority_exceedances(ledger: Ledger, program: Program, allowances: pd.DataFrame | None = None) -> pd.DataFrame:
    """Stream-periods whose cash (paid + released - returned - recouped) exceeds authority plus allowances.

    CP/CSA periods are compared by number with the ACO-calendar split (their Prep and BP 1 are
    three months later; Exhibit 1 states years, not CP periods).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 1.4 (Exhibit 1), Sec 4.7 (carry forward), Sec 5.1.3 (redistribution).
    """
    cash = ledger.cash().groupby(["stream", "budget_period"], as_index=False)["cash_usd"].sum()
    out = cash.merge(authority_by_budget_period(program), on=["stream", "budget_period"], how="left")
    extra = (pd.DataFrame(columns=["stream", "budget_period", "amount_usd"]) if allowances is None
             else allowances.groupby(["stream", "budget_period"], as_index=False)["amount_usd"].sum())
    out = out.merge(extra, on=["stream", "budget_period"], how="left")
    out["limit_usd"] = out["authority_usd"].fillna(0.0) + out["amount_usd"].fillna(0.0).astype("float64")
    return out[np.round(out["cash_usd"], 2) > np.round(out["limit_usd"], 2)].reset_index(drop=True)


def check_ledger(ledger: Ledger) -> None:
    """Raise DsripError unless the ledger's invariants hold.

    Per entity, sub-stream and period: paid + withheld (+ forfeited for flexible services, -
    returned elsewhere) = allotted; released + forfeited <= withheld for at-risk streams; nothing negative.
    """
    rows = ledger.rows
    if (rows["cents"] < 0).any():
        raise DsripError("ledger: a negative amount")
    by = rows.pivot_table(index=GROUP, columns="kind", values="cents", aggfunc="sum", fill_value=0)
    by = by.reindex(columns=list(KINDS), fill_value=0)
    allotted = ledger.allotments.groupby(GROUP)["allotted_cents"].sum().reindex(by.index).fillna(0).to_numpy()
    flexible = by.index.get_level_values("sub_stream") == "flexible_services"
    # flexible services: forfeited is part of the allotment, returned its unused prospective part;
    # elsewhere returned is a first installment's overpayment on preliminary counts (Sec 3.4.4.1)
    accounted = (by[PAID] + by[WITHHELD] + np.where(flexible, by[FORFEITED], -by[RETURNED])).to_numpy()
    if (accounted != allotted).any():
        bad = by.index[accounted != allotted][:3].tolist()
        raise DsripError(f"ledger: paid + withheld is not the allotment for {bad}")
    if (np.where(flexible, 0, by[RELEASED] + by[FORFEITED]) > by[WITHHELD]).any():
        raise DsripError("ledger: released + forfeited above withheld")
    if (by[RETURNED] > by[PAID]).any():
        raise DsripError("ledger: returned above paid")


# -- building blocks ------------------------------------------------------------------------------
def _cents(usd: pd.Series) -> pd.Series:
    return np.rint(usd.astype("float64") * 100).astype("int64")


def _with_hospital(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with ``hospital`` "" where it has none (a grouping key must not be null)."""
    if not len(frame.columns):
        return frame
    return frame.assign(**{HOSPITAL: frame[HOSPITAL].fillna("") if HOSPITAL in frame else ""})


def _monthly_installments(monthly: pd.DataFrame) -> pd.DataFrame:
    if not len(monthly):
        return pd.DataFrame()
    out = monthly.assign(sub_stream="care_coordination", stream=monthly["entity_type"].map(STREAM_OF_TYPE))
    out["date"] = pd.to_datetime(out["month"])
    out["installment"] = out.groupby(["entity_id", "budget_period"])["date"].rank(method="dense").astype("int64")
    total = _cents(out["allotted_usd"]).to_numpy()
    out["withheld_cents"] = withheld_cents(total, out["at_risk_share"].to_numpy(dtype="float64"))
    out["paid_cents"] = total - out["withheld_cents"]
    return out


def _monthly_allotments(monthly: pd.DataFrame) -> pd.DataFrame:
    if not len(monthly):
        return pd.DataFrame(columns=[*ALLOTMENT_COLUMNS, HOSPITAL, "allotted_cents"])
    out = monthly.assign(sub_stream="care_coordination", stream=monthly["entity_type"].map(STREAM_OF_TYPE),
                         calendar="cp", schedule="monthly", allotted_cents=_cents(monthly["allotted_usd"]))
    columns = [*ALLOTMENT_COLUMNS, HOSPITAL]
    return out.groupby([c for c in columns if c not in ("allotted_usd", "at_risk_share")],
                       as_index=False).agg(at_risk_share=("at_risk_share", "first"),
                                           allotted_usd=("allotted_usd", "sum"),
                                           allotted_cents=("allotted_cents", "sum"))[[*columns, "allotted_cents"]]


def _scheduled_rows(installments: pd.DataFrame) -> pd.DataFrame:
    """``paid`` and ``withheld`` rows of installments (``paid_cents``, ``withheld_cents``, ``date``)."""
    if not len(installments):
        return pd.DataFrame(columns=ROW)
    base = installments[[*GROUP, "installment", "date"]].assign(note="")
    paid = base.assign(kind=PAID, cents=installments["paid_cents"].to_numpy(), at_risk=False,
                       claimable_on=base["date"])
    withheld = base.assign(kind=WITHHELD, cents=installments["withheld_cents"].to_numpy(), at_risk=True,
                           claimable_on=pd.NaT)
    frames = [paid, withheld]
    if "returned_cents" in installments:
        frames.append(base.assign(kind=RETURNED, cents=installments["returned_cents"].to_numpy(), at_risk=False,
                                  claimable_on=base["date"], note=FINAL_COUNT))
    return pd.concat(frames, ignore_index=True)


def _flexible_rows(flexible: pd.DataFrame, reimbursements: pd.DataFrame, program: Program) -> pd.DataFrame:
    """Reimbursements (paid after their quarter) and the forfeited rest; BP 5 prospective, then returned."""
    if not len(flexible):
        return pd.DataFrame(columns=ROW)
    calendar = program.calendar
    prospective = set(program.require("aco_payments").flexible_services_prospective_budget_periods)
    starts = {p.number: pd.Timestamp(p.start) for p in calendar.budget_periods("aco")}
    ends = {p.number: pd.Timestamp(p.end) for p in calendar.budget_periods("aco")}
    key = ["entity_id", "budget_period"]
    allot = flexible.assign(allotted_cents=_cents(flexible["allotted_usd"]))
    used = reimbursements.assign(cents=_cents(reimbursements["reimbursed_usd"]))
    # the cut at the allotment happened in dollars; in cents it must not pass the allotment either
    used = used.merge(allot[[*key, "allotted_cents"]], on=key, how="inner")
    used["cents"] = np.minimum(used.groupby(key)["cents"].cumsum(), used["allotted_cents"]) - (
        used.groupby(key)["cents"].cumsum() - used["cents"]).clip(upper=used["allotted_cents"])
    used_total = used.groupby(key)["cents"].sum()
    allot["used_cents"] = pd.MultiIndex.from_frame(allot[key]).map(used_total).fillna(0).astype("int64")
    allot["rest_cents"] = allot["allotted_cents"] - allot["used_cents"]
    base = allot[GROUP]
    ahead = allot["budget_period"].isin(prospective).to_numpy()
    start = allot["budget_period"].map(starts)
    end = allot["budget_period"].map(ends)
    frames = [
        base[ahead].assign(installment=1, kind=PAID, date=start[ahead], cents=allot.loc[ahead, "allotted_cents"],
                           at_risk=False, claimable_on=start[ahead]),
        base[ahead].assign(installment=1, kind=RETURNED, date=end[ahead], cents=allot.loc[ahead, "rest_cents"],
                           at_risk=False, claimable_on=end[ahead]),
        base[~ahead].assign(installment=0, kind=FORFEITED, date=end[~ahead], cents=allot.loc[~ahead, "rest_cents"],
                            at_risk=False, claimable_on=pd.NaT),
    ]
    later = used[~used["budget_period"].isin(prospective)].copy()
    if len(later):
        # paid the first day after the request's quarter of the budget period
        later["date"] = [starts[int(bp)] + pd.DateOffset(months=3 * int(q)) for bp, q in
                         zip(later["budget_period"], later["quarter"])]
        paid = later.groupby([*key, "quarter", "date"], as_index=False)["cents"].sum()
        paid = paid.merge(allot[GROUP], on=key).rename(columns={"quarter": "installment"})
        frames.append(paid.assign(kind=PAID, at_risk=False, claimable_on=paid["date"])[ROW])
    return pd.concat([f[ROW] for f in frames if len(f)], ignore_index=True)


def _approvals(approvals: pd.DataFrame | None, program: Program) -> Mapping[int, pd.Timestamp]:
    if approvals is None or not len(approvals):
        return {}
    table = "score approvals"
    require_columns(approvals, table, ["budget_period", "submitted_on", "approved_on"])
    require_unique(approvals, table, ["budget_period"])
    rows = approvals.assign(submitted_on=pd.to_datetime(approvals["submitted_on"]),
                            approved_on=pd.to_datetime(approvals["approved_on"]))
    show = ["budget_period", "submitted_on", "approved_on"]
    reject_rows(rows, table, ~(rows["approved_on"] >= rows["submitted_on"]), "approved_on",
                "approved on or after its submission", show)
    ends = {p.number: pd.Timestamp(p.end) for p in program.calendar.budget_periods("aco")}
    period_end = rows["budget_period"].map(ends)
    reject_rows(rows.assign(period_end=period_end), table, ~(rows["submitted_on"] > period_end), "submitted_on",
                "a period's scores are submitted after the period ends", [*show, "period_end"])
    return dict(zip(rows["budget_period"].astype(int), rows["approved_on"]))


def _releases(rows: pd.DataFrame, scores: pd.DataFrame | None, approved: Mapping[int, pd.Timestamp]
              ) -> pd.DataFrame:
    """Released and forfeited rows of each withheld group with a score and an approved period."""
    if scores is None or not len(scores) or not approved:
        return pd.DataFrame(columns=ROW)
    table = "accountability scores"
    require_columns(scores, table, ["entity_id", "budget_period", "accountability_score"])
    require_unique(scores, table, ["entity_id", "budget_period"])
    require_in_range(scores, table, "accountability_score", 0.0, 1.0, ["entity_id", "budget_period"])
    withheld = rows[(rows["kind"] == WITHHELD) & (rows["cents"] > 0)]
    withheld = withheld[withheld["budget_period"].isin(list(approved))]
    withheld = withheld.merge(scores[["entity_id", "budget_period", "accountability_score"]],
                              on=["entity_id", "budget_period"])
    if not len(withheld):
        return pd.DataFrame(columns=ROW)
    frames = []
    for key, group in withheld.groupby([*GROUP, "accountability_score"], sort=False):
        score = key[-1]
        total = int(group["cents"].sum())
        earned = int(withheld_cents(np.array([total]), np.array([score]))[0])
        released = allocate_cents(earned, group["cents"].tolist(), group["installment"].tolist())
        date = approved[int(group["budget_period"].iloc[0])]
        base = group[[*GROUP, "installment"]].assign(date=date, at_risk=True)
        frames += [base.assign(kind=RELEASED, cents=released, claimable_on=date),
                   base.assign(kind=FORFEITED, cents=group["cents"].to_numpy() - released, claimable_on=pd.NaT)]
    out = pd.concat(frames, ignore_index=True)
    if (out["cents"] < 0).any():
        raise InputValidationError("accountability scores: a release above its withheld amount")
    return out[ROW]


def _pool_rows(awards: pd.DataFrame | None, approved: Mapping[int, pd.Timestamp]) -> pd.DataFrame:
    """``paid`` rows of each outcomes-based pool with an eligible CP, on its period's approval date."""
    if awards is None or not len(awards) or not approved:
        return pd.DataFrame(columns=ROW)
    eligible = awards[awards["eligible"].astype(bool) & awards["budget_period"].isin(list(approved))
                      & (awards["eligible_engaged_members"] > 0)]
    frames = []
    for (_, bp), pool in eligible.groupby(["entity_type", "budget_period"]):
        cents = allocate_cents(int(_cents(pool["pool_usd"]).iloc[0]), pool["engaged_members"].tolist(),
                               pool["entity_id"].tolist())
        date = approved[int(bp)]
        frames.append(pool[["entity_id", "entity_type", "budget_period"]].assign(
            stream=pool["entity_type"].map(STREAM_OF_TYPE), sub_stream=OUTCOMES_POOL, **{HOSPITAL: ""},
            installment=1, kind=PAID, date=date, cents=cents, at_risk=False, claimable_on=date))
    return pd.concat(frames, ignore_index=True)[ROW] if frames else pd.DataFrame(columns=ROW)


def _remediation_plans(plans: pd.DataFrame, approved: Mapping[int, pd.Timestamp]) -> pd.DataFrame:
    table = "remediation plans"
    require_columns(plans, table, REMEDIATION_COLUMNS)
    require_unique(plans, table, ["entity_id", "budget_period"])
    plans = plans.assign(approved_on=pd.to_datetime(plans["approved_on"]))
    scored = plans["budget_period"].map(lambda bp: approved.get(int(bp), pd.NaT))
    reject_rows(plans.assign(scores_approved_on=scored), table, ~(plans["approved_on"] >= scored), "approved_on",
                "a remediation plan is approved on or after CMS approved its period's scores (Sec 5.3.4)",
                [*REMEDIATION_COLUMNS, "scores_approved_on"])
    return plans


def _earn_back(rows: pd.DataFrame, plans: pd.DataFrame | None, approved: Mapping[int, pd.Timestamp],
               program: Program) -> pd.DataFrame:
    """Rows with each plan's earn-back released (noted ``remediation``) and taken out of the forfeited rows."""
    if plans is None or not len(plans):
        return rows
    plans = _remediation_plans(plans, approved)
    forfeited = rows[(rows["kind"] == FORFEITED) & rows["at_risk"].astype(bool) & (rows["cents"] > 0)]
    scale = exact(program.require("at_risk").remediation_plan_max_score)
    rows, frames = rows.copy(), []
    for plan in plans.itertuples():
        # refuses a share above the maximum or a plan score off its scale
        remediation_earn_back(0.0, plan.approved_share, plan.plan_score, program)
        # the same formula on exact fractions, so 0.1 x 0.7-style float noise cannot move a half cent
        rate = exact(plan.approved_share) * exact(plan.plan_score) / scale
        mine = forfeited[(forfeited["entity_id"] == plan.entity_id)
                         & (forfeited["budget_period"] == plan.budget_period)]
        for _, group in mine.groupby(GROUP, sort=False):
            unearned = int(group["cents"].sum())
            earned = (2 * unearned * rate.numerator + rate.denominator) // (2 * rate.denominator)  # half up
            back = allocate_cents(earned, group["cents"].tolist(), group["installment"].tolist())
            rows.loc[group.index, "cents"] = group["cents"].to_numpy() - back
            frames.append(group.assign(kind=RELEASED, cents=back, date=plan.approved_on,
                                       claimable_on=plan.approved_on, note=REMEDIATION))
    return pd.concat([rows, *frames], ignore_index=True) if frames else rows


def ledger_from_tables(member_months: pd.DataFrame, entities: pd.DataFrame, program: Program, *,
                       engagement: pd.DataFrame | None = None, flexible_requests: pd.DataFrame | None = None,
                       dsti_payments: pd.DataFrame | None = None, investments: pd.DataFrame | None = None,
                       scores: pd.DataFrame | None = None, approvals: pd.DataFrame | None = None,
                       infrastructure_point: float = 0.5, base_pmpm_usd: Mapping[int, float] | None = None,
                       chc_adjustment: bool = True, allowances: pd.DataFrame | None = None,
                       cp_domain_scores: pd.DataFrame | None = None, pool_usd: Mapping[str, float] | None = None,
                       remediation: pd.DataFrame | None = None,
                       preliminary_member_months: pd.DataFrame | None = None,
                       dsti_contracts: pd.DataFrame | None = None, csa_caseload: pd.DataFrame | None = None) -> Ledger:
    """The ledger of every stream the data supports, from the contract's tables and attributed member-months.

    Parameters
    ----------
    member_months : DataFrame
        ``entity_id, budget_period, member_months, chc_member_months`` of each ACO (attribution).
    entities : DataFrame
        The contract's ``entities``.
    engagement, flexible_requests, dsti_payments, investments : DataFrame, optional
        The contract's ``cp_engagement``, ``flexible_services``, ``dsti_payments`` and
        ``statewide_investments`` (a stream without its table is left out).
    scores, approvals, allowances, remediation
        As for :func:`build_ledger`.
    cp_domain_scores : DataFrame, optional
        ``entity_id, entity_type, budget_period, domain, score`` of the CPs (e.g.
        ``dsrip_lib.accountability.cp.cp_domain_scores``): with ``engagement``, the outcomes-based
        pools are awarded by ``outcomes_pool_awards`` to CPs scoring 1 on avoidable utilisation,
        by the members engaged as infrastructure counts them (``streams.engaged_members``).
    pool_usd : mapping, optional
        Pool by CP type replacing the program's anticipated amounts (as ``outcomes_pool_awards``).
    infrastructure_point
        ILLUSTRATIVE: ``streams.cp_infrastructure``'s point in the anticipated ranges.
    base_pmpm_usd, chc_adjustment
        As for ``dsrip_lib.payments.withholds.startup_ongoing_funding``.
    preliminary_member_months : DataFrame, optional
        ``streams.preliminary_member_months``: ACO startup/ongoing's first installment of each
        period is paid on the funding these counts give, the later installments on the final
        ``member_months`` less it (a first installment above the final paid part is ``returned``,
        noted ``final_count``, on the second installment's date).
    dsti_contracts : DataFrame, optional
        The contract's ``dsti_contracts``: with ``dsti_payments``, each contracted hospital-period's
        glide-path allotment is paid to the contracting ACO, withheld by the ACO's lagged Exhibit 20
        share and released by its score (``dsti_contracts.allot_to_contracting_acos``); without it,
        or for a hospital-period no contract covers, the hospital is paid at the State level.
    csa_caseload : DataFrame, optional
        The contract's ``csa_caseload``: CSA infrastructure for BP 1-5 by Exhibit 14's PMPM on the
        caseload (``streams.csa_caseload_members``); without it CSAs are allotted Prep only.

    Raises
    ------
    InputValidationError
        Member-months, a request or an engagement month of an entity that did not exist in that
        budget period, and the checks of each stream (a DSTI contract or CSA caseload row that
        breaks its table's rules).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4-4.6 (Sec 4.4.3: DSTI to the contracting ACO; Sec 3.4.4.2 and
    4.5.7: CSA infrastructure on caseload), Sec 5.1.2, Sec 5.3.4, Sec 5.4.5 and 5.4.6.1.
    """
    require_existing(member_months, "ACO member-months", entities)
    funding = startup_ongoing_funding(member_months, entities, program, base_pmpm_usd=base_pmpm_usd,
                                      chc_adjustment=chc_adjustment)
    allotments = [aco_startup_ongoing(funding, program)]
    if preliminary_member_months is not None:
        allotments[0] = _with_preliminary(allotments[0], preliminary_member_months, entities, program,
                                          base_pmpm_usd=base_pmpm_usd, chc_adjustment=chc_adjustment)
    if dsti_payments is not None:
        dsti = dsti_glide_path(dsti_payments, program)
        allotments.append(dsti if dsti_contracts is None else
                          allot_to_contracting_acos(dsti, dsti_contracts, entities, program,
                                                    hospitals=dsti_payments["hospital"]))
    monthly = pd.DataFrame()
    if engagement is not None:
        monthly = cp_care_coordination(engagement, entities, program)
        engaged = engaged_members(engagement, program)
    else:
        engaged = pd.DataFrame(columns=["entity_id", "budget_period", "engaged_members"])
    members = engaged if csa_caseload is None else pd.concat(
        [engaged, csa_caseload_members(csa_caseload, entities, program)], ignore_index=True)
    allotments.append(cp_infrastructure(members, entities, program, point=infrastructure_point))
    if investments is not None:
        allotments.append(statewide_investment_allotments(investments))
    flexible = flexible_services_allotments(member_months, program)
    reimbursed = (flexible_services_reimbursements(flexible, flexible_requests, entities)
                  if flexible_requests is not None else
                  pd.DataFrame(columns=["request_id", "entity_id", "budget_period", "quarter", "amount_approved",
                                        "reimbursed_usd"]))
    awards = None
    if cp_domain_scores is not None and engagement is not None:
        awards = outcomes_pool_awards(cp_domain_scores, engaged.merge(entities[["entity_id", "entity_type"]],
                                                                      on="entity_id"), program, pool_usd=pool_usd)
    return build_ledger(pd.concat(allotments, ignore_index=True), monthly, flexible, reimbursed, program,
                        scores=scores, approvals=approvals, allowances=allowances, pool_awards=awards,
                        remediation=remediation)


def _with_preliminary(allotments: pd.DataFrame, preliminary: pd.DataFrame, entities: pd.DataFrame,
                      program: Program, **funding_options) -> pd.DataFrame:
    """ACO startup/ongoing allotments with ``preliminary_cents``: the same funding on preliminary counts."""
    key = ["entity_id", "sub_stream", "budget_period"]
    cols = ["entity_id", "budget_period", "member_months", "chc_member_months"]
    on_final = preliminary[cols].merge(allotments[["entity_id", "budget_period"]].drop_duplicates())
    funding = startup_ongoing_funding(on_final, entities, program, **funding_options)
    early = aco_startup_ongoing(funding, program)
    early = early[key].assign(preliminary_cents=_cents(early["allotted_usd"]).astype("float64"))
    return allotments.merge(early, on=key, how="left")
