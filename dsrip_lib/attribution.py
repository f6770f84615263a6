"""Attribution of members to ACOs: enrollment, PCP assignment and claims plurality.

Claims-scale steps are Ibis expressions over the input tables, so they run on
whichever backend holds the data (DuckDB in-process by default). Nothing here
reads or writes files.

The three rules:

* enrollment (Partnership Plans, model A, and Primary Care ACOs, model B): a
  member enrolled in the ACO that month is attributed to it (protocol 4.4.4);
* PCP assignment (MCO-Administered ACOs, model C): an MCO enrollee whose PCP
  assignment in effect on the month's snapshot day is to a PCP participating in
  a model C ACO is attributed to that ACO (protocol 4.4.4);
* claims plurality (the Connecticut PCMH method, CT MQISSP primer): the
  participating PCP with the most qualifying primary-care visits in a look-back
  window, ties broken deterministically.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import ibis
import ibis.expr.types as ir
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from dsrip_lib.errors import ParameterError

SnapshotDay = Literal["last", "first"]
TieBreak = Literal["most_recent_visit", "provider_id"]
CATEGORIES = ("ACO", "MCO", "PCC", "FFS")
NOT_ENROLLED = "Not enrolled"


class AttributionOptions(BaseModel):
    """Options of the attribution report (validated on entry; unknown keys rejected).

    Attributes
    ----------
    assignment_snapshot_day
        Day of the month on which a PCP assignment must be in effect for the
        member-month to follow it: ``"last"`` (default) or ``"first"``.
    count_method
        ``"average"`` (mean monthly count over the budget period, default) or
        ``"snapshot"`` (members attributed in the period's last month), 4.4.4.
    plurality_as_of
        As-of date of the claims-plurality attribution; default the end of the
        last budget period with data.
    plurality_lookback_months
        Length of the look-back window ending on the as-of date.
    plurality_tie_break
        Order of tie-breaks after the visit count.
    flow_periods
        The two budget periods the flows table compares; default the last two.
    """

    model_config = ConfigDict(extra="forbid")

    assignment_snapshot_day: SnapshotDay = "last"
    count_method: Literal["snapshot", "average"] = "average"
    plurality_as_of: dt.date | None = None
    plurality_lookback_months: int = Field(24, ge=1, le=120)
    plurality_tie_break: tuple[TieBreak, ...] = ("most_recent_visit", "provider_id")
    flow_periods: tuple[int, int] | None = None

    @field_validator("plurality_tie_break", "flow_periods", mode="before")
    @classmethod
    def _split_comma_list(cls, value: object) -> object:
        # `-p options.attribution.flow_periods=3,4` arrives as one string
        return [item.strip() for item in value.split(",")] if isinstance(value, str) else value

    @field_validator("plurality_tie_break")
    @classmethod
    def _complete_tie_break(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return check_tie_break(value)
        except ParameterError as exc:  # pydantic reports ValueErrors with the field's location
            raise ValueError(str(exc)) from None


    @field_validator("flow_periods")
    @classmethod
    def _ordered_periods(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and value[0] >= value[1]:
            raise ValueError(f"flow_periods must be an earlier then a later budget period, got {value}")
        return value


def check_tie_break(tie_break: tuple[str, ...]) -> tuple[str, ...]:
    """The tie-break order, checked to name every tie-break exactly once (so no tie is left to row order)."""
    if sorted(tie_break) != sorted(TieBreak.__args__):
        raise ParameterError(f"tie_break must list each of {TieBreak.__args__} once, got {tuple(tie_break)}")
    return tuple(tie_break)


def snapshot_date(month: ir.DateValue, day: SnapshotDay = "last") -> ir.DateValue:
    """The day of ``month`` (a first-of-month date) on which assignments are read.

    References
    ----------
    Protocol 4.4.4 (member counts from MCO-reported primary care assignments).
    """
    if day == "first":
        return month
    if day == "last":
        return (month + ibis.interval(months=1) - ibis.interval(days=1)).cast("date")
    raise ParameterError(f"assignment_snapshot_day must be 'last' or 'first', got {day!r}")


def with_assigned_pcp(
    enrollment: ir.Table,
    pcp_assignments: ir.Table,
    providers: ir.Table,
    day: SnapshotDay = "last",
) -> ir.Table:
    """Enrollment months with the PCP assignment in effect on the snapshot day.

    An assignment covers day ``d`` when ``start_date <= d`` and ``end_date`` is
    null or ``>= d``. A member's spans do not overlap, so each month gets at most
    one PCP. Adds ``pcp_npi``, ``pcp_is_chc``, ``pcp_apm_paid`` and
    ``pcp_aco_id`` (null when no assignment covers the day).

    References
    ----------
    Protocol 4.4.4 (primary care assignments reported by MCOs); 5.2.1.1 (the
    member's PCP paid under an APM).
    """
    snap = enrollment.mutate(_snap=snapshot_date(enrollment.month, day))
    pa = pcp_assignments.select("member_id", "pcp_npi", "start_date", "end_date")
    joined = snap.left_join(
        pa,
        [
            snap.member_id == pa.member_id,
            pa.start_date <= snap._snap,
            pa.end_date.isnull() | (pa.end_date >= snap._snap),
        ],
    )
    prov = providers.select(
        _npi="npi", pcp_is_chc="is_chc", pcp_apm_paid="apm_paid", pcp_aco_id="aco_id"
    )
    out = joined.left_join(prov, joined.pcp_npi == prov._npi)
    return out.select(*enrollment.columns, "pcp_npi", "pcp_is_chc", "pcp_apm_paid", "pcp_aco_id")


def model_c_acos(entities: ir.Table) -> ir.Table:
    """The MCO-Administered ACOs (model C) as a one-column table ``aco_id``.

    References
    ----------
    Protocol 1 and 4.4.4 (MCO-Administered ACOs).
    """
    return entities.filter(
        (entities.entity_type == "aco") & (entities.aco_model == "C")
    ).select(aco_id="entity_id")


def monthly_attribution(
    enrollment: ir.Table,
    pcp_assignments: ir.Table,
    providers: ir.Table,
    entities: ir.Table,
    day: SnapshotDay = "last",
) -> ir.Table:
    """Member-month attribution to ACOs by enrollment and by PCP assignment.

    * ``aco_a`` / ``aco_b`` months: attributed to the enrolled ACO
      (``method = "enrollment"``);
    * ``mco`` months whose PCP in effect on the snapshot day participates in a
      model C ACO: attributed to that ACO (``method = "pcp_assignment"``).

    Returns one row per attributed member-month: ``member_id``, ``month``,
    ``aco_id``, ``method``, ``aco_eligible`` and ``chc`` (the assigned PCP on the
    snapshot day is a community health center; false without an assignment).

    References
    ----------
    Protocol 4.4.4 (member counts for Partnership Plans, Primary Care ACOs and
    MCO-Administered ACOs); 4.4.1 (members attributed to CHC PCPs, Exhibit 7
    variant).
    """
    months = with_assigned_pcp(enrollment, pcp_assignments, providers, day)
    model_c = model_c_acos(entities)
    is_enrolled = months.plan_type.isin(["aco_a", "aco_b"])
    is_mco_attr = (months.plan_type == "mco") & months.pcp_aco_id.isin(model_c.aco_id)
    return months.filter(is_enrolled | is_mco_attr).select(
        "member_id",
        "month",
        aco_id=ibis.ifelse(is_enrolled, months.aco_id, months.pcp_aco_id),
        method=ibis.ifelse(is_enrolled, ibis.literal("enrollment"), ibis.literal("pcp_assignment")),
        aco_eligible=months.aco_eligible,
        chc=months.pcp_is_chc.fill_null(False),
    )


def plurality_attribution(
    claims: ir.Table,
    providers: ir.Table,
    as_of: dt.date,
    lookback_months: int = 24,
    tie_break: tuple[TieBreak, ...] = ("most_recent_visit", "provider_id"),
) -> ir.Table:
    """Claims-plurality (PCMH) attribution of members to participating PCPs.

    Window: ``as_of - lookback_months < service_date <= as_of`` (e.g. 24 months
    to 2018-12-31 is 2017-01-01..2018-12-31). Qualifying visits are claims with
    ``primary_care_visit`` to a participating PCP (a provider with an
    ``aco_id``). Each member goes to the PCP with the most visits; ties are
    broken by ``tie_break`` in order: ``most_recent_visit`` (the later last
    visit wins), ``provider_id`` (the smaller NPI wins).

    Returns one row per attributed member: ``member_id``, ``npi``, ``aco_id``,
    ``visits``, ``last_visit``.

    References
    ----------
    CT MQISSP primer (PCMH attribution method of DSS); protocol 4.4.4 (members
    attributed to ACOs through participating PCPs).
    """
    if lookback_months < 1:
        raise ParameterError(f"lookback_months must be >= 1, got {lookback_months}")
    check_tie_break(tie_break)
    # window bounds as date literals (not date - interval, a timestamp on DuckDB that
    # stops the filter being pushed into the Parquet scan)
    as_of_lit = ibis.literal(as_of, type="date")
    start = ibis.literal((pd.Timestamp(as_of) - pd.DateOffset(months=lookback_months)).date(), type="date")
    participating = providers.filter(providers.aco_id.notnull()).select("npi", "aco_id")
    visits = claims.filter(
        claims.primary_care_visit,
        claims.service_date > start,
        claims.service_date <= as_of_lit,
    )
    visits = visits.join(participating, visits.provider_npi == participating.npi)
    per_pcp = visits.group_by(["member_id", "npi", "aco_id"]).aggregate(
        visits=visits.count(), last_visit=visits.service_date.max()
    )
    keys = {"most_recent_visit": ibis.desc(per_pcp.last_visit), "provider_id": per_pcp.npi}
    order = [ibis.desc(per_pcp.visits), *(keys[k] for k in tie_break)]
    ranked = per_pcp.mutate(_rank=ibis.row_number().over(group_by=per_pcp.member_id, order_by=order))
    return ranked.filter(ranked._rank == 0).drop("_rank")


def member_status(enrollment: ir.Table, attribution: ir.Table, month: dt.date) -> ir.Table:
    """Each enrolled member's status in ``month``.

    ``category`` is ``ACO`` for a member attributed to an ACO (by enrollment or
    PCP assignment; ``aco_id`` says which), else ``MCO``, ``PCC`` or ``FFS`` by
    plan type. Members without an enrollment row that month are absent (the
    caller treats them as not enrolled).

    References
    ----------
    Protocol 1 (MassHealth delivery system: ACOs, MCOs, PCC plan); 4.4.4.
    """
    m = ibis.literal(month, type="date")
    enr = enrollment.filter(enrollment.month == m).select("member_id", "plan_type")
    att = attribution.filter(attribution.month == m).select(_mid="member_id", aco_id="aco_id")
    j = enr.left_join(att, enr.member_id == att._mid)
    plan_label = j.plan_type.cases(("mco", "MCO"), ("pcc", "PCC"), ("ffs", "FFS"), else_="ACO")
    category = ibis.ifelse(j.aco_id.notnull(), ibis.literal("ACO"), plan_label)
    return j.select("member_id", category=category, aco_id=j.aco_id)


def flows(enrollment: ir.Table, attribution: ir.Table, month_from: dt.date, month_to: dt.date) -> pd.DataFrame:
    """Members moving between ACOs, MCO, PCC, FFS and not enrolled between two months.

    Typically the last months of two budget periods. Returns ``from_category``,
    ``from_aco``, ``to_category``, ``to_aco`` (null unless the category is
    ``ACO``) and ``members``.

    References
    ----------
    Protocol 4.4.4 (member counts robust to enrollment movement between ACOs).
    """
    a = member_status(enrollment, attribution, month_from)
    b = member_status(enrollment, attribution, month_to)
    a = a.rename(from_category="category", from_aco="aco_id")
    b = b.rename(_mid="member_id", to_category="category", to_aco="aco_id")
    j = a.outer_join(b, a.member_id == b._mid)
    j = j.select(
        from_category=j.from_category.fill_null(NOT_ENROLLED),
        from_aco=j.from_aco,
        to_category=j.to_category.fill_null(NOT_ENROLLED),
        to_aco=j.to_aco,
    )
    out = j.group_by(["from_category", "from_aco", "to_category", "to_aco"]).aggregate(members=j.count())
    return out.execute()


def flow_matrix(flow: pd.DataFrame) -> pd.DataFrame:
    """Members by category in the first month (rows) and the second (columns).

    For members in an ACO in the first month, a second-month ACO is split into
    ``ACO (same)`` and ``ACO (other)``; empty columns are dropped.

    References
    ----------
    Protocol 4.4.4.
    """
    to = flow["to_category"].copy()
    both = (flow["from_category"] == "ACO") & (flow["to_category"] == "ACO")
    same = flow["from_aco"] == flow["to_aco"]
    to[both & same] = "ACO (same)"
    to[both & ~same] = "ACO (other)"
    order_from = [*CATEGORIES, NOT_ENROLLED]
    order_to = ["ACO (same)", "ACO (other)", *CATEGORIES, NOT_ENROLLED]
    m = flow.assign(to=to).pivot_table(
        index="from_category", columns="to", values="members", aggfunc="sum", fill_value=0
    )
    m = m.reindex(index=order_from, columns=order_to, fill_value=0)
    m = m.loc[:, (m != 0).any()]
    m.index.name, m.columns.name = "from", None
    return m.astype("int64")


def aco_flow_summary(flow: pd.DataFrame) -> pd.DataFrame:
    """Per ACO between two months: members kept, gained and lost (from/to other ACOs or not).

    References
    ----------
    Protocol 4.4.4.
    """
    stay = flow[(flow.from_category == "ACO") & (flow.from_aco == flow.to_aco)]
    moved_out = flow[(flow.from_category == "ACO") & (flow.from_aco != flow.to_aco)]
    moved_in = flow[(flow.to_category == "ACO") & (flow.from_aco != flow.to_aco)]
    parts = {
        "members_before": flow[flow.from_category == "ACO"].groupby("from_aco").members.sum(),
        "kept": stay.groupby("from_aco").members.sum(),
        "lost_to_other_aco": moved_out[moved_out.to_category == "ACO"].groupby("from_aco").members.sum(),
        "lost_to_non_aco": moved_out[moved_out.to_category != "ACO"].groupby("from_aco").members.sum(),
        "gained_from_other_aco": moved_in[moved_in.from_category == "ACO"].groupby("to_aco").members.sum(),
        "gained_from_non_aco": moved_in[moved_in.from_category != "ACO"].groupby("to_aco").members.sum(),
        "members_after": flow[flow.to_category == "ACO"].groupby("to_aco").members.sum(),
    }
    out = pd.DataFrame(parts).fillna(0).astype("int64")
    out.index.name = "aco_id"
    return out.sort_index().reset_index()


def compare_with_plurality(plurality: pd.DataFrame, attribution_month: pd.DataFrame) -> pd.DataFrame:
    """Per ACO: members attributed by claims plurality, by the enrollment/PCP rule, and by both.

    ``attribution_month`` is the monthly attribution of one month (usually the
    as-of month). ``agree`` counts members both methods give to this ACO.

    References
    ----------
    CT MQISSP primer (PCMH attribution); protocol 4.4.4.
    """
    j = plurality[["member_id", "aco_id"]].merge(
        attribution_month[["member_id", "aco_id"]], on="member_id", how="outer", suffixes=("_pl", "_rule")
    )
    out = pd.DataFrame({
        "plurality": j.groupby("aco_id_pl").size(),
        "enrollment_or_pcp": j.groupby("aco_id_rule").size(),
        "agree": j[j.aco_id_pl == j.aco_id_rule].groupby("aco_id_pl").size(),
    }).fillna(0).astype("int64")
    out.index.name = "aco_id"
    return out.sort_index().reset_index()
