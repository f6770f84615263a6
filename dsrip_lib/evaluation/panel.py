"""The outcome panel: outcomes per ACO-eligible member-month from claims, aggregated in the engine.

Every step here is an Ibis expression (DuckDB by default); only the regression inputs reach
pandas: member x year x phase sums (:func:`member_periods`, a few rows per member), the event
study's cells (:func:`event_cells`, periods x groups) and the threats' small aggregates.

Outcomes of a member-month (:data:`OUTCOMES`):

* ``pmpm``: the member's included spending of the calendar year (the spending stage's
  :func:`~dsrip_lib.spending.pmpm.member_year_spending`: excluded categories dropped, the
  program's truncation) shared evenly over the member's enrolled months of the year, as the
  spending stage shares it (docs/methodology/spending.md);
* ``primary_care_visits``: distinct service dates with a qualifying primary-care visit line;
* ``emergency_visits``: distinct service dates with an emergency line;
* ``inpatient_admissions``: distinct service dates with an inpatient line (a stay's facility
  claim is dated at admission).

A member-month's group is its attribution (Sec 4.4.4, the attribution stage's monthly
attribution): attributed to an ACO, or ACO-eligible and not attributed (PCC, MCO without a model C
assignment, fee-for-service). Each month also has a *phase* relative to the member's first
attributed month: ``treated`` (attributed), ``never`` (the member is never attributed: the
comparison), ``not_yet`` (before the member's first attributed month) or ``after`` (not
attributed after having been: neither treated nor a clean comparison, dropped).

References
----------
MassHealth DSRIP Protocol, Sec 6.4.1 (the independent evaluation), Sec 5.2.1.1 (ACO-eligible
members), Sec 5.2.1.2 (included spending, CY2017 baseline), Sec 4.4.4 (attribution).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from dsrip_lib.inputs.codes import EMERGENCY, INPATIENT
from dsrip_lib.program import Program
from dsrip_lib.program.spending import Truncation
from dsrip_lib.spending.pmpm import member_year_spending

OUTCOMES = ("pmpm", "primary_care_visits", "emergency_visits", "inpatient_admissions")
COUNT_OUTCOMES = OUTCOMES[1:]
TREATED, NEVER, NOT_YET, AFTER = "treated", "never", "not_yet", "after"
EVENT_PERIODS = {"month": "M", "quarter": "Q"}
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class Panel:
    """The member-month outcome panel as an expression, with the dates that frame it.

    ``months``: one row per ACO-eligible enrolled member-month: ``member`` (an integer key of the
    member: no identifier leaves the engine), ``month``, ``year``, ``eligibility_group``,
    ``aco_id`` (null: not attributed), ``first_month`` (the member's first attributed month,
    null: never), ``first_aco``, ``phase`` and the :data:`OUTCOMES`.
    """

    months: ir.Table
    baseline_year: int
    launch: dt.date


def launch_date(program: Program) -> dt.date:
    """The program's launch: the first day of its first ACO budget period with members.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 3.1.1 (ACO budget periods), Sec 4.2.1 and 5.3 (no attributed
    members in the Preparation Budget Period).
    """
    rules = program.attribution
    periods = program.calendar.budget_periods("aco")
    return periods[0].start if rules is None else program.calendar.budget_period(
        rules.first_budget_period_with_members).start


def outcome_panel(claims: ir.Table, enrollment: ir.Table, attribution: ir.Table, program: Program,
                  truncation: Truncation | None = None) -> Panel:
    """The member-month outcome panel (:class:`Panel`) of the ACO-eligible population.

    One grouped scan of the claims counts the events per member and month (cached on the
    backend); spending comes from the spending stage's member-year spending.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.1 (ACO-eligible population), Sec 5.2.1.2 (PMPM by dates
    of service in Included Spending Categories), Sec 4.4.4 (attribution).
    """
    year_of = enrollment.month.year().cast("int64")
    enr = enrollment.select("member_id", "month", "eligibility_group", "aco_eligible", year=year_of)
    enr = enr.mutate(total_months=enr.month.count().over(group_by=[enr.member_id, enr.year]))
    enr = enr.filter(enr.aco_eligible)
    att = attribution.select(_am="member_id", _amonth="month", aco_id="aco_id")
    j = enr.left_join(att, [enr.member_id == att._am, enr.month == att._amonth])

    no_date = ibis.null().cast("date")
    relevant = claims.filter(claims.primary_care_visit | claims.service_category.isin([EMERGENCY, INPATIENT]))
    rd = relevant.service_date
    events = relevant.group_by(_em=relevant.member_id, _emonth=rd.truncate("M").cast("date")).aggregate(
        primary_care_visits=ibis.ifelse(relevant.primary_care_visit, rd, no_date).nunique(),
        emergency_visits=ibis.ifelse(relevant.service_category == EMERGENCY, rd, no_date).nunique(),
        inpatient_admissions=ibis.ifelse(relevant.service_category == INPATIENT, rd, no_date).nunique(),
    ).cache()
    spend = member_year_spending(claims, program, truncation).rename(_sm="member_id", _sy="year")
    j = j.left_join(events, [j.member_id == events._em, j.month == events._emonth])
    j = j.left_join(spend, [j.member_id == spend._sm, j.year == spend._sy])

    attributed_month = ibis.ifelse(j.aco_id.notnull(), j.month, no_date)
    first_month = attributed_month.min().over(group_by=j.member_id)
    first_aco = j.aco_id.argmin(attributed_month).over(group_by=j.member_id)
    months = j.select(
        member=j.member_id.hash(), month=j.month, year=j.year, eligibility_group=j.eligibility_group,
        aco_id=j.aco_id, first_month=first_month, first_aco=first_aco,
        pmpm=j.paid.fill_null(0.0) / j.total_months,
        **{o: j[o].fill_null(0).cast("int64") for o in COUNT_OUTCOMES},
    )
    phase = ibis.cases((months.aco_id.notnull(), TREATED), (months.first_month.isnull(), NEVER),
                       (months.month < months.first_month, NOT_YET), else_=AFTER)
    return Panel(months.mutate(phase=phase), program.calendar.baseline_year, launch_date(program))


def member_periods(panel: Panel) -> pd.DataFrame:
    """Member x calendar year x phase sums: the regression inputs (``after`` months dropped).

    Returns ``member``, ``year``, ``phase``, ``eligibility_group``, ``cohort`` (the year of the
    member's first attributed month, 0 when never), ``first_aco``, ``months`` and the sum of each
    outcome over the row's months.
    """
    m = panel.months.filter(panel.months.phase != AFTER)
    out = m.group_by(["member", "year", "phase", "eligibility_group"]).aggregate(
        cohort=m.first_month.year().max().fill_null(0).cast("int64"), first_aco=m.first_aco.max(),
        months=m.count(), **{o: m[o].sum() for o in OUTCOMES}).execute()
    return out.astype({"months": "int64", "year": "int64"}).sort_values(
        ["member", "year", "phase"], ignore_index=True)


def event_cells(panel: Panel, period: str = "quarter") -> pd.DataFrame:
    """The event study's cells: per event period and group, members, and the sum and sum of squares
    of each member's change in outcome from the reference period (the last period before launch).

    The treated group is the launch cohort (members whose first attributed month falls in the
    launch period: the clean cohort, later entrants left out); a member's value in a period is
    the mean over the period's months in phase ``treated`` or ``not_yet`` (months after the
    member left the ACOs dropped). The comparison group is the never-attributed members. A member
    without months in the reference period is left out. Each member counts once per cell, so a
    cell's sums give each coefficient's member-clustered variance exactly.

    Returns ``event_period`` (0 = the launch period), ``period_start``, ``group`` (``treated`` or
    ``never``), ``members`` and, per outcome, ``<outcome>_sum`` and ``<outcome>_sumsq``.
    """
    unit = EVENT_PERIODS[period]
    m = panel.months
    launch = ibis.literal(panel.launch, type="date")
    start = m.month.truncate(unit).cast("date")
    launch_start = launch.truncate(unit).cast("date")
    cohort = m.first_month.truncate(unit).cast("date") == launch_start
    group = ibis.cases((m.phase == NEVER, NEVER), (cohort & m.phase.isin([TREATED, NOT_YET]), TREATED), else_=None)
    m = m.mutate(period_start=start, group=group).filter(group.notnull())
    per = m.group_by(["member", "group", "period_start"]).aggregate(**{o: m[o].mean() for o in OUTCOMES})
    ref_start = _period_before(panel.launch, period)
    ref = per.filter(per.period_start == ibis.literal(ref_start, type="date"))
    ref = ref.select(_rm="member", **{f"_r_{o}": ref[o] for o in OUTCOMES})
    d = per.join(ref, per.member == ref._rm)
    diffs = {o: d[o] - d[f"_r_{o}"] for o in OUTCOMES}
    sums = {}
    for o, x in diffs.items():
        sums[f"{o}_sum"] = x.sum()
        sums[f"{o}_sumsq"] = (x * x).sum()
    out = d.group_by(["period_start", "group"]).aggregate(members=d.count(), **sums).execute()
    out["period_start"] = pd.to_datetime(out["period_start"])
    step = 1 if period == "month" else 3
    launch_ts = pd.Timestamp(panel.launch).to_period(unit).start_time
    months_from = (out["period_start"].dt.year - launch_ts.year) * 12 + out["period_start"].dt.month - launch_ts.month
    out.insert(0, "event_period", (months_from // step).astype("int64"))
    return out.sort_values(["event_period", "group"], ignore_index=True)


def _period_before(launch: dt.date, period: str) -> dt.date:
    start = pd.Timestamp(launch).to_period(EVENT_PERIODS[period])
    return (start - 1).start_time.date()


def group_shares(panel: Panel) -> pd.DataFrame:
    """ACO-eligible member-months per calendar year: attributed, not attributed, and never attributed
    (the clean comparison group), with the comparison's share of the year's member-months."""
    m = panel.months
    out = m.group_by("year").aggregate(
        member_months=m.count(), attributed=(m.phase == TREATED).cast("int64").sum(),
        never_attributed=(m.phase == NEVER).cast("int64").sum()).execute()
    out = out.sort_values("year", ignore_index=True).astype("int64")
    out["not_attributed"] = out["member_months"] - out["attributed"]
    out["comparison_share"] = out["never_attributed"] / out["member_months"]
    return out


def churn(panel: Panel) -> pd.DataFrame:
    """Attribution churn of the members ever attributed: how many moved to another ACO, how many left
    the ACOs for a non-ACO plan while still ACO-eligible, and how many did either (one row)."""
    m = panel.months.filter(panel.months.first_month.notnull())
    per = m.group_by("member").aggregate(acos=m.aco_id.nunique(), left=(m.phase == AFTER).cast("int64").sum())
    out = per.aggregate(
        members=per.count(), switched_aco=(per.acos > 1).cast("int64").sum(),
        left_aco=(per.left > 0).cast("int64").sum(),
        either=((per.acos > 1) | (per.left > 0)).cast("int64").sum()).execute()
    return out.fillna(0).astype("int64")


def baseline_members(panel: Panel, members: ir.Table, risk_scores: ir.Table) -> pd.DataFrame:
    """Baseline-year characteristics by group: per group (``ever`` attributed later, ``never``), the
    members with baseline months, and the sum and sum of squares of each member's baseline
    outcomes (per member-month), risk score (members with one), age at the start of the baseline
    year and female indicator."""
    m = panel.months.filter(panel.months.year == panel.baseline_year)
    per = m.group_by("member").aggregate(
        group=ibis.ifelse(m.first_month.isnull(), NEVER, "ever").max(), **{o: m[o].mean() for o in OUTCOMES})
    start = ibis.literal(dt.date(panel.baseline_year, 1, 1), type="date")
    mem = members.select(_mm=members.member_id.hash(), age=(start.epoch_days() - members.birth_date.epoch_days()) / DAYS_PER_YEAR,
                         female=(members.sex == "F").cast("int64"))
    risk = risk_scores.filter(risk_scores.year == panel.baseline_year)
    risk = risk.select(_rk=risk.member_id.hash(), risk_score=risk.risk_score)
    j = per.left_join(mem, per.member == mem._mm).left_join(risk, per.member == risk._rk)
    traits = [*OUTCOMES, "risk_score", "age", "female"]
    sums = {}
    for t in traits:
        x = j[t].cast("float64")
        sums |= {f"{t}_n": x.count(), f"{t}_sum": x.sum(), f"{t}_sumsq": (x * x).sum()}
    return j.group_by("group").aggregate(members=j.count(), **sums).execute().sort_values("group", ignore_index=True)
