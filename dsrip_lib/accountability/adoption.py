"""MassHealth ACO/APM adoption rate: State accountability domain 1 (Sec 5.2.1.1, Exhibit 26).

All requested budget periods are computed in one pass: each enrollment month and each claim
is labelled with its budget period, the attribution join runs once, and the counts are
grouped by period.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from dsrip_lib.attribution.rules import SnapshotDay, flag_attributed, with_assigned_pcp
from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.exact import at_least, cents, share_above
from dsrip_lib.inputs.codes import MCO_PLAN_TYPE, PRIMARY_CARE
from dsrip_lib.program import BudgetPeriod, Program

PATHS = ("path_aco", "path_apm_pcp", "path_apm_spending")
PATH_LABELS = {"path_aco": "via ACO", "path_apm_pcp": "via APM PCP", "path_apm_spending": "via APM spending"}


@dataclass(frozen=True)
class AdoptionResult:
    """Adoption rate of one budget period against its Exhibit 26 target.

    ``by_path`` counts the members meeting each path (a member may meet
    several); ``numerator`` counts each member once. ``target`` and ``passed``
    are None when Exhibit 26 sets no target (the Preparation Budget Period).
    ``summary()`` (and ``print``) gives a readable plain-text table, and Jupyter shows
    the result as an HTML table; both show the computed, unsuppressed counts.
    """

    budget_period: int
    denominator: int
    numerator: int
    rate: float | None  # None only for a period without ACO-eligible members (if_empty="report")
    target: float | None
    passed: bool | None
    by_path: dict[str, int]

    def _rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs of the summary, in reading order."""
        rate = "none (no ACO-eligible member)" if self.rate is None else f"{self.rate:.2%}"
        target = "none (Exhibit 26: NA)" if self.target is None else _percent(self.target)
        if self.denominator == 0:
            result = "no eligible members"
        else:
            result = "n/a (no target)" if self.passed is None else ("pass" if self.passed else "fail")
        return [
            ("ACO-eligible members (denominator)", f"{self.denominator:,}"),
            ("Adopted, any path (numerator)", f"{self.numerator:,}"),
            *((f"  {PATH_LABELS[p]}", f"{self.by_path.get(p, 0):,}") for p in PATHS),
            ("Adoption rate", rate),
            ("Target", target),
            ("Result", result),
        ]

    def _title(self) -> str:
        return f"ACO/APM adoption rate, ACO budget period {self.budget_period} (Sec 5.2.1.1, Exhibit 26)"

    def summary(self) -> str:
        """The result as a short plain-text table (like a statsmodels result's ``summary()``).

        The counts are the computed ones, not suppressed: a summary is for the analyst's
        screen, never for publication (publish through the ``Publisher``).
        """
        rows = self._rows()
        width = max(len(label) for label, _ in rows)
        value_width = max(len(value) for _, value in rows)
        title = self._title()
        rule = "=" * max(len(title), width + 2 + value_width)
        body = [f"{label:<{width}}  {value:>{value_width}}" for label, value in rows]
        note = "Members meeting several paths count once in the numerator; paths may overlap."
        return "\n".join([title, rule, *body, "-" * len(rule), note])

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """The summary as an HTML table, shown by Jupyter when the result is a cell's value."""
        body = ""
        for label, value in self._rows():
            indent = "; padding-left:1.5em" if label.startswith(" ") else ""  # the paths, under the numerator
            body += (f'<tr><th style="text-align:left{indent}">{html.escape(label.strip())}</th>'
                     f'<td style="text-align:right">{html.escape(value)}</td></tr>')
        return (f'<table class="dsrip-adoption-result"><caption>{html.escape(self._title())}</caption>'
                f"<tbody>{body}</tbody></table>")


def _percent(share: float) -> str:
    """A target as written: 35%, 37.5% (at most two decimals, no trailing zeros)."""
    return f"{share * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _period_of(day: ir.DateValue, periods: Sequence[BudgetPeriod]) -> ir.IntegerValue:
    """The number of the period holding ``day`` (null outside them all)."""
    return ibis.cases(*((day.between(ibis.literal(p.start, type="date"), ibis.literal(p.end, type="date")),
                         ibis.literal(p.number, type="int64")) for p in periods), else_=None)


def adoption_members(
    enrollment: ir.Table,
    pcp_assignments: ir.Table,
    providers: ir.Table,
    entities: ir.Table,
    claims: ir.Table,
    program: Program,
    periods: Sequence[BudgetPeriod],
    day: SnapshotDay = "last",
) -> ir.Table:
    """ACO-eligible members of each period and which adoption paths each meets.

    Denominator of a period: members with at least one ``aco_eligible`` enrollment
    month in it. Paths (any one counts):

    1. ``path_aco``: in an ACO-eligible month, enrolled in an ACO (``aco_a``,
       ``aco_b``) or attributed to a model C ACO by PCP assignment;
    2. ``path_apm_pcp``: in an ACO-eligible month, an ``mco`` enrollee whose
       assigned PCP (snapshot day) has ``apm_paid``;
    3. ``path_apm_spending``: of the member's non-primary-care claims paid in
       the period (total > 0), the share paid to ``apm_paid`` providers is
       more than the program's threshold (exactly the threshold does not count;
       compared in whole cents, exactly).

    Returns ``member_id``, ``budget_period`` and the three boolean path columns,
    one row per member and period.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.1 (State Accountability Domain 1, ACO/APM adoption rate);
    4.4.4 (attribution to MCO-Administered ACOs).
    """
    keys = ["member_id", "budget_period"]
    labelled = enrollment.mutate(budget_period=_period_of(enrollment.month, periods))
    in_period = labelled.filter(labelled.budget_period.notnull(), labelled.aco_eligible)

    # one grouped pass over the months: the denominator and the first two paths together. Only MCO
    # months read the assigned PCP (model C attribution, the APM-PCP path): only they are joined.
    with_pcp = with_assigned_pcp(in_period, pcp_assignments, providers, day, plan_types=(MCO_PLAN_TYPE,))
    months = flag_attributed(with_pcp, entities, program)
    month_paths = months.group_by(keys).aggregate(
        path_aco=months.attributed.any(),
        path_apm_pcp=((months.plan_type == MCO_PLAN_TYPE) & months.pcp_apm_paid.fill_null(False)).any(),
    )

    c = claims.filter(claims.service_category != PRIMARY_CARE).mutate(
        budget_period=_period_of(claims.service_date, periods))
    c = c.filter(c.budget_period.notnull())
    prov = providers.select(_npi="npi", _apm="apm_paid")
    c = c.join(prov, c.provider_npi == prov._npi)
    paid = cents(c.paid_amount)  # money compares exactly, in cents (dsrip_lib.exact)
    spend = c.group_by(keys).aggregate(total=paid.sum(), apm=ibis.ifelse(c._apm, paid, 0).sum())
    threshold = program.require("state_accountability").adoption.apm_non_primary_care_share_threshold
    apm_spending = spend.filter(
        (spend.total > 0) & share_above(spend.apm, spend.total, threshold)
    ).select(*keys, path_apm_spending=ibis.literal(True))

    out = month_paths.left_join(apm_spending, keys).drop("member_id_right", "budget_period_right")
    return out.select(*keys, *(out[p].fill_null(False).name(p) for p in PATHS))


def summarize_adoption(members: ir.Table, targets: dict[int, float | None],
                       if_empty: Literal["raise", "report"] = "raise") -> list[AdoptionResult]:
    """Per period: rate = members meeting any path / ACO-eligible members; pass if rate >= target (exactly).

    ``targets`` names the periods (in order) and their targets (None: no target). A period
    without an ACO-eligible member has no rate: by default that is an error; with
    ``if_empty="report"`` its result has ``denominator`` 0 and ``rate`` and ``passed`` None,
    for a report to show as "no eligible members".

    Raises
    ------
    InputValidationError
        When a period has no ACO-eligible member (``if_empty="raise"``): no rate to publish,
        never a NaN scored as a fail.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.1 and Exhibit 26 (target adoption rates; 100% score when
    the target is met or surpassed, 0% otherwise).
    """
    any_path = members.path_aco | members.path_apm_pcp | members.path_apm_spending
    agg = members.group_by("budget_period").aggregate(
        denominator=members.count(),
        numerator=any_path.cast("int64").sum(),
        **{p: members[p].cast("int64").sum() for p in PATHS},
    ).execute().set_index("budget_period")
    results = []
    for bp, target in targets.items():
        if bp not in agg.index or not agg.at[bp, "denominator"]:
            if if_empty == "report":
                results.append(AdoptionResult(bp, 0, 0, None, target, None, dict.fromkeys(PATHS, 0)))
                continue
            raise InputValidationError(
                f"enrollment: no member has an aco_eligible month in ACO budget period {bp}; "
                "the adoption rate (5.2.1.1) is undefined there"
            )
        row = {k: 0 if pd.isna(v) else int(v) for k, v in agg.loc[bp].items()}
        rate = row["numerator"] / row["denominator"]
        results.append(AdoptionResult(
            budget_period=bp,
            denominator=row["denominator"],
            numerator=row["numerator"],
            rate=rate,
            target=target,
            passed=None if target is None else at_least(row["numerator"], row["denominator"], target),
            by_path={p: row[p] for p in PATHS},
        ))
    return results


def adoption_rates(
    program: Program,
    budget_periods: Sequence[int],
    enrollment: ir.Table,
    pcp_assignments: ir.Table,
    providers: ir.Table,
    entities: ir.Table,
    claims: ir.Table,
    day: SnapshotDay = "last",
    if_empty: Literal["raise", "report"] = "raise",
) -> list[AdoptionResult]:
    """The ACO/APM adoption rate of each ACO budget period against Exhibit 26, in one pass.

    Period dates, the APM spending threshold and the targets come from the program
    definition; a period without a target (Prep: "NA") gets ``target`` and ``passed`` None.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.1 and Exhibit 26; Sec 3.1.1 (ACO budget periods, Exhibit 2).
    """
    adoption = program.require("state_accountability").adoption
    periods = [program.calendar.budget_period(bp, kind="aco") for bp in budget_periods]
    targets = {}
    for period in periods:
        try:
            targets[period.number] = adoption.target(period.number)
        except ParameterError:  # Exhibit 26: "NA" for the Preparation Budget Period
            targets[period.number] = None
    members = adoption_members(enrollment, pcp_assignments, providers, entities, claims, program, periods, day)
    return summarize_adoption(members, targets, if_empty)


def adoption_rate(program: Program, budget_period: int, *tables: ir.Table, day: SnapshotDay = "last") -> AdoptionResult:
    """:func:`adoption_rates` of one budget period.

    ``tables`` are enrollment, pcp_assignments, providers, entities and claims, in that order.
    """
    return adoption_rates(program, [budget_period], *tables, day=day)[0]
