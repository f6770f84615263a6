"""What-if sweeps: the reports over a grid of run parameters, in one run directory, compared.

``dsrip sweep --params FILE --vary KEY=V1,V2 [--vary ...]`` runs every grid point (the
cartesian product of the varied values) as a run of its own, ``reports/<run_id>/<point>/``
(the same files as ``dsrip report`` writes, with its own ``manifest.json`` and
``index.html``), then compares the points: ``comparison.{html,csv,xlsx}`` holds every
report's headline numbers (``ReportSpec.headline``) at each point and the decisions that
flip, and ``sweep.json`` the grid. Every point's parameters are validated before anything
runs; the data directory is validated once per distinct data directory and program; the
whole sweep directory is published at the end or not at all. See docs/running_reports.md.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from dsrip_lib.errors import ParameterError
from dsrip_lib.progress import Callback
from dsrip_lib.run import export, manifest, registry
from dsrip_lib.run.index import format_value, read_results, render
from dsrip_lib.run.parameters import RunParams, load_run_params
from dsrip_lib.run.runner import (
    Job,
    Report,
    check_reports,
    execute,
    finish_run_dir,
    promote,
    remember_validation,
    selected_reports,
    shared_stages,
    staged,
    start_record,
    validate_once,
)

COMPARISON = "comparison"
FIXED = ("run_id", "reports_dir")  # one sweep is one run directory
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+-]")


@dataclass(frozen=True)
class Point:
    """One grid point: its directory name (``trend_rate=0.03__alpha=0.05``) and the overrides it sets."""

    name: str
    overrides: dict[str, str]


@dataclass
class _PointRun:
    point: Point
    params: RunParams
    reports: list[Report]
    record: manifest.RunRecord | None = None
    jobs: list[Job] = field(default_factory=list)


def parse_vary(vary: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """``[("a.b", "1,2"), ...]`` (from ``--vary a.b=1,2``) as ``{"a.b": ["1", "2"]}``, checked.

    Raises
    ------
    ParameterError
        A key that is not a run parameter (``options.<report>.<option>`` or a top-level key
        of the run parameter file other than ``run_id`` and ``reports_dir``), a key given
        twice, or an empty or repeated value.
    """
    grid: dict[str, list[str]] = {}
    for key, text in vary:
        top, *rest = key.split(".")
        options_key = top == "options" and len(rest) == 2 and all(rest)
        if top not in RunParams.model_fields or top in FIXED or (rest and not options_key) or (
                top == "options" and not options_key):
            allowed = ", ".join(k for k in RunParams.model_fields if k not in FIXED and k != "options")
            raise ParameterError(f"--vary {key}: not a run parameter that a sweep can vary; vary one of {allowed} "
                                 "or options.<report>.<option>")
        if key in grid:
            raise ParameterError(f"--vary {key}: given twice; list all its values in one --vary {key}=V1,V2")
        values = [value.strip() for value in text.split(",")]
        if not all(values) or len(set(values)) != len(values):
            raise ParameterError(f"--vary {key}={text}: values must be distinct and non-empty, separated by commas")
        grid[key] = values
    if not grid:
        raise ParameterError("a sweep needs at least one --vary KEY=V1,V2,...")
    return grid


def grid_points(grid: dict[str, list[str]]) -> list[Point]:
    """The cartesian product of the varied values, in the order given, each with a readable directory name.

    A key is named by its last part (``trend_rate``) unless two keys share it (then in full).
    """
    leaves = [key.rsplit(".", 1)[-1] for key in grid]
    labels = [leaf if leaves.count(leaf) == 1 else key for key, leaf in zip(grid, leaves)]
    points = [
        Point("__".join(f"{label}={_UNSAFE.sub('-', value)}" for label, value in zip(labels, values)),
              dict(zip(grid, values)))
        for values in itertools.product(*grid.values())
    ]
    names = [point.name for point in points]
    if len(set(names)) != len(names):
        raise ParameterError(f"sweep points would share a directory name ({sorted(names)}): values differing only "
                             "in characters other than letters, digits and _.+- cannot be told apart")
    return points


def run_sweep(params_file: str | Path, vary: Iterable[tuple[str, str]], overrides: dict[str, str] | None = None,
              progress: Callback | None = None) -> Path:
    """Run every report the parameters select at every grid point; return the comparison page.

    Parameters
    ----------
    params_file
        Run parameter file (YAML); its ``run_id`` names the sweep directory.
    vary
        ``(key, "V1,V2,...")`` pairs (:func:`parse_vary`), keys dotted like ``-p`` overrides.
    overrides
        ``-p`` overrides applied at every point (``{"reports": "attribution"}``).
    progress
        Told of each table validated, each cell executed and each report finished.

    Returns
    -------
    Path
        ``reports/<run_id>/comparison.html``.

    Raises
    ------
    ParameterError
        A bad key or value at any point, before anything runs or is written.
    InputValidationError
        A data directory that breaks the contract, before any kernel starts.
    ReportError
        After every report of every point has finished, naming each failure; nothing is written.
    """
    params_file = Path(params_file)
    overrides = dict(overrides or {})
    grid = parse_vary(vary)
    fixed = sorted(set(grid) & set(overrides))
    if fixed:
        raise ParameterError(f"{', '.join(fixed)}: both varied (--vary) and fixed (-p)")
    base, root = load_run_params(params_file, overrides)
    runs = [_checked(point, params_file, overrides) for point in grid_points(grid)]

    validations: dict[tuple[Path, Path], dict] = {}

    def validate(params: RunParams) -> dict:  # once per data directory and program
        key = (params.data_dir, params.program_file())
        if key not in validations:
            validations[key] = validate_once(params, progress)
        return validations[key]

    for run in runs:
        run.params = run.params.model_copy(update={"run_id": f"{base.run_id}/{run.point.name}"})
        run.record = start_record(run.params, params_file, root, run.reports, validate)
    final = base.reports_dir / base.run_id
    with staged(base.reports_dir, base.run_id) as staging, shared_stages() as cache:  # keys name each point's inputs
        for run in runs:
            directory = staging / run.point.name
            directory.mkdir()
            run.jobs = [Job.of(report, run.params, root, directory, final / run.point.name, run.record.provenance(),
                               cache, label=f"{run.point.name}/{report.name}") for report in run.reports]
        records = iter(execute([job for run in runs for job in run.jobs], base.max_workers, progress))
        for run in runs:
            finish_run_dir(staging / run.point.name, run.record, run.jobs, [next(records) for _ in run.jobs])
        _write_comparison(staging, base.run_id, grid, runs)
        promote(staging, final)
    for run in runs:
        remember_validation(run.params, run.record)
    return final / f"{COMPARISON}.html"


def _checked(point: Point, params_file: Path, overrides: dict[str, str]) -> _PointRun:
    """The point's parameters, validated as a run of their own (run parameters and every report's options)."""
    try:
        params, root = load_run_params(params_file, {**overrides, **point.overrides})
        reports = selected_reports(params, params_file, root)
        check_reports(params, reports)
    except ParameterError as exc:
        raise ParameterError(f"sweep point {point.name}: {exc}") from None
    return _PointRun(point, params, reports)


def _point_results(staging: Path, runs: list[_PointRun]) -> dict[str, dict[str, dict[str, dict]]]:
    """``{point: {report: results.json}}`` of the staged sweep."""
    return {run.point.name: {report.name: read_results(staging / run.point.name / f"{report.name}.results.json")
                             for report in run.reports} for run in runs}


def headline_table(results: dict[str, dict[str, dict[str, dict]]]) -> pd.DataFrame:
    """Every report's headline numbers (``ReportSpec.headline``) at every point: a row per number, a column per point.

    A cell is None where the point did not run the report or its results lack the key.
    """
    reports = list(dict.fromkeys(report for by_report in results.values() for report in by_report))
    rows = []
    for report in reports:
        spec = registry.REPORTS.get(report)
        for key in spec.headline if spec else ():
            found = [by_report[report][key] for by_report in results.values() if key in by_report.get(report, {})]
            rows.append({"report": report, "key": key, "description": found[0]["description"] if found else "",
                         **{point: by_report.get(report, {}).get(key, {}).get("value")
                            for point, by_report in results.items()}})
    return pd.DataFrame(rows, columns=["report", "key", "description", *results])


def decisions_that_flip(results: dict[str, dict[str, dict[str, dict]]]) -> pd.DataFrame:
    """Every results value (headline or not) whose decision changes across the points that ran its report.

    A value flips when it is not a number (a pass/fail, earned/not) and differs, when it is a
    number whose sign (negative, zero, positive) differs, or when some points publish it and
    others do not. ``change`` says which.
    """
    reports = list(dict.fromkeys(report for by_report in results.values() for report in by_report))
    rows = []
    for report in reports:
        ran = {point: by_report[report] for point, by_report in results.items() if report in by_report}
        for key in dict.fromkeys(key for values in ran.values() for key in values):
            values = {point: values.get(key, {}).get("value") for point, values in ran.items()}
            change = _change(list(values.values()))
            if change:
                description = next(v[key]["description"] for v in ran.values() if key in v)
                rows.append({"report": report, "key": key, "description": description, "change": change,
                             **{point: values.get(point) for point in results}})
    return pd.DataFrame(rows, columns=["report", "key", "description", "change", *results])


def _change(values: list) -> str | None:
    present = [value for value in values if value is not None]
    if len(present) < len(values):
        return "published at some points only"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "sign changes" if len({(v > 0) - (v < 0) for v in present}) > 1 else None
    return "differs" if len({json.dumps(v, sort_keys=True) for v in present}) > 1 else None


def _write_comparison(staging: Path, run_id: str, grid: dict[str, list[str]], runs: list[_PointRun]) -> None:
    results = _point_results(staging, runs)
    points = pd.DataFrame([{"point": run.point.name, **run.point.overrides} for run in runs])
    headline, flips = headline_table(results), decisions_that_flip(results)
    headline.to_csv(staging / f"{COMPARISON}.csv", index=False)
    flips.to_csv(staging / "decisions_that_flip.csv", index=False)
    source = f"dsrip sweep {run_id}: one run directory per point, each with its manifest.json"
    export.write_workbook([
        ("grid", "The grid: every point and its parameter values", points, {}),
        ("headline numbers", "Each report's headline numbers at every point", headline, {}),
        ("decisions that flip", "Values whose sign or decision differs between points", flips, {}),
    ], staging / f"{COMPARISON}.xlsx", source)
    page = render("sweep.html.j2", title=f"dsrip sweep {run_id}", keys=list(grid), points=points.to_dict("records"),
                  headline=_shown(headline, 3), flips=_shown(flips, 4), point_names=list(results), provenance=source)
    (staging / f"{COMPARISON}.html").write_text(page, encoding="utf-8")
    sweep = {"run_id": run_id, "vary": grid, "points": [{"name": r.point.name, "overrides": r.point.overrides}
                                                        for r in runs]}
    (staging / "sweep.json").write_text(json.dumps(sweep, indent=2) + "\n", encoding="utf-8")


def _shown(frame: pd.DataFrame, labels: int) -> list[dict]:
    """Rows for the page: the first ``labels`` columns as text, the point columns formatted."""
    return [{"labels": list(row[:labels]), "cells": [format_value(_plain(v)) for v in row[labels:]]}
            for row in frame.itertuples(index=False)]


def _plain(value: object) -> object:
    return None if value is None or (isinstance(value, float) and value != value) else value
