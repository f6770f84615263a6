"""The program target tracker report (notebooks/targets.ipynb).

Two trackers in the shape of a driver diagram (:mod:`dsrip_lib.tracking`): the run's program
goals (for MassHealth, the State accountability domains of Sec 5.2.1, actuals computed from the
data by the adoption, spending and quality stages), and, with option ``driver_diagram``, a
driver diagram's accountability targets (``params/targets/<name>.yaml``) against the dataset's
``target_actuals`` table. Each shows every measure's status per period and the roll-ups by
secondary driver, primary driver and aim.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, replace
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator

from dsrip_lib.errors import DsripError, InputValidationError
from dsrip_lib.inputs.files import locate
from dsrip_lib.program.spending import Truncation
from dsrip_lib.reports import quality_domain_tests, stages, state_accountability_recoupment
from dsrip_lib.reports.context import ReportContext, open_report
from dsrip_lib.tracking.actuals import check_actuals
from dsrip_lib.tracking.diagram import load_diagram
from dsrip_lib.tracking.goals import goal_actuals, has_goals, program_goals
from dsrip_lib.tracking.status import NOT_ASSESSABLE, STATUSES, rollup, target_statuses
from dsrip_lib.tracking.table import BLANK, NUMBER, TargetTable

ACTUALS_TABLE = "target_actuals"


class TargetsOptions(BaseModel):
    """Options of the targets report (validated on entry; unknown keys rejected).

    Attributes
    ----------
    driver_diagram
        A driver-diagram params file: a name (``params/targets/<name>.yaml``) or a YAML path;
        default none (only the program's goals). The file is validated with the options, so a bad
        one stops the run before any notebook starts; its actuals come from the data's
        ``target_actuals`` table, which must then be present.
    as_of
        The date the program goals' statuses are taken at; default the last day of the data's
        last enrollment month.
    diagram_as_of
        The date the driver diagram's statuses are taken at; default the latest ``as_of`` of
        ``target_actuals``.
    missing_domain, benchmarks, reading, truncation
        Passed to the quality and spending stages, as in those reports.
    """

    model_config = ConfigDict(extra="forbid")

    driver_diagram: str | None = None
    as_of: dt.date | None = None
    diagram_as_of: dt.date | None = None
    missing_domain: Literal["raise", "reweight"] = "raise"
    benchmarks: str | None = None
    reading: quality_domain_tests.Reading = quality_domain_tests.DEFAULT_READING
    truncation: Truncation | None = None

    @field_validator("driver_diagram")
    @classmethod
    def _loads(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                load_diagram(value)
            except DsripError as exc:
                raise ValueError(str(exc)) from None
        return value


HEADERS = {
    "measure_id": "Measure no.", "measure": "Measure", "period": "Period", "target_text": "Target",
    "actual_text": "Actual", "status": "Status", "reason": "Why", "reported": "Reported",
    "secondary_driver_id": "No.", "secondary_driver": "Secondary driver",
    "primary_driver_id": "No.", "primary_driver": "Primary driver", "aim_id": "Aim id", "aim": "Aim",
    "measures": "Measures", "start": "From", "end": "To", "due": "Due",
}


@dataclass(frozen=True)
class Tracker:
    """One tracker's targets and statuses as of a date, and where its actuals came from."""

    table: TargetTable
    statuses: pd.DataFrame = field(repr=False)
    as_of: dt.date
    source: str


def open_targets_report(**parameters) -> ReportContext[TargetsOptions]:
    """The report's context (:func:`~dsrip_lib.reports.context.open_report` with its options and headers)."""
    return open_report(TargetsOptions, headers=HEADERS, **parameters)


def data_end(ctx: ReportContext) -> dt.date:
    """The last day of the data's last enrollment month."""
    enrollment = ctx.data.table("enrollment")
    return (pd.Timestamp(enrollment.month.max().execute()) + pd.offsets.MonthEnd(0)).date()


def goal_tracker(ctx: ReportContext[TargetsOptions]) -> Tracker | None:
    """The program's goals against the data (None when the program defines none, e.g. CT PCMH+).

    Adoption (Sec 5.2.1.1) for every ACO budget period, the spending-growth chain (Sec 5.2.1.2)
    and the State's quality domain tests and avoidable utilisation (Sec 5.2.1.3) as the
    quality_domain_tests report computes them, with this report's options.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.1-5.2.1.3 (Exhibits 26-29).
    """
    program, opts = ctx.program, ctx.options
    if not has_goals(program):
        return None
    table = program_goals(program)
    quality = quality_domain_tests.score(replace(ctx, options=quality_domain_tests.QualityOptions(
        benchmarks=opts.benchmarks, missing_domain=opts.missing_domain, reading=opts.reading)))
    growth = state_accountability_recoupment.growth_of(
        replace(ctx, options=state_accountability_recoupment.StateOptions(truncation=opts.truncation)))
    adoption = stages.adoption(ctx, [p.number for p in program.calendar.budget_periods("aco")])
    actuals = goal_actuals(program, adoption, growth, quality.tests, quality.utilization)
    as_of = opts.as_of or data_end(ctx)
    return Tracker(table, target_statuses(table, actuals, as_of), as_of,
                   f"computed from the data by the adoption, spending and quality stages (program {program.name})")


def diagram_tracker(ctx: ReportContext[TargetsOptions]) -> Tracker | None:
    """The driver diagram of option ``driver_diagram`` against the data's ``target_actuals``
    (None when the option is not set).

    Raises
    ------
    InputValidationError
        The option is set and the data has no ``target_actuals`` table, or an actuals row does
        not fit the diagram (a measure not in it, ...), naming the file, column and rows.
    """
    opts, data = ctx.options, ctx.data
    if opts.driver_diagram is None:
        return None
    table = load_diagram(opts.driver_diagram)
    if not data.has(ACTUALS_TABLE):
        raise InputValidationError(f"{data.data_dir}: option driver_diagram={opts.driver_diagram} needs the table "
                                   f"{ACTUALS_TABLE!r} (docs/data_contract.md), which is absent")
    actuals = data.to_pandas(ACTUALS_TABLE)
    source = locate(data.data_dir, ACTUALS_TABLE).name
    check_actuals(actuals, table, source)
    if opts.diagram_as_of is not None:
        as_of = opts.diagram_as_of
    elif len(actuals):
        as_of = pd.Timestamp(actuals["as_of"].max()).date()
    else:
        raise InputValidationError(f"{source}: no rows, so no date to take the statuses at; set option "
                                   "diagram_as_of")
    return Tracker(table, target_statuses(table, actuals, as_of), as_of, f"the data's {source}")


# -- tables ----------------------------------------------------------------------------------------
def _number(value: float, unit: str) -> str:
    if unit == "share":  # as many decimals as the value needs, at most two (0.25%, 1.1%, 45%)
        return f"{value * 100:.2f}".rstrip("0").rstrip(".") + "%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _target_text(row) -> str:
    if row.cell == NUMBER:
        return ("at most " if row.direction == "at_most" else "") + _number(row.target, row.unit)
    return "(blank)" if row.cell == BLANK else row.cell


def status_table(tracker: Tracker) -> pd.DataFrame:
    """Every measure and period: target as the source gives it, the actual, status and why."""
    s = tracker.statuses
    out = s[["measure_id", "measure", "period"]].copy()
    out["target_text"] = [_target_text(r) for r in s.itertuples()]
    out["actual_text"] = [("not reported" if pd.isna(r.actual) else _number(r.actual, r.unit)) for r in s.itertuples()]
    out["reported"] = [("" if pd.isna(r.actual_as_of) or pd.isna(r.actual) else
                        f"{pd.Timestamp(r.actual_as_of):%Y-%m-%d}") for r in s.itertuples()]
    out["status"], out["reason"] = s["status"], s["reason"]
    return out if out["reported"].any() else out.drop(columns="reported")  # actuals computed, not reported


def status_matrix(tracker: Tracker) -> pd.DataFrame:
    """One row per measure, one column per period: the status word (the diagram at a glance)."""
    s = tracker.statuses
    wide = s.pivot(index="measure_id", columns="period", values="status")
    order = list(dict.fromkeys(s["measure_id"]))
    wide = wide.reindex(index=order, columns=tracker.table.period_order)
    wide.columns.name = None
    names = tracker.table.measures.set_index("measure_id")
    return pd.concat([names.loc[order, ["secondary_driver_id"]], names.loc[order, ["measure"]], wide],
                     axis=1).rename_axis("measure_id").reset_index()


def rollup_table(tracker: Tracker, level: str, by_period: bool = False) -> pd.DataFrame:
    """Counts of cells per status and the roll-up status (:func:`~dsrip_lib.tracking.status.rollup`)."""
    return rollup(tracker.table, tracker.statuses, level, by_period)


def periods_table(tracker: Tracker) -> pd.DataFrame:
    """The tracker's periods, their dates and whether each is due on the as-of date."""
    out = tracker.table.periods.copy()
    out["due"] = ["yes" if pd.Timestamp(end).date() <= tracker.as_of else "no" for end in out["end"]]
    return out


def status_counts(tracker: Tracker) -> dict[str, int]:
    """Cells per status over the whole tracker."""
    counts = tracker.statuses["status"].value_counts()
    return {status: int(counts.get(status, 0)) for status in STATUSES}


def headline_values(tracker: Tracker, prefix: str) -> list[tuple[str, int, str]]:
    """``(name, cells, description)`` per status, for ``results.json`` (``goals_on_track``, ...)."""
    return [(f"{prefix}_{status.split(' (')[0].replace(' ', '_')}", n, f"{tracker.table.title}: target cells {status}")
            for status, n in status_counts(tracker).items()]


# -- prose built from the numbers ------------------------------------------------------------------
def summary_text(tracker: Tracker) -> str:
    """What the tracker holds and how its measures stand, as of its date."""
    table, counts = tracker.table, status_counts(tracker)
    aims = rollup(table, tracker.statuses, "aim")
    drivers = rollup(table, tracker.statuses, "primary_driver")
    parts = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    worst = drivers.loc[drivers["status"] == "off track", "primary_driver_id"].tolist()
    aim_words = "; ".join(f"{r.aim}: {r.status}" for r in aims.itertuples())
    return (f"**{table.title}** as of {tracker.as_of:%B %-d, %Y}: {len(table.measures)} measures under "
            f"{len(drivers)} primary drivers over {len(table.period_order)} periods, {len(tracker.statuses)} target "
            f"cells: {parts}. Actuals: {tracker.source}. By aim: {aim_words}."
            + (f" Primary drivers off track: {', '.join(worst)}." if worst else "")
            + "".join(f" {note}" for note in table.notes))


def no_goals_text(ctx: ReportContext) -> str:
    """Why a program shows no goal table."""
    return (f"The program definition {ctx.program.name} ({ctx.program.title}) states no State accountability goals "
            "(no `state_accountability` block), so there is no goal table to track.")


def method_text(data_dir: str) -> str:
    """How a status and a roll-up are decided (the rules of :mod:`dsrip_lib.tracking.status`)."""
    return (
        "**Method.** A target cell is a number, \"-\" (no target in that period), TBD (to be determined) or blank "
        "(an empty cell in the source); only a number is ever compared, none of the others is read as zero. A "
        "numbered target whose period has not ended on the as-of date is *not yet due*. Once its period has ended "
        "it is *on track* when the latest actual reported by the as-of date meets it (at or above it; exactly, "
        "never by floating-point noise) and *off track* when the actual misses it or no actual was reported. A "
        "roll-up is off track if any of its cells is, else on track if any is, else not yet due if any is, else "
        f"{NOT_ASSESSABLE}. Data: `{os.path.relpath(data_dir)}`."
    )
