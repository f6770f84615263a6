"""``dsrip new NAME``: a new ad hoc notebook, ready to run by hand and to publish with ``dsrip run``.

The notebook (``notebooks/adhoc/<NAME>.ipynb``) takes exactly the runner's notebook
parameters (:data:`~dsrip_lib.run.registry.NOTEBOOK_PARAMETERS`) in a cell tagged
``parameters``, opens the run's context with :func:`dsrip_lib.reports.adhoc.open_adhoc`,
works one example through the public API (monthly attribution, member-months, the ACO/APM
adoption rate) and publishes it through the ``Publisher``, so that
``dsrip run notebooks/adhoc/<NAME>.ipynb --params params/runs/default.yaml -p run_id=<NAME>``
writes a complete run directory as every report does (under its own ``run_id``: a run replaces
the directory of its id whole, and ``default`` holds the published reports). It is written as
committed: no outputs, stable cell ids. See docs/adhoc.md.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

import nbformat

from dsrip_lib.errors import ParameterError
from dsrip_lib.params import params_dir
from dsrip_lib.run import registry

ADHOC_DIR = Path("notebooks") / "adhoc"
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
KERNELSPEC = {"display_name": "dsrip (.venv)", "language": "python", "name": "dsrip"}  # the Makefile's kernel

# Defaults for interactive use of each runner parameter, and what it means (the runner injects its own).
PARAMETER_DEFAULTS = {
    "run_id": ('"interactive"', ""),
    "program": ('"masshealth_dsrip"', "a name or a YAML path (relative: from the repository root)"),
    "data_dir": ('"data/synthetic/small"', "relative: from the repository root; absolute when injected"),
    "backend": ('"duckdb"', ""),
    "options": ("{}", "an ad hoc notebook takes none: put your choices in a cell below"),
    "output_dir": ("None", "None: display only, nothing recorded"),
    "data_validated": ("False", "True when the runner has checked data_dir for this run"),
    "stage_cache": ("None", "the run's directory of stages shared across its reports"),
}


def parameters_source() -> str:
    """The ``parameters`` cell: every runner parameter with its interactive default, in the runner's order."""
    missing = [p for p in registry.NOTEBOOK_PARAMETERS if p not in PARAMETER_DEFAULTS]
    if missing:  # a parameter added to the runner needs a default here
        raise ParameterError(f"no interactive default for notebook parameter(s) {missing}")
    lines = []
    for name in registry.NOTEBOOK_PARAMETERS:
        value, note = PARAMETER_DEFAULTS[name]
        line = f"{name} = {value}"
        lines.append(f"{line:<36}# {note}" if note else line)
    return "\n".join(lines)


def parameters_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(parameters_source(), metadata={"tags": ["parameters"]})
    cell.id = "parameters"
    return cell


def new_adhoc_notebook(cells: list[tuple[str, str, str]]) -> nbformat.NotebookNode:
    """An ad hoc notebook: the ``parameters`` cell, then ``cells`` as (id, "code" or "markdown", source)."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}})
    nb.cells.append(parameters_cell())
    for cell_id, kind, source in cells:
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        cell = make(source.strip("\n"))
        cell.id = cell_id
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def check_name(name: str) -> str:
    """``name`` if it can name an ad hoc notebook and its run's files.

    Raises
    ------
    ParameterError
        Not a letter followed by letters, digits or ``_`` (at most 64), a Python keyword,
        or the name of a registered report (its options would be given to this notebook).
    """
    if not NAME_PATTERN.match(name) or keyword.iskeyword(name):
        raise ParameterError(f"notebook name {name!r}: use a letter, then letters, digits or '_' "
                             "(at most 64 characters), e.g. bp3_snapshot_adoption")
    if name in registry.REPORTS:
        raise ParameterError(f"notebook name {name!r} is a registered report; choose another name")
    return name


def scaffold(name: str) -> nbformat.NotebookNode:
    """The new notebook ``name``: parameters, the run's context, a worked example, room for the analysis."""
    check_name(name)
    return new_adhoc_notebook([
        ("title", "markdown", f"""
# {name}

**Question.** *Write the question this notebook answers, who asked it and when.*

An ad hoc analysis (docs/adhoc.md). Run it by hand in JupyterLab (`make lab`); publish it with
`dsrip run notebooks/adhoc/{name}.ipynb --params params/runs/default.yaml -p run_id={name}`, which
writes HTML, PDF, workbook, results and a manifest under `reports/{name}/`. Only what goes through
`pub` is suppressed (counts of 1-10), and everything this notebook displays is published: display
no member-level frame.
"""),
        ("setup", "code", """
import pandas as pd

from dsrip_lib.attribution import member_months as mm
from dsrip_lib.publishing.publisher import plot_values
from dsrip_lib.reports import adhoc
from dsrip_lib.reports import attribution as report

ctx = adhoc.open_adhoc(run_id=run_id, program=program, data_dir=data_dir, backend=backend, options=options,
                       output_dir=output_dir, data_validated=data_validated, stage_cache=stage_cache)
pub = ctx.publisher  # publish only through pub: it suppresses small counts in every table
# the attribution report's functions, with its options (here its defaults: average counts, PCP on the last day)
att_ctx = adhoc.with_options(ctx, report.AttributionOptions)
att = report.attribute(att_ctx)  # monthly attribution (Sec 4.4.4) and the ACO budget periods the data covers
periods = [p for p in att.periods if p.number not in att.without_members]
"""),
        ("h-members", "markdown", "## Member-months and attributed members, all ACOs"),
        ("members", "code", """
by_period = mm.member_months_by_period(att.counts, periods)  # per ACO and period: member_months, ...
members = report.attributed_members_by_period(att.counts, periods, att_ctx.options.count_method)
totals = (by_period.merge(members[["aco_id", "budget_period", "members"]], on=["aco_id", "budget_period"])
          .groupby("budget_period", as_index=False)[["member_months", "members"]].sum())
totals.insert(0, "period", totals.pop("budget_period").map(att.labels))
pub.table("members by period", totals,
          caption=f"Attributed member-months and attributed members ({att_ctx.options.count_method} count) "
                  f"per ACO budget period, all ACOs",
          counts=["member_months", "members"], formats={"members": "{:,.0f}"},
          headers={"period": "Budget period", "member_months": "Member-months", "members": "Attributed members"})
"""),
        ("h-adoption", "markdown", "## ACO/APM adoption rate (Sec 5.2.1.1, Exhibit 26)"),
        ("adoption", "code", """
results = report.adoption_results(att_ctx, periods)  # one AdoptionResult per budget period
if output_dir is None:  # by hand only: a result shows its counts unsuppressed, and a run publishes every output
    display(results[-1])
"""),
        ("adoption-table", "code", """
pub.table("adoption", report.adoption_table(results, att.labels),
          caption="ACO/APM adoption: ACO-eligible members, members counted by each path (a member may meet "
                  "several) and once overall, rate and Exhibit 26 target",
          counts=["ACO-eligible", *report.ADOPTION_PATHS.values(), "adopted"],
          derived={"rate": ["adopted", "ACO-eligible"]}, formats={"rate": "{:.1%}", "target": "{:.0%}"})
shown = plot_values(pub.published("adoption")).set_index("period")  # as published: suppressed cells are NaN
last = periods[-1]
rate = shown.loc[last.label, "rate"]
if pd.notna(rate):  # a rate withheld by suppression is published nowhere else either
    pub.value(f"adoption_rate_bp{last.number}", float(rate), f"ACO/APM adoption rate, {last.label}")
    pub.text(f"In {last.label} the ACO/APM adoption rate was **{rate:.1%}** of ACO-eligible members.")
"""),
        ("h-analysis", "markdown", """
## Analysis

*Replace this with the analysis: tables, a figure, and prose built from the published numbers.*
"""),
        ("analysis", "code", """
# ctx.data.table("enrollment") and the other contract tables are Ibis tables on the backend: aggregate
# there and bring back only the aggregate (.execute()). Publish with pub.table(name, frame, caption=...,
# counts=[...], headers={...}), pub.value(name, number, description) and pub.text(markdown).
"""),
    ])


def new_notebook(name: str, directory: str | Path | None = None) -> Path:
    """Write the notebook ``name`` (:func:`scaffold`) into ``directory`` (default the checkout's ``notebooks/adhoc/``).

    Returns the notebook's path.

    Raises
    ------
    ParameterError
        A bad name, or a notebook of that name already there (it is never overwritten).
    """
    check_name(name)
    folder = Path(directory) if directory is not None else params_dir().parent / ADHOC_DIR
    path = folder / f"{name}.ipynb"
    if path.exists():
        raise ParameterError(f"{path} already exists; it is not overwritten (choose another name or delete it)")
    folder.mkdir(parents=True, exist_ok=True)
    nb = scaffold(name)
    with path.open("x", encoding="utf-8") as handle:  # "x": never over a notebook written in the meantime
        nbformat.write(nb, handle)
    return path
