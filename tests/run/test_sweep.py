"""``dsrip sweep``: a grid of run parameters, refused whole before anything runs, run into one directory
and compared (headline numbers and the decisions that flip)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import papermill
import pytest
import yaml

from dsrip_lib.errors import ParameterError
from dsrip_lib.run import registry, runner, validation_cache
from dsrip_lib.run.export import external_resources
from dsrip_lib.run.sweep import decisions_that_flip, grid_points, headline_table, parse_vary, run_sweep

REPO = Path(__file__).resolve().parents[2]
POINT_FILES = {f"attribution.{ext}" for ext in ("ipynb", "html", "pdf", "xlsx", "results.json")} | {
    "manifest.json", "index.html"}


def run_file(directory: Path, data_dir: Path) -> Path:
    path = directory / "sweep.yaml"
    path.write_text(yaml.safe_dump({"run_id": "whatif", "data_dir": str(data_dir), "reports": ["attribution"],
                                    "reports_dir": str(directory / "reports")}), encoding="utf-8")
    return path


@pytest.fixture
def nothing_runs(monkeypatch):
    def refuse(*args, **kwargs):
        pytest.fail("work started for a sweep that should have been refused")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)
    monkeypatch.setattr(runner, "validate_dir", refuse)


# -- the grid ------------------------------------------------------------------------------


def test_points_are_the_cartesian_product_named_readably():
    grid = parse_vary([("options.tcoc_benchmarks.trend_rate", "0.03, 0.04"), ("options.quality_domain_tests.alpha",
                                                                               "0.05,0.1")])
    points = grid_points(grid)
    assert [p.name for p in points] == ["trend_rate=0.03__alpha=0.05", "trend_rate=0.03__alpha=0.1",
                                        "trend_rate=0.04__alpha=0.05", "trend_rate=0.04__alpha=0.1"]
    assert points[1].overrides == {"options.tcoc_benchmarks.trend_rate": "0.03",
                                   "options.quality_domain_tests.alpha": "0.1"}


def test_keys_sharing_a_last_part_are_named_in_full_and_unsafe_characters_replaced():
    points = grid_points(parse_vary([("options.a.missing_domain", "refuse"), ("options.b.missing_domain", "x"),
                                     ("data_dir", "data/one")]))
    assert points[0].name == "options.a.missing_domain=refuse__options.b.missing_domain=x__data_dir=data-one"


@pytest.mark.parametrize(("vary", "says"), [
    ([("colour", "red,blue")], "--vary colour: not a run parameter"),
    ([("run_id", "a,b")], "--vary run_id: not a run parameter that a sweep can vary"),
    ([("options.attribution", "a,b")], "--vary options.attribution: not a run parameter"),
    ([("data_dir.sub", "a,b")], "--vary data_dir.sub: not a run parameter"),
    ([("max_workers", "1,2"), ("max_workers", "3")], "given twice"),
    ([("max_workers", "1,1")], "distinct and non-empty"),
    ([("max_workers", "1,")], "distinct and non-empty"),
    ([], "at least one --vary"),
])
def test_a_bad_grid_is_refused(vary, says):
    with pytest.raises(ParameterError, match=says):
        grid_points(parse_vary(vary))


def test_a_value_failing_validation_at_any_point_is_refused_before_anything_runs(tiny_data, tmp_path, nothing_runs):
    params = run_file(tmp_path, tiny_data)
    vary = [("options.attribution.count_method", "snapshot,median"), ("execution_timeout", "60,0")]
    with pytest.raises(ParameterError) as refused:
        run_sweep(params, vary)
    message = str(refused.value)
    assert message.startswith("sweep point count_method=snapshot__execution_timeout=0:")
    assert "execution_timeout" in message
    assert not (tmp_path / "reports").exists()


def test_cli_refuses_an_unknown_key_exits_2_and_writes_nothing(tiny_data, tmp_path):
    params = run_file(tmp_path, tiny_data)
    result = subprocess.run([sys.executable, "-m", "dsrip_lib.cli", "sweep", "--params", str(params),
                             "--vary", "options.attribution.count_method=snapshot,average",
                             "--vary", "trend_rate=0.03,0.04"],
                            capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
                            timeout=120, cwd=REPO)
    assert result.returncode == 2
    assert result.stderr.startswith("dsrip sweep: --vary trend_rate: not a run parameter") and "Traceback" not in \
        result.stderr
    assert not (tmp_path / "reports").exists()


# -- comparing the points --------------------------------------------------------------------


def results(**values) -> dict:
    return {key: {"value": value, "description": f"about {key}"} for key, value in values.items()}


def test_flips_are_changed_decisions_sign_changes_and_values_some_points_lack(monkeypatch):
    monkeypatch.setitem(registry.REPORTS, "r", registry.ReportSpec("r.ipynb", headline=("total", "gone")))
    by_point = {
        "a=1": {"r": results(total=10, gain=5.0, zero=0.0, verdict="pass", steady=1.0, gone=3)},
        "a=2": {"r": results(total=12, gain=-1.5, zero=0.2, verdict="fail", steady=2.0)},
    }
    flips = decisions_that_flip(by_point)
    assert dict(zip(flips["key"], flips["change"])) == {
        "gain": "sign changes", "zero": "sign changes", "verdict": "differs", "gone": "published at some points only"}
    assert flips.set_index("key").loc["gain", "a=2"] == -1.5
    headline = headline_table(by_point)
    assert headline["key"].tolist() == ["total", "gone"]
    assert headline["a=1"].tolist() == [10, 3] and headline["a=2"].iloc[0] == 12 and pd.isna(headline["a=2"].iloc[1])


# -- a sweep end to end ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sweep(tiny_data, tmp_path_factory):
    """attribution over count_method x assignment_snapshot_day on the tiny state, validations counted."""
    directory = tmp_path_factory.mktemp("sweep")
    validated = []
    with pytest.MonkeyPatch.context() as mp:
        real = runner.validate_dir
        mp.setattr(runner, "validate_dir", lambda *a, **k: validated.append(a) or real(*a, **k))
        page = run_sweep(run_file(directory, tiny_data), [("options.attribution.count_method", "snapshot,average"),
                                                          ("options.attribution.assignment_snapshot_day",
                                                           "first,last")])
    return {"page": page, "dir": page.parent, "validated": validated}


@pytest.mark.slow
def test_sweep_writes_four_complete_runs_validated_once(sweep):
    names = [f"count_method={m}__assignment_snapshot_day={d}" for m in ("snapshot", "average")
             for d in ("first", "last")]
    assert sorted(p.name for p in sweep["dir"].iterdir() if p.is_dir()) == sorted(names)
    for name in names:
        assert {p.name for p in (sweep["dir"] / name).iterdir()} == POINT_FILES
        recorded = json.loads((sweep["dir"] / name / "manifest.json").read_text())
        method, day = (part.split("=")[1] for part in name.split("__"))
        assert recorded["run_id"] == f"whatif/{name}"
        assert recorded["reports"]["attribution"]["parameters"]["options"]["count_method"] == method
        assert recorded["reports"]["attribution"]["parameters"]["options"]["assignment_snapshot_day"] == day
    assert len(sweep["validated"]) == 1
    # no staging left; the validation is kept for later runs on the same bytes
    assert sorted(p.name for p in sweep["dir"].parent.iterdir()) == [validation_cache.DIRECTORY, "whatif"]


@pytest.mark.slow
def test_comparison_table_holds_each_points_headline_numbers(sweep):
    table = pd.read_csv(sweep["dir"] / "comparison.csv")
    headline = list(registry.REPORTS["attribution"].headline)
    assert table["key"].tolist() == headline and (table["report"] == "attribution").all()
    for point in (p for p in sweep["dir"].iterdir() if p.is_dir()):
        values = json.loads((point / "attribution.results.json").read_text())
        assert table[point.name].tolist() == pytest.approx([values[key]["value"] for key in headline])
    workbook = openpyxl.load_workbook(sweep["dir"] / "comparison.xlsx")
    assert workbook.sheetnames == ["grid", "headline numbers", "decisions that flip"]
    assert [c.value for c in workbook["grid"][3]] == ["point", "options.attribution.count_method",
                                                      "options.attribution.assignment_snapshot_day"]
    page = sweep["page"].read_text(encoding="utf-8")
    assert external_resources(page) == [] and "<script" not in page
    for point in table.columns[3:]:
        assert f'href="{point}/index.html"' in page
    assert json.loads((sweep["dir"] / "sweep.json").read_text())["vary"] == {
        "options.attribution.count_method": ["snapshot", "average"],
        "options.attribution.assignment_snapshot_day": ["first", "last"]}
    assert (sweep["dir"] / "decisions_that_flip.csv").is_file()
