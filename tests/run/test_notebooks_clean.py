"""Notebooks are committed clean: no outputs, no execution counts, no run metadata, stable cell ids.

Outputs in git leak data and make diffs unreadable; stable cell ids keep the HTML of two
identical runs byte-identical. Fix a notebook with ``nbstripout <file>``.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK_DIRS = [REPO / "notebooks", REPO / "tests" / "fixtures"]
RUN_METADATA = {"execution", "papermill", "ExecuteTime", "collapsed", "scrolled"}


def notebook_problems(nb: nbformat.NotebookNode) -> list[str]:
    """What keeps a notebook from being committed as is (empty when clean)."""
    problems = []
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        problems.append(f"invalid nbformat: {exc.message}")
    if "papermill" in nb.metadata or "widgets" in nb.metadata:
        problems.append("notebook metadata holds run state (papermill/widgets)")
    for index, cell in enumerate(nb.cells):
        if not cell.get("id"):
            problems.append(f"cell {index} has no id")
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {index} has outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {index} has an execution count")
        stale = sorted(RUN_METADATA & set(cell.metadata))
        if stale:
            problems.append(f"cell {index} metadata holds {stale}")
    return problems


def test_every_committed_notebook_is_clean():
    notebooks = sorted(path for directory in NOTEBOOK_DIRS for path in directory.rglob("*.ipynb"))
    assert notebooks, "expected at least the runner's fixture notebooks"
    dirty = {
        str(path.relative_to(REPO)): problems
        for path in notebooks
        if (problems := notebook_problems(nbformat.read(path, as_version=4)))
    }
    assert dirty == {}, f"strip these notebooks (nbstripout <file>): {dirty}"


def test_the_check_catches_an_executed_notebook():
    nb = nbformat.read(REPO / "tests" / "fixtures" / "demo.ipynb", as_version=4)
    executed = copy.deepcopy(nb)
    executed.cells[1].execution_count = 3
    executed.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
    executed.cells[3].metadata["papermill"] = {"duration": 0.1}
    problems = notebook_problems(executed)
    assert problems == [
        "cell 1 has outputs",
        "cell 1 has an execution count",
        "cell 3 metadata holds ['papermill']",
    ]
    assert notebook_problems(nb) == []
