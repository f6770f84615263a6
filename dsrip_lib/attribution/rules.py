"""Attribution of member-months to ACOs by enrollment and by PCP assignment (Sec 4.4.4).

Claims-scale steps are Ibis expressions over the input tables, so they run on whichever
backend holds the data (DuckDB in-process by default). Nothing here reads or writes files.

* enrollment (Partnership Plans, model A, and Primary Care ACOs, model B): a member enrolled
  in the ACO that month is attributed to it;
* PCP assignment (MCO-Administered ACOs, model C): an MCO enrollee whose PCP assignment in
  effect on the month's snapshot day is to a PCP participating in a model C ACO is
  attributed to that ACO.
"""

from __future__ import annotations

from typing import Literal

import ibis
import ibis.expr.types as ir

from dsrip_lib.errors import ParameterError
from dsrip_lib.inputs.codes import ACO_ENTITY_TYPE, ACO_PLAN_TYPES, MCO_ADMINISTERED_MODEL, MCO_PLAN_TYPE
from dsrip_lib.program import Calendar, Program

SnapshotDay = Literal["last", "first"]


def assignment_months(pcp_assignments: ir.Table, day: SnapshotDay = "last") -> ir.Table:
    """Each PCP assignment span as the months whose snapshot day it covers.

    A span covers day ``d`` when ``start_date <= d`` and ``end_date`` is null or ``>= d``.
    For first-of-month ``month`` values (the contract's), that is ``first_month <= month`` and
    (``end_month`` null or ``month < end_month``), two dates computed once per span rather
    than a snapshot date once per enrollment month (the same rule as validation's ``chc_pcp``):

    * ``"last"`` day: ``first_month`` is the month of ``start_date``; ``end_month`` the month
      of the day after ``end_date``;
    * ``"first"`` day: ``first_month`` is the first month starting on or after ``start_date``;
      ``end_month`` the month after ``end_date``'s.

    Returns ``member_id``, ``pcp_npi``, ``first_month``, ``end_month``.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4 (member counts from MCO-reported primary care assignments).
    """
    a = pcp_assignments
    start, end = a.start_date.cast("timestamp"), a.end_date.cast("timestamp")  # explicit dates come back
    one_day, one_month = ibis.interval(days=1), ibis.interval(months=1)
    if day == "last":
        first, end = start.truncate("M"), (end + one_day).truncate("M")
    elif day == "first":
        first, end = (start - one_day).truncate("M") + one_month, end.truncate("M") + one_month
    else:
        raise ParameterError(f"assignment_snapshot_day must be 'last' or 'first', got {day!r}")
    return a.select("member_id", "pcp_npi", first_month=first.date(), end_month=end.date())


def with_assigned_pcp(
    enrollment: ir.Table,
    pcp_assignments: ir.Table,
    providers: ir.Table,
    day: SnapshotDay = "last",
    plan_types: tuple[str, ...] | None = None,
) -> ir.Table:
    """Enrollment months with the PCP assignment in effect on the snapshot day.

    An assignment covers day ``d`` when ``start_date <= d`` and ``end_date`` is
    null or ``>= d`` (:func:`assignment_months`). A member's spans do not overlap, so each
    month gets at most one PCP. Adds ``pcp_npi``, ``pcp_is_chc``, ``pcp_apm_paid`` and
    ``pcp_aco_id`` (null when no assignment covers the day). With ``plan_types``, only months
    of those plan types are joined to the assignments (a rule reading the PCP of no other
    month then joins fewer rows); the other months keep null PCP columns.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4 (primary care assignments reported by MCOs); Sec 5.2.1.1 (the
    member's PCP paid under an APM).
    """
    pa = assignment_months(pcp_assignments, day)
    # a null key matches no span: months of other plan types skip the join in the same pass
    key = enrollment.member_id if plan_types is None else ibis.ifelse(
        enrollment.plan_type.isin(plan_types), enrollment.member_id, ibis.null("string"))
    months = enrollment.mutate(_key=key)
    joined = months.left_join(
        pa,
        [
            months._key == pa.member_id,
            pa.first_month <= months.month,
            pa.end_month.isnull() | (months.month < pa.end_month),
        ],
    )
    prov = providers.select(
        _npi="npi", pcp_is_chc="is_chc", pcp_apm_paid="apm_paid", pcp_aco_id="aco_id"
    )
    out = joined.left_join(prov, joined.pcp_npi == prov._npi)
    return out.select(*enrollment.columns, "pcp_npi", "pcp_is_chc", "pcp_apm_paid", "pcp_aco_id")


def aco_join_dates(entities: ir.Table, calendar: Calendar) -> ir.Table:
    """Each ACO with its model and ``joined``, the first day of its join budget period.

    Returns ``aco_id``, ``aco_model``, ``joined``.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 3.1.1 (ACO budget periods, Exhibit 2), Sec 4.4.1 (an ACO
    joining after the Preparation Budget Period is paid from its join period on).
    """
    acos = entities.filter(entities.entity_type == ACO_ENTITY_TYPE)
    joined = ibis.cases(*((acos.join_budget_period == p.number, ibis.literal(p.start, type="date"))
                          for p in calendar.budget_periods("aco")), else_=None)
    return acos.select(aco_id="entity_id", aco_model="aco_model", joined=joined)


def monthly_attribution(
    enrollment: ir.Table,
    pcp_assignments: ir.Table,
    providers: ir.Table,
    entities: ir.Table,
    program: Program,
    day: SnapshotDay = "last",
) -> ir.Table:
    """Member-month attribution to ACOs by enrollment and by PCP assignment.

    * ``aco_a`` / ``aco_b`` months: attributed to the enrolled ACO
      (``method = "enrollment"``);
    * ``mco`` months whose PCP in effect on the snapshot day participates in a
      model C ACO: attributed to that ACO (``method = "pcp_assignment"``).

    Only months inside the program's ACO budget periods count, from its first budget period
    with members on (``attribution.first_budget_period_with_members``: BP 1 for MassHealth,
    whose ACOs have no members in the Preparation Budget Period), and only from the first
    month of the ACO's join budget period on: no member is attributed to an ACO before it
    is in the program (enrollment naming an ACO earlier is refused by validation).

    Returns one row per attributed member-month: ``member_id``, ``month``,
    ``aco_id``, ``method``, ``aco_eligible`` and ``chc`` (the assigned PCP on the
    snapshot day is a community health center; false without an assignment).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4 (member counts for Partnership Plans, Primary Care
    ACOs and MCO-Administered ACOs); Sec 4.4.1 (members attributed to CHC PCPs, Exhibit 7
    variant; ACOs joining after the Preparation Budget Period); Sec 3.1.1 (budget periods);
    Sec 4.2.1 and 5.3 (no attributed members in the Preparation Budget Period).
    """
    return attribute_months(with_assigned_pcp(enrollment, pcp_assignments, providers, day), entities, program)


def attribute_months(months: ir.Table, entities: ir.Table, program: Program) -> ir.Table:
    """:func:`monthly_attribution` of enrollment months that already carry their assigned PCP.

    ``months`` is :func:`with_assigned_pcp`'s output (its extra columns are dropped), so a
    caller that also needs the assigned PCP for another rule joins the assignments once.
    """
    first, last = _attribution_window(program)
    candidates = months.filter(months.plan_type.isin([*ACO_PLAN_TYPES, MCO_PLAN_TYPE]),
                               months.month.between(first, last))
    flagged = flag_attributed(candidates, entities, program)  # fewer rows to join: the same result
    return flagged.filter(flagged.attributed).select(
        "member_id",
        "month",
        aco_id=flagged.candidate_aco,
        method=ibis.ifelse(flagged.plan_type.isin(ACO_PLAN_TYPES), ibis.literal("enrollment"),
                           ibis.literal("pcp_assignment")),
        aco_eligible=flagged.aco_eligible,
        chc=flagged.pcp_is_chc.fill_null(False),
    )


def _attribution_window(program: Program) -> tuple[ir.DateScalar, ir.DateScalar]:
    """First and last day on which members may be attributed: from the first budget period with
    members (or the first budget period) to the end of the last."""
    periods = program.calendar.budget_periods("aco")
    rules = program.attribution
    opening = periods[0] if rules is None else program.calendar.budget_period(rules.first_budget_period_with_members)
    return ibis.literal(opening.start, type="date"), ibis.literal(periods[-1].end, type="date")


def flag_attributed(months: ir.Table, entities: ir.Table, program: Program) -> ir.Table:
    """Every month of ``months`` with ``candidate_aco`` and ``attributed``: whether the rules of
    :func:`monthly_attribution` attribute it to that ACO.

    For a caller that needs, per member, whether any month is attributed (the adoption rate's
    first path) without filtering the months away: one pass, no second copy of the months.
    """
    first, last = _attribution_window(program)
    enrolled = months.plan_type.isin(ACO_PLAN_TYPES)
    months = months.mutate(candidate_aco=ibis.ifelse(enrolled, months.aco_id, months.pcp_aco_id))
    acos = aco_join_dates(entities, program.calendar).rename(_aco="aco_id", _model="aco_model", _joined="joined")
    joined = months.left_join(acos, months.candidate_aco == acos._aco)
    by_rule = joined.plan_type.isin(ACO_PLAN_TYPES) | (
        (joined.plan_type == MCO_PLAN_TYPE) & (joined._model == MCO_ADMINISTERED_MODEL))
    attributed = by_rule & joined._aco.notnull() & joined.month.between(first, last) & (joined.month >= joined._joined)
    return joined.mutate(attributed=attributed.fill_null(False)).drop("_aco", "_model", "_joined")
