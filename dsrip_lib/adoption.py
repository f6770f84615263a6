"""MassHealth ACO/APM adoption rate (protocol 5.2.1.1, Exhibit 26)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from dsrip_lib.attribution import SnapshotDay, monthly_attribution, with_assigned_pcp
from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.program import Program

PATHS = ("path_aco", "path_apm_pcp", "path_apm_spending")


@dataclass(frozen=True)
class AdoptionResult:
    """Adoption rate of one budget period against its Exhibit 26 target.

    ``by_path`` counts the members meeting each path (a member may meet
    several); ``numerator`` counts each member once. ``target`` and ``passed``
    are None when Exhibit 26 sets no target (the Preparation Budget Period).
    """

    budget_period: int
    denominator: int
    numerator: int
    rate: float
    target: float | None
    passed: bool | None
    by_path: dict[str, int]


def adoption_members(
    enrollment: ir.Table,
    pcp_assignments: ir.Table,
    providers: ir.Table,
    entities: ir.Table,
    claims: ir.Table,
    start: dt.date,
    end: dt.date,
    apm_share_threshold: float,
    day: SnapshotDay = "last",
) -> ir.Table:
    """ACO-eligible members of a period and which adoption paths each meets.

    Denominator: members with at least one ``aco_eligible`` enrollment month in
    ``start..end``. Paths (any one counts):

    1. ``path_aco``: in an ACO-eligible month, enrolled in an ACO (``aco_a``,
       ``aco_b``) or attributed to a model C ACO by PCP assignment;
    2. ``path_apm_pcp``: in an ACO-eligible month, an ``mco`` enrollee whose
       assigned PCP (snapshot day) has ``apm_paid``;
    3. ``path_apm_spending``: of the member's non-primary-care claims paid in
       the period (total > 0), the share paid to ``apm_paid`` providers is
       more than ``apm_share_threshold`` (exactly the threshold does not count).

    Returns ``member_id`` and the three boolean path columns.

    References
    ----------
    Protocol 5.2.1.1 (State Accountability Domain 1, ACO/APM adoption rate);
    4.4.4 (attribution to MCO-Administered ACOs).
    """
    lo, hi = ibis.literal(start, type="date"), ibis.literal(end, type="date")
    in_period = enrollment.filter(enrollment.month.between(lo, hi), enrollment.aco_eligible)
    denominator = in_period.select("member_id").distinct()

    attributed = monthly_attribution(in_period, pcp_assignments, providers, entities, day)
    aco = attributed.select("member_id").distinct().mutate(path_aco=True)

    months = with_assigned_pcp(in_period, pcp_assignments, providers, day)
    apm_pcp = (
        months.filter((months.plan_type == "mco") & months.pcp_apm_paid.fill_null(False))
        .select("member_id")
        .distinct()
        .mutate(path_apm_pcp=True)
    )

    c = claims.filter(claims.service_date.between(lo, hi), claims.service_category != "primary_care")
    prov = providers.select(_npi="npi", _apm="apm_paid")
    c = c.join(prov, c.provider_npi == prov._npi)
    spend = c.group_by("member_id").aggregate(
        total=c.paid_amount.sum(),
        apm=ibis.ifelse(c._apm, c.paid_amount, 0.0).sum(),
    )
    apm_spending = spend.filter(
        (spend.total > 0) & (spend.apm / spend.total > apm_share_threshold)
    ).select("member_id", path_apm_spending=ibis.literal(True))

    out = denominator
    for path in (aco, apm_pcp, apm_spending):
        out = out.left_join(path, "member_id").drop("member_id_right")
    return out.select("member_id", *(out[p].fill_null(False).name(p) for p in PATHS))


def summarize_adoption(
    members: ir.Table, budget_period: int, target: float | None
) -> AdoptionResult:
    """Rate = members meeting any path / ACO-eligible members; pass if rate >= target.

    Raises ``InputValidationError`` when the period has no ACO-eligible member.

    References
    ----------
    Protocol 5.2.1.1 and Exhibit 26 (target adoption rates; 100% score when
    the target is met or surpassed, 0% otherwise).
    """
    any_path = members.path_aco | members.path_apm_pcp | members.path_apm_spending
    agg = members.aggregate(
        denominator=members.count(),
        numerator=any_path.cast("int64").sum(),
        **{p: members[p].cast("int64").sum() for p in PATHS},
    ).execute()
    # sums over an empty table come back null
    row = {k: 0 if pd.isna(v) else int(v) for k, v in agg.iloc[0].items()}
    if not row["denominator"]:  # no rate to publish: an error, never a NaN scored as a fail
        raise InputValidationError(
            f"enrollment: no member has an aco_eligible month in ACO budget period {budget_period}; "
            "the adoption rate (5.2.1.1) is undefined there"
        )
    rate = row["numerator"] / row["denominator"]
    return AdoptionResult(
        budget_period=budget_period,
        denominator=row["denominator"],
        numerator=row["numerator"],
        rate=rate,
        target=target,
        passed=None if target is None else bool(rate >= target),
        by_path={p: row[p] for p in PATHS},
    )


def adoption_rate(
    program: Program,
    budget_period: int,
    enrollment: ir.Table,
    pcp_assignments: ir.Table,
    providers: ir.Table,
    entities: ir.Table,
    claims: ir.Table,
    day: SnapshotDay = "last",
) -> AdoptionResult:
    """The ACO/APM adoption rate of an ACO budget period against Exhibit 26.

    Period dates, the APM spending threshold and the target come from the
    program definition.

    References
    ----------
    Protocol 5.2.1.1 and Exhibit 26; 3.1.1 (ACO budget periods, Exhibit 2).
    """
    period = program.calendar.budget_period(budget_period, kind="aco")
    try:
        target = program.adoption_target(budget_period)
    except ParameterError:  # Exhibit 26: "NA" for the Preparation Budget Period
        target = None
    members = adoption_members(
        enrollment, pcp_assignments, providers, entities, claims,
        period.start, period.end, program.adoption_apm_share_threshold, day,
    )
    return summarize_adoption(members, budget_period, target)
