"""Members moving between ACOs, MCOs, the PCC plan, fee-for-service and not enrolled (Sec 4.4.4)."""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

from dsrip_lib.inputs.codes import FFS_PLAN_TYPE, MCO_PLAN_TYPE, PCC_PLAN_TYPE

CATEGORIES = ("ACO", "MCO", "PCC", "FFS")
PLAN_TYPE_CATEGORIES = {MCO_PLAN_TYPE: "MCO", PCC_PLAN_TYPE: "PCC", FFS_PLAN_TYPE: "FFS"}
NOT_ENROLLED = "Not enrolled"


def member_status(enrollment: ir.Table, attribution: ir.Table, month: dt.date) -> ir.Table:
    """Each enrolled member's status in ``month``.

    ``category`` is ``ACO`` for a member attributed to an ACO (by enrollment or
    PCP assignment; ``aco_id`` says which), else ``MCO``, ``PCC`` or ``FFS`` by
    plan type. Members without an enrollment row that month are absent (the
    caller treats them as not enrolled).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 1 (MassHealth delivery system: ACOs, MCOs, PCC plan); Sec 4.4.4.
    """
    m = ibis.literal(month, type="date")
    enr = enrollment.filter(enrollment.month == m).select("member_id", "plan_type")
    att = attribution.filter(attribution.month == m).select(_mid="member_id", aco_id="aco_id")
    j = enr.left_join(att, enr.member_id == att._mid)
    plan_label = j.plan_type.cases(*PLAN_TYPE_CATEGORIES.items(), else_="ACO")
    category = ibis.ifelse(j.aco_id.notnull(), ibis.literal("ACO"), plan_label)
    return j.select("member_id", category=category, aco_id=j.aco_id)


def flows(enrollment: ir.Table, attribution: ir.Table, month_from: dt.date, month_to: dt.date) -> pd.DataFrame:
    """Members moving between ACOs, MCO, PCC, FFS and not enrolled between two months.

    Typically the last months of two budget periods. Returns ``from_category``,
    ``from_aco``, ``to_category``, ``to_aco`` (null unless the category is
    ``ACO``) and ``members``.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4 (member counts robust to enrollment movement between ACOs).
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
    MassHealth DSRIP Protocol, Sec 4.4.4.
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
    MassHealth DSRIP Protocol, Sec 4.4.4.
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
