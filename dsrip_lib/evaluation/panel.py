"""The outcome panel: outcomes per ACO-eligible member-month from claims, aggregated in the engine.

Every step here is an Ibis expression (DuckDB by default); only the regression inputs reach
pandas: member x year x phase sums (:func:`member_periods`, a few rows per member, from which the
comparison group's share and the churn follow), the event study's cells (:func:`event_cells`,
periods x groups) and the baseline balance's sums (:func:`baseline_members`). The attributed
months, each member's first attribution, the events per member-month and the spending per
member-month of a year are cached on the backend once, so that those three queries over 60 M
member-months at state scale re-read small tables instead of re-running attribution and the
claims scans.

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

from dsrip_lib.exact import exact_sum
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
    null: never), ``first_aco``, ``acos`` (the ACOs the member was ever attributed to), ``phase``
    and the :data:`OUTCOMES`.
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
                  truncation: Truncation | None = None, through: dt.date | None = None) -> Panel:
    """The member-month outcome panel (:class:`Panel`) of the ACO-eligible population.

    One grouped scan of the claims counts the events per member and month (cached on the
    backend); spending comes from the spending stage's member-year spending. ``through`` cuts
    the data at that day (enrollment months and claims after it dropped), as an evaluator with
    data through it would see them: a member first attributed later is never attributed here.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.1 (ACO-eligible population), Sec 5.2.1.2 (PMPM by dates
    of service in Included Spending Categories), Sec 4.4.4 (attribution).
    """
    if through is not None:
        day = ibis.literal(through, type="date")
        enrollment = enrollment.filter(enrollment.month <= day)
        attribution = attribution.filter(attribution.month <= day)
        claims = claims.filter(claims.service_date <= day)
    year_of = enrollment.month.year().cast("int64")
    enr = enrollment.select("member_id", "month", "eligibility_group", "aco_eligible", year=year_of)
    # grouped aggregates joined back, not window functions (far cheaper over 60 M member-months);
    # an attributed month carries its enrollment row's aco_eligible, so the eligible ones are exactly
    # the attributed months of the eligible enrollment rows
    att = attribution.filter(attribution.aco_eligible).select(_am="member_id", _amonth="month", aco_id="aco_id")
    att = att.cache()
    first = att.group_by(_fm=att._am).aggregate(first_month=att._amonth.min(), first_aco=att.aco_id.argmin(att._amonth),
                                                acos=att.aco_id.nunique()).cache()
    totals = enr.group_by(_tm="member_id", _ty="year").aggregate(total_months=enr.count())
    spend = member_year_spending(claims, program, truncation)
    # the member's included spending of a year shared evenly over its enrolled months of the year
    per_month = totals.left_join(spend, [totals._tm == spend.member_id, totals._ty == spend.year]).select(
        _sm="_tm", _sy="_ty", pmpm=spend.paid.fill_null(0.0) / totals.total_months).cache()

    no_date = ibis.null().cast("date")
    relevant = claims.filter(claims.primary_care_visit | claims.service_category.isin([EMERGENCY, INPATIENT]))
    rd = relevant.service_date
    events = relevant.group_by(_em=relevant.member_id, _emonth=rd.truncate("M").cast("date")).aggregate(
        primary_care_visits=ibis.ifelse(relevant.primary_care_visit, rd, no_date).nunique(),
        emergency_visits=ibis.ifelse(relevant.service_category == EMERGENCY, rd, no_date).nunique(),
        inpatient_admissions=ibis.ifelse(relevant.service_category == INPATIENT, rd, no_date).nunique(),
    ).cache()
    enr = enr.filter(enr.aco_eligible)
    j = enr.left_join(att, [enr.member_id == att._am, enr.month == att._amonth])
    j = j.left_join(first, j.member_id == first._fm)
    j = j.left_join(events, [j.member_id == events._em, j.month == events._emonth])
    j = j.left_join(per_month, [j.member_id == per_month._sm, j.year == per_month._sy])

    months = j.select(
        member=j.member_id.hash(), month=j.month, year=j.year, eligibility_group=j.eligibility_group,
        aco_id=j.aco_id, first_month=j.first_month, first_aco=j.first_aco, acos=j.acos.fill_null(0),
        pmpm=j.pmpm.fill_null(0.0),
        **{o: j[o].fill_null(0).cast("int64") for o in COUNT_OUTCOMES},
    )
    phase = ibis.cases((months.aco_id.notnull(), TREATED), (months.first_month.isnull(), NEVER),
                       (months.month < months.first_month, NOT_YET), else_=AFTER)
    return Panel(months.mutate(phase=phase), program.calendar.baseline_year, launch_date(program))


def _sum(x: ir.NumericColumn) -> ir.NumericScalar:
    """A sum the same on every run: exact for floats (:func:`~dsrip_lib.exact.exact_sum`), integers as they are."""
    return exact_sum(x) if x.type().is_floating() else x.sum()


def _mean(x: ir.NumericColumn) -> ir.FloatingScalar:
    return _sum(x) / x.count()


def member_periods(panel: Panel) -> pd.DataFrame:
    """Member x calendar year x phase x eligibility group sums: the regression inputs.

    Returns ``member``, ``year``, ``phase`` (``after`` rows included: the estimates drop them; the
    comparison share and the churn count them), ``eligibility_group``, ``cohort`` (the year of the
    member's first attributed month, 0 when never), ``first_aco``, ``acos`` (the ACOs the member
    was ever attributed to), ``months`` and the sum of each outcome over the row's months.
    """
    m = panel.months
    out = m.group_by(["member", "year", "phase", "eligibility_group"]).aggregate(
        cohort=m.first_month.year().max().fill_null(0).cast("int64"), first_aco=m.first_aco.max(),
        acos=m.acos.max(), months=m.count(), **{o: _sum(m[o]) for o in OUTCOMES}).execute()
    return out.astype({"months": "int64", "year": "int64", "acos": "int64"}).sort_values(
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
    per = m.group_by(["member", "group", "period_start"]).aggregate(**{o: _mean(m[o]) for o in OUTCOMES})
    # the reference period from its own months (a filter on the month reaches the enrollment scan), not
    # from ``per``, which the engine would otherwise aggregate twice
    ref_start = _period_before(panel.launch, period)
    r = m.filter(m.month >= ibis.literal(ref_start, type="date"), m.month < launch_start)
    ref = r.group_by(_rm=r.member).aggregate(**{f"_r_{o}": _mean(r[o]) for o in OUTCOMES})
    d = per.join(ref, per.member == ref._rm)
    diffs = {o: d[o] - d[f"_r_{o}"] for o in OUTCOMES}
    sums = {}
    for o, x in diffs.items():
        sums[f"{o}_sum"] = exact_sum(x)
        sums[f"{o}_sumsq"] = exact_sum(x * x)
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


def group_shares(periods: pd.DataFrame) -> pd.DataFrame:
    """ACO-eligible member-months per calendar year: attributed, not attributed, and never attributed
    (the clean comparison group), with the comparison's share of the year's member-months
    (from :func:`member_periods`)."""
    months = periods.pivot_table(index="year", columns="phase", values="months", aggfunc="sum", fill_value=0)
    months = months.reindex(columns=[TREATED, NEVER, NOT_YET, AFTER], fill_value=0)
    out = pd.DataFrame({"year": months.index.astype("int64"), "member_months": months.sum(axis=1).to_numpy(),
                        "attributed": months[TREATED].to_numpy(), "never_attributed": months[NEVER].to_numpy()})
    out = out.astype("int64").reset_index(drop=True)
    out["not_attributed"] = out["member_months"] - out["attributed"]
    out["comparison_share"] = out["never_attributed"] / out["member_months"]
    return out


def churn(periods: pd.DataFrame) -> pd.DataFrame:
    """Attribution churn of the members ever attributed: how many moved to another ACO, how many left
    the ACOs for a non-ACO plan while still ACO-eligible, and how many did either (one row, from
    :func:`member_periods`)."""
    ever = periods[periods["cohort"] > 0]
    switched = set(ever.loc[ever["acos"] > 1, "member"])
    left = set(ever.loc[ever["phase"] == AFTER, "member"])
    return pd.DataFrame([{"members": ever["member"].nunique(), "switched_aco": len(switched), "left_aco": len(left),
                          "either": len(switched | left)}]).astype("int64")


def baseline_members(panel: Panel, members: ir.Table, risk_scores: ir.Table) -> pd.DataFrame:
    """Baseline-year characteristics by group: per group (``ever`` attributed later, ``never``), the
    members with baseline months, and the sum and sum of squares of each member's baseline
    outcomes (per member-month), risk score (members with one), age at the start of the baseline
    year and female indicator."""
    m = panel.months.filter(panel.months.year == panel.baseline_year)
    per = m.group_by("member").aggregate(
        group=ibis.ifelse(m.first_month.isnull(), NEVER, "ever").max(), **{o: _mean(m[o]) for o in OUTCOMES})
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
        sums |= {f"{t}_n": x.count(), f"{t}_sum": exact_sum(x), f"{t}_sumsq": exact_sum(x * x)}
    return j.group_by("group").aggregate(members=j.count(), **sums).execute().sort_values("group", ignore_index=True)
