"""Allotments: what each entity is due per funding stream, sub-stream and budget period.

* ACO startup/ongoing (sub-streams 1 primary care, not at risk, and 2 discretionary, withheld
  by Exhibit 20) from ``dsrip_lib.payments.withholds``;
* ACO flexible services: allotment = Exhibit 9 PMPM x member-months; approved requests are
  reimbursed quarterly up to it (:func:`flexible_services_reimbursements`);
* DSTI glide path: the data's SFY amounts per hospital, split over budget periods by the rule of
  Sec 4.4.3, allotted at the State level to the hospital (entity type ``dsti_hospital``, its name
  in ``hospital``); ``dsrip_lib.payments.dsti_contracts`` moves each contracted hospital-period
  to the ACO the hospital contracts with;
* BH and LTSS CP care coordination: the monthly PMPM for each assigned member with documented
  outreach (a not-engaged month, before the first engagement and within the outreach limit of
  Sec 4.5.1) and each engaged member (:func:`cp_care_coordination`);
* CP and CSA infrastructure: Prep at a point in the Sec 4.5 ranges; BP 1-5 the cap of Exhibits
  12-14, PMPM x 12 x members (:func:`cp_infrastructure`): a CP's engaged members
  (:func:`engaged_members`), a CSA's caseload (:func:`csa_caseload_members`);
* statewide investments by initiative, from the data.

References
----------
MassHealth DSRIP Protocol, Sec 4.4.1-4.4.4 (Exhibits 6-11), Sec 4.5.1-4.5.7 (Exhibits 12-14),
Sec 4.6 (Exhibit 15), Sec 5.1.2 (Exhibits 19-22).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dsrip_lib.errors import ParameterError
from dsrip_lib.inputs.codes import ACO_ENTITY_TYPE, CP_ENTITY_TYPES, CSA_ENTITY_TYPE
from dsrip_lib.inputs.frame_checks import reject_rows, require_columns, require_unique
from dsrip_lib.payments.installments import BIANNUAL, MONTHS_PER_YEAR, QUARTERLY
from dsrip_lib.payments.withholds import DISCRETIONARY, aco_withholds
from dsrip_lib.program import Program

STATE = "state"
DSTI_HOSPITAL = "dsti_hospital"
HOSPITAL = "hospital"  # the DSTI hospital of an allotment, wherever it is paid ("" for other sub-streams)
DSTI = "dsti_glide_path"
STREAM_OF_TYPE = {ACO_ENTITY_TYPE: "aco", DSTI_HOSPITAL: "aco", **{t: "community_partners" for t in CP_ENTITY_TYPES},
                  CSA_ENTITY_TYPE: "community_partners", STATE: "statewide_investments"}
ALLOTMENT_COLUMNS = ["entity_id", "entity_type", "stream", "sub_stream", "budget_period", "calendar", "schedule",
                     "at_risk_share", "allotted_usd"]


def _allotments(frame: pd.DataFrame, sub_stream: str, calendar: str, schedule: str) -> pd.DataFrame:
    out = frame.assign(sub_stream=sub_stream, calendar=calendar, schedule=schedule)
    out["stream"] = out["entity_type"].map(STREAM_OF_TYPE)
    out["budget_period"] = out["budget_period"].astype("int64")
    return out[ALLOTMENT_COLUMNS]


def require_existing(frame: pd.DataFrame, table: str, entities: pd.DataFrame, column: str = "entity_id") -> None:
    """Raise unless every row's entity is in ``entities`` and its budget period is not before the entity joined.

    Raises
    ------
    InputValidationError
        Naming the table, the rule and a few offending rows (a payment for an entity that did not
        exist in that period).
    """
    joined = frame[[column, "budget_period"]].merge(
        entities[["entity_id", "join_budget_period"]].rename(columns={"entity_id": column}), on=column, how="left")
    reject_rows(joined, table, ~(joined["budget_period"] >= joined["join_budget_period"]), column,
                "an entity of the entities table, in a budget period from its join_budget_period on",
                [column, "budget_period", "join_budget_period"])


def aco_startup_ongoing(funding: pd.DataFrame, program: Program) -> pd.DataFrame:
    """Sub-streams 1 (primary care, not at risk) and 2 (discretionary, withheld by Exhibit 20).

    ``funding`` is ``dsrip_lib.payments.withholds.startup_ongoing_funding``.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.1 and Exhibits 6-8, Sec 5.1.2 (Exhibits 19 and 20).
    """
    base = funding[["entity_id", "budget_period"]].assign(entity_type=ACO_ENTITY_TYPE)
    primary = _allotments(base.assign(at_risk_share=0.0, allotted_usd=funding["primary_care_usd"]),
                          "startup_ongoing_primary_care", "aco", QUARTERLY)
    shares = aco_withholds(funding, program)["at_risk_share"].to_numpy()
    discretionary = _allotments(base.assign(at_risk_share=shares, allotted_usd=funding["discretionary_usd"]),
                                DISCRETIONARY, "aco", QUARTERLY)
    return pd.concat([primary, discretionary], ignore_index=True)


def preliminary_member_months(counts: pd.DataFrame, program: Program) -> pd.DataFrame:
    """Each ACO's preliminary member-months per budget period: a snapshot count x the period's months.

    The snapshot is the ACO's attributed members in the month
    ``aco_payments.preliminary_count_months_before_period`` months before the period's first
    month (when the State notifies the anticipated funding amounts), else in the latest month
    before that with a count; with no count before it (BP 1 before the operational start) the
    period's first month, as the State may delay BP 1's first payment until enrollments are
    effective.

    Parameters
    ----------
    counts : DataFrame
        ``aco_id, month, members, chc_members`` (``dsrip_lib.attribution.member_months.monthly_counts``).
    program : Program
        The ACO calendar and ``aco_payments``.

    Returns
    -------
    DataFrame
        ``entity_id, budget_period, member_months, chc_member_months, snapshot_month`` for each
        ACO and budget period in which it has a count.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 3.4.4.1 (preliminary member counts, final counts adjusting the
    later quarterly payments, the BP 1 delay), Sec 4.4.1 (line 559).
    """
    lead = program.require("aco_payments").preliminary_count_months_before_period
    counts = counts.assign(month=pd.to_datetime(counts["month"])).sort_values("month")
    rows = []
    for period in program.calendar.budget_periods("aco"):
        first = pd.Timestamp(period.months[0])
        notified = first - pd.DateOffset(months=lead)
        inside = counts[counts["month"].isin(pd.to_datetime(list(period.months)))]
        for aco, own in counts[counts["aco_id"].isin(inside["aco_id"])].groupby("aco_id"):
            before = own[own["month"] <= notified]
            snap = before.iloc[-1] if len(before) else own[own["month"] >= first].iloc[0]
            months = len(period.months)
            rows.append((aco, period.number, int(snap["members"]) * months, int(snap["chc_members"]) * months,
                         snap["month"]))
    return pd.DataFrame(rows, columns=["entity_id", "budget_period", "member_months", "chc_member_months",
                                       "snapshot_month"])


def flexible_services_allotments(member_months: pd.DataFrame, program: Program) -> pd.DataFrame:
    """Flexible-services allotment of each ACO and budget period: Exhibit 9 PMPM x member-months.

    Periods whose PMPM is 0 (Prep) have no allotment row.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.2 and Exhibit 9.
    """
    pmpm = program.require("aco_payments").flexible_services_pmpm_usd
    out = member_months[["entity_id", "budget_period", "member_months"]].copy()
    out["allotted_usd"] = out["budget_period"].map(lambda bp: pmpm[int(bp)]).astype("float64") * out["member_months"]
    out = out[out["allotted_usd"] > 0].assign(entity_type=ACO_ENTITY_TYPE, at_risk_share=0.0)
    return _allotments(out, "flexible_services", "aco", "reimbursement")


def flexible_services_reimbursements(allotments: pd.DataFrame, requests: pd.DataFrame, entities: pd.DataFrame
                                     ) -> pd.DataFrame:
    """Each approved request's reimbursement: approved amounts in quarter and request order, up to the allotment.

    Parameters
    ----------
    allotments : DataFrame
        :func:`flexible_services_allotments`.
    requests : DataFrame
        The contract's ``flexible_services`` (``request_id, aco_id, budget_period, quarter,
        amount_requested, amount_approved``).
    entities : DataFrame
        The contract's ``entities`` (for the join check).

    Returns
    -------
    DataFrame
        ``request_id, entity_id, budget_period, quarter, amount_approved, reimbursed_usd``: the
        running total of approved amounts is cut at the allotment (a request that crosses it is
        reimbursed in part; later ones get nothing); a request of an ACO with no allotment in
        the period gets nothing.

    Raises
    ------
    InputValidationError
        Missing columns, a duplicate request, an approval above its request or below zero, a
        quarter outside 1-4, or a request of an ACO that did not exist in the period.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.2 (reimbursed up to the allotment; the rest forfeited).
    """
    table = "flexible_services"
    require_columns(requests, table, ["request_id", "aco_id", "budget_period", "quarter", "amount_requested",
                                      "amount_approved"])
    require_unique(requests, table, ["request_id"])
    show = ["request_id", "aco_id", "budget_period", "amount_requested", "amount_approved"]
    reject_rows(requests, table, ~((requests["amount_approved"] >= 0)
                                   & (requests["amount_approved"] <= requests["amount_requested"])),
                "amount_approved", "0 <= amount_approved <= amount_requested", show)
    reject_rows(requests, table, ~requests["quarter"].between(1, 4), "quarter", "a quarter 1-4", show)
    require_existing(requests, table, entities, column="aco_id")
    rows = requests.rename(columns={"aco_id": "entity_id"}).sort_values(
        ["entity_id", "budget_period", "quarter", "request_id"], ignore_index=True)
    cap = rows.merge(allotments[["entity_id", "budget_period", "allotted_usd"]], how="left",
                     on=["entity_id", "budget_period"])["allotted_usd"].fillna(0.0).to_numpy()
    running = rows.groupby(["entity_id", "budget_period"])["amount_approved"].cumsum().to_numpy()
    before = running - rows["amount_approved"].to_numpy()
    rows["reimbursed_usd"] = np.clip(np.minimum(running, cap) - before, 0.0, None)
    return rows[["request_id", "entity_id", "budget_period", "quarter", "amount_approved", "reimbursed_usd"]]


def dsti_glide_path(dsti_payments: pd.DataFrame, program: Program) -> pd.DataFrame:
    """DSTI glide-path allotments per hospital and ACO budget period, at the State level.

    The SFY amounts of the data are split over budget periods as Exhibit 11 is from Exhibit 10;
    the withheld share is Exhibit 20's glide-path row (no join lag: no ACO is named here;
    ``dsrip_lib.payments.dsti_contracts.allot_to_contracting_acos`` pays a contracted
    hospital-period to its ACO). SFYs before the demonstration are the pre-DSRIP DSTI payments
    the glide path starts from (a baseline, not a DSRIP payment) and are left out.

    Returns
    -------
    DataFrame
        :data:`ALLOTMENT_COLUMNS` and ``hospital`` (the hospital's name, also its ``entity_id``).

    Raises
    ------
    InputValidationError
        A duplicate hospital-SFY, a negative amount, or an SFY after the demonstration.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.3 (Exhibits 10 and 11), Sec 5.1.2 (Exhibit 20).
    """
    table = "dsti_payments"
    require_columns(dsti_payments, table, ["hospital", "sfy", "amount"])
    require_unique(dsti_payments, table, ["hospital", "sfy"])
    reject_rows(dsti_payments, table, ~(dsti_payments["amount"] >= 0), "amount", "amount >= 0",
                ["hospital", "sfy", "amount"])
    calendar = program.calendar
    last = calendar.sfy_of(calendar.demonstration.end)
    reject_rows(dsti_payments, table, dsti_payments["sfy"] > last, "sfy", f"an SFY of the demonstration (to {last})",
                ["hospital", "sfy", "amount"])
    at_risk = program.require("at_risk")
    rows = []
    for hospital, by_sfy in dsti_payments[dsti_payments["sfy"] >= calendar.first_demonstration_sfy].groupby("hospital"):
        split = program.calendar.split_sfy_amounts(dict(zip(by_sfy["sfy"].astype(int), by_sfy["amount"])), "aco")
        rows += [(hospital, bp, at_risk.aco_share(DSTI, bp), amount)
                 for bp, amount in split.items() if amount > 0]
    out = pd.DataFrame(rows, columns=["entity_id", "budget_period", "at_risk_share", "allotted_usd"])
    out = _allotments(out.assign(entity_type=DSTI_HOSPITAL), DSTI, "aco", QUARTERLY)
    return out.assign(**{HOSPITAL: out["entity_id"]})


def cp_care_coordination(engagement: pd.DataFrame, entities: pd.DataFrame, program: Program, *,
                         pmpm_usd: dict[str, float] | None = None) -> pd.DataFrame:
    """Care-coordination payment of each BH and LTSS CP per month.

    A member-month row of ``cp_engagement`` is an assigned member; it is paid when the member
    is engaged, or, as outreach, when not yet engaged (before the first engaged month with that
    CP) and within the CP type's outreach limit counted from the first (assignment) month. A
    not-engaged month after engagement is not paid.

    Parameters
    ----------
    engagement : DataFrame
        ``member_id, month, cp_id, engaged``.
    entities : DataFrame
        The contract's ``entities`` (type and join period of each CP).
    program : Program
        ``cp_payments.care_coordination_pmpm_usd`` and ``outreach_months_max``; the CP calendar.
    pmpm_usd : dict, optional
        PMPM by CP type, replacing the program's anticipated rates (Sec 4.5.1 uses $160 in its
        example).

    Returns
    -------
    DataFrame
        ``entity_id, entity_type, budget_period, month, engaged_members, outreach_members,
        pmpm_usd, at_risk_share, allotted_usd`` (one row per CP and month with a payable member).

    Raises
    ------
    InputValidationError
        Missing columns, a month outside every CP budget period, or a CP that did not exist in
        the month's period.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.5.1 and 4.5.4 (the $160 and $80 examples), Sec 5.1.2
    (Exhibit 22).
    """
    table = "cp_engagement"
    require_columns(engagement, table, ["member_id", "month", "cp_id", "engaged"])
    block = program.require("cp_payments")
    rates = {**block.care_coordination_pmpm_usd, **(pmpm_usd or {})}
    rows = engagement[["member_id", "month", "cp_id", "engaged"]].copy()
    rows["month"] = pd.to_datetime(rows["month"])
    index = rows["month"].dt.year * 12 + rows["month"].dt.month
    rows["budget_period"] = _period_of_months(rows["month"], program, "cp")
    reject_rows(rows, table, rows["budget_period"].isna(), "month", "a month of a CP budget period",
                ["member_id", "month", "cp_id"])
    rows["entity_id"] = rows.pop("cp_id")
    require_existing(rows, table, entities)
    rows = rows.merge(entities[["entity_id", "entity_type", "join_budget_period"]], on="entity_id")
    member = [rows["member_id"], rows["entity_id"]]
    assigned = index.groupby(member).transform("min")
    first_engaged = index.where(rows["engaged"].astype(bool)).groupby(member).transform("min")
    limit = rows["entity_type"].map(lambda t: block.outreach_months_max.get(t)).astype("float64")
    outreach = (~rows["engaged"].astype(bool)) & ~(index >= first_engaged) & ~(index - assigned >= limit)
    rows["engaged_members"] = rows["engaged"].astype("int64")
    rows["outreach_members"] = outreach.astype("int64")
    key = ["entity_id", "entity_type", "join_budget_period", "budget_period", "month"]
    out = rows.groupby(key, as_index=False)[["engaged_members", "outreach_members"]].sum()
    out = out[(out["engaged_members"] + out["outreach_members"]) > 0].copy()
    missing = sorted(set(out["entity_type"]) - set(rates))
    if missing:
        raise ParameterError(f"no care-coordination PMPM for CP type(s) {missing}")
    out["pmpm_usd"] = out["entity_type"].map(rates).astype("float64")
    out["allotted_usd"] = (out["engaged_members"] + out["outreach_members"]) * out["pmpm_usd"]
    out["at_risk_share"] = _cp_shares(out, program)
    return out.drop(columns="join_budget_period").reset_index(drop=True)


def engaged_members(engagement: pd.DataFrame, program: Program) -> pd.DataFrame:
    """Average members engaged per month with each CP in each CP budget period.

    Returns ``entity_id, budget_period, engaged_members`` (engaged member-months / months of the
    period; the "number of members engaged" of Sec 4.5.2 read as a monthly average).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.5.2 and 4.5.5 (infrastructure by members engaged).
    """
    engaged = engagement[engagement["engaged"].astype(bool)]
    rows = pd.DataFrame({"entity_id": engaged["cp_id"].to_numpy(), "month": pd.to_datetime(engaged["month"]).to_numpy(),
                         "members": 1})
    return _monthly_average(rows, program)


def csa_caseload_members(caseload: pd.DataFrame, entities: pd.DataFrame, program: Program) -> pd.DataFrame:
    """Average caseload per month of each CSA in each CP/CSA budget period, as :func:`engaged_members` counts CPs.

    Sec 3.4.4.2 bases CSA infrastructure on a member snapshot "based on actual caseload"; the
    caseload stands where a CP's engaged members stand, so :func:`cp_infrastructure` allots BP 1-5
    by Exhibit 14's PMPM x 12 x this average (= PMPM x caseload member-months over a 12-month
    period).

    Parameters
    ----------
    caseload : DataFrame
        The contract's ``csa_caseload`` (``entity_id, month, members``).
    entities : DataFrame
        The contract's ``entities``.

    Returns
    -------
    DataFrame
        ``entity_id, budget_period, engaged_members``.

    Raises
    ------
    InputValidationError
        Missing columns, a duplicate CSA-month, members not a whole number >= 0, an entity that
        is not a CSA, a month outside every CP/CSA budget period, or a month before the CSA joined.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 3.4.4.2 (CSA snapshots on actual caseload), Sec 4.5.7 and
    Exhibit 14.
    """
    table = "csa_caseload"
    show = ["entity_id", "month", "members"]
    require_columns(caseload, table, show)
    rows = caseload[show].assign(month=pd.to_datetime(caseload["month"]))
    require_unique(rows, table, ["entity_id", "month"])
    members = pd.to_numeric(rows["members"], errors="coerce").astype("float64")
    reject_rows(rows, table, ~((members >= 0) & (members == np.floor(members))), "members", "a whole number >= 0",
                show)
    types = rows["entity_id"].map(entities.set_index("entity_id")["entity_type"])
    reject_rows(rows.assign(entity_type=types), table, types != CSA_ENTITY_TYPE, "entity_id",
                f"an entity of the entities table with entity_type {CSA_ENTITY_TYPE!r}", [*show, "entity_type"])
    rows["budget_period"] = _period_of_months(rows["month"], program, "cp")
    reject_rows(rows, table, rows["budget_period"].isna(), "month", "a month of a CP/CSA budget period", show)
    require_existing(rows, table, entities)
    return _monthly_average(rows.assign(members=members), program)


def _monthly_average(rows: pd.DataFrame, program: Program) -> pd.DataFrame:
    """``entity_id, budget_period, engaged_members``: ``members`` of the rows (``entity_id, month,
    members``) summed per CP/CSA budget period and divided by the period's months."""
    rows = rows.assign(budget_period=_period_of_months(pd.to_datetime(rows["month"]), program, "cp"))
    out = rows.groupby(["entity_id", "budget_period"], as_index=False)["members"].sum()
    months = {p.number: len(p.months) for p in program.calendar.budget_periods("cp")}
    out["budget_period"] = out["budget_period"].astype("int64")
    out["engaged_members"] = out["members"] / out["budget_period"].map(months)
    return out[["entity_id", "budget_period", "engaged_members"]]


def infrastructure_cap_usd(pmpm_usd: float, engaged: float) -> float:
    """The maximum infrastructure budget of a period: PMPM x 12 x members engaged.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.5.2 ($40 x 12 x 1,000 = $480,000), Sec 4.5.5 ($35 x 12 x
    1,000 = $420,000).
    """
    return pmpm_usd * MONTHS_PER_YEAR * engaged


def cp_infrastructure(engaged: pd.DataFrame, entities: pd.DataFrame, program: Program, *, point: float
                      ) -> pd.DataFrame:
    """CP and CSA infrastructure allotments: Prep by the Sec 4.5 ranges, BP 1-5 at the Exhibit 12-14 cap.

    BP 1-5: the period's PMPM (at ``point`` of its Exhibit 12-14 range) x 12 x the members
    engaged (a CSA's caseload), each a monthly average over the period.

    Parameters
    ----------
    engaged : DataFrame
        ``entity_id, budget_period, engaged_members``: :func:`engaged_members` of the CPs and
        :func:`csa_caseload_members` of the CSAs (without a caseload a CSA is allotted Prep only).
    entities : DataFrame
        The contract's ``entities``.
    program : Program
        ``cp_payments`` (ranges), ``at_risk.cp_csa_share`` (Exhibit 22 with the join lag).
    point : float
        ILLUSTRATIVE: where in each anticipated range the State sets the amount (0 = low, 1 =
        high; a range with no low, "up to $500,000", is paid at its high).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 3.4.4.2 (snapshots: CP engagement, CSA caseload), Sec 4.5.2,
    4.5.5, 4.5.7, Exhibits 12-14, Sec 5.1.2 (Exhibit 22).
    """
    if not 0 <= point <= 1:
        raise ParameterError(f"infrastructure point {point} is not in [0, 1]")
    block = program.require("cp_payments")
    types = [t for t in (*CP_ENTITY_TYPES, CSA_ENTITY_TYPE) if t in block.infrastructure_pmpm_usd]
    members = entities.loc[entities["entity_type"].isin(types), ["entity_id", "entity_type", "join_budget_period"]]
    prep = members[members["join_budget_period"] == 0].assign(budget_period=0)
    prep["allotted_usd"] = prep["entity_type"].map(lambda t: _at(block.prep_infrastructure_usd[t], point))
    later = engaged.merge(members, on="entity_id")
    require_existing(later, "CP engaged members", entities)
    later = later[later["budget_period"] > 0].copy()
    pmpm = [block.infrastructure_pmpm_usd[t][int(bp)] for t, bp in zip(later["entity_type"], later["budget_period"])]
    later["allotted_usd"] = [infrastructure_cap_usd(_at(r, point), n) if r is not None else 0.0
                             for r, n in zip(pmpm, later["engaged_members"])]
    out = pd.concat([prep, later[prep.columns]], ignore_index=True)
    out = out[out["allotted_usd"] > 0].copy()
    out["at_risk_share"] = _cp_shares(out, program)
    return _allotments(out, "infrastructure", "cp", BIANNUAL)


def statewide_investment_allotments(investments: pd.DataFrame) -> pd.DataFrame:
    """Statewide investments by initiative and budget period (State level, not at risk), from the data.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.6 and Exhibit 15.
    """
    table = "statewide_investments"
    require_columns(investments, table, ["investment", "budget_period", "amount"])
    require_unique(investments, table, ["investment", "budget_period"])
    reject_rows(investments, table, ~(investments["amount"] >= 0), "amount", "amount >= 0",
                ["investment", "budget_period", "amount"])
    out = investments[investments["amount"] > 0]
    out = pd.DataFrame({"entity_id": STATE, "entity_type": STATE, "budget_period": out["budget_period"],
                        "at_risk_share": 0.0, "allotted_usd": out["amount"], "investment": out["investment"]})
    frames = [_allotments(rows, investment, "aco", QUARTERLY) for investment, rows in out.groupby("investment")]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ALLOTMENT_COLUMNS)


def _at(bounds, point: float) -> float:
    return bounds.high if bounds.low is None else bounds.low + point * (bounds.high - bounds.low)


def _cp_shares(frame: pd.DataFrame, program: Program) -> np.ndarray:
    at_risk = program.require("at_risk")
    join = frame["join_budget_period"] if "join_budget_period" in frame else 0
    pairs = pd.DataFrame({"bp": frame["budget_period"], "join": join}).astype("int64")
    known = {(bp, j): at_risk.cp_csa_share(bp, j) for bp, j in set(zip(pairs["bp"], pairs["join"]))}
    return np.array([known[k] for k in zip(pairs["bp"], pairs["join"])], dtype="float64")


def _period_of_months(months: pd.Series, program: Program, kind: str) -> pd.Series:
    """The budget period of each month (NaN outside every period), by lookup of each distinct month."""
    lookup = {}
    for month in months.drop_duplicates():
        period = program.calendar.budget_period_of(month.date(), kind)
        lookup[month] = np.nan if period is None else period.number
    return months.map(lookup).astype("float64")


def technical_assistance_split(plan_cost_usd: float, allocation_usd: float, recipient_share: float
                               ) -> tuple[float, float, float]:
    """Who pays a TA plan: ``(state_usd, recipient_usd, unused_allocation_usd)``.

    The State pays the plan cost less the recipient's contribution, at most the PMPM allocation;
    the recipient pays the rest (its share, plus any excess over the allocation); the allocation
    the State does not pay may be redistributed.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.6.5 (the $700,000 examples: plans of $1,000,000, $1,100,000
    and $900,000 with a 30% contribution).
    """
    if plan_cost_usd < 0 or allocation_usd < 0 or not 0 <= recipient_share <= 1:
        raise ParameterError("TA split: costs and allocation must be >= 0 and the recipient share in [0, 1]")
    state = min(allocation_usd, plan_cost_usd * (1 - recipient_share))
    return state, plan_cost_usd - state, allocation_usd - state
