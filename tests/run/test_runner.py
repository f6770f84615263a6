"""The report runner: parameters refused before a kernel starts, nothing half-written, reproducible output.

Notebook executions are the cost here (a few seconds each); they are few and shared
through module-scoped fixtures. The fixture reports live in tests/fixtures/.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Literal

import openpyxl
import pandas as pd
import papermill
import pytest
import yaml
from pydantic import BaseModel, ConfigDict

from dsrip_lib.errors import ParameterError, ReportError
from dsrip_lib.publishing.publisher import SUPPRESSED, SUPPRESSION_NOTE
from dsrip_lib.run import manifest, runner
from dsrip_lib.run import registry as reports
from dsrip_lib.run.export import external_resources
from dsrip_lib.run.parameters import load_run_params

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
DEMO_DATA = FIXTURES / "demo_data"
RUN_FILES = {"manifest.json", "index.html"}
REPORT_FILES = {"demo.ipynb", "demo.html", "demo.pdf", "demo.xlsx", "demo.results.json"} | RUN_FILES
LARGE_FILES = {name.replace("demo.", "large.") for name in REPORT_FILES - RUN_FILES}


class DemoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_members: int = 0


class BrokenOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    behaviour: Literal["fail", "sleep"] = "fail"


PINNED_GIT = {"commit": "0123456789abcdef0123456789abcdef01234567", "dirty": True}
FIXTURE_REPORTS = {
    "demo": reports.ReportSpec(str(FIXTURES / "demo.ipynb"), f"{__name__}:DemoOptions", contract_data=False),
    "broken": reports.ReportSpec(str(FIXTURES / "broken.ipynb"), f"{__name__}:BrokenOptions", contract_data=False),
    "large": reports.ReportSpec(str(FIXTURES / "demo.ipynb"), f"{__name__}:DemoOptions", contract_data=False),
}


@pytest.fixture(scope="module")
def registry():
    """The registry holding only the fixture reports, for the whole module."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reports, "REPORTS", dict(FIXTURE_REPORTS))
        yield reports.REPORTS


def write_params(directory: Path, **entries) -> Path:
    body = {"run_id": "t", "data_dir": str(DEMO_DATA), "reports_dir": str(directory / "reports"), **entries}
    path = directory / "run.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


@pytest.fixture
def no_kernel(monkeypatch):
    """Fail the test if papermill is asked to execute anything."""

    def refuse(*args, **kwargs):
        pytest.fail("a kernel was started for parameters that should have been refused")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)


# --- parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"options.demo.min_members": "many"}, "options.demo.min_members"),
        ({"execution_timeout": "soon"}, "execution_timeout"),
        ({"colour": "red"}, "colour"),
        ({"options.demo.nope": "1"}, "options.demo.nope"),
        ({"options.nosuch.x": "1"}, "nosuch"),
        ({"run_id": "../escape"}, "run_id"),
        ({"backend": "spark"}, "backend"),
    ],
)
def test_bad_parameter_is_refused_before_any_kernel_starts(registry, no_kernel, tmp_path, overrides, named):
    params = write_params(tmp_path)
    with pytest.raises(ParameterError, match=named.replace(".", r"\.")):
        runner.run_notebook("demo", params, overrides)
    assert not (tmp_path / "reports").exists()


def test_unquoted_numeric_identifier_is_refused_with_a_hint(registry, no_kernel, tmp_path):
    params = tmp_path / "run.yaml"
    params.write_text(f"run_id: 01060\ndata_dir: {DEMO_DATA}\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="run_id.*quote it"):
        runner.run_all(params, {})


def test_duplicate_yaml_key_is_refused(registry, tmp_path):
    params = tmp_path / "run.yaml"
    params.write_text(f"run_id: a\nrun_id: b\ndata_dir: {DEMO_DATA}\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="duplicate key"):
        load_run_params(params)


def test_overrides_are_coerced_and_relative_paths_follow_the_repo_root(registry, tmp_path, monkeypatch):
    root = tmp_path / "checkout"
    (root / "params" / "runs").mkdir(parents=True)
    (root / "data").mkdir()
    params_file = root / "params" / "runs" / "x.yaml"
    params_file.write_text("run_id: x\ndata_dir: data\noptions:\n", encoding="utf-8")  # an empty options key
    monkeypatch.chdir(tmp_path)  # the caller's cwd must not matter

    params, found_root = load_run_params(
        params_file, {"options.demo.min_members": "12", "reports": "demo,broken", "program": "masshealth_dsrip"}
    )
    assert found_root == root
    assert params.data_dir == root / "data"
    assert params.reports_dir == root / "reports"
    assert params.selected_reports() == ["demo", "broken"]
    assert params.report_options("demo").min_members == 12


def test_a_run_of_one_report_checks_that_reports_options_only(registry, tmp_path):
    """Each options model imports its report's library; a run of one report needs its own only."""
    params = write_params(tmp_path, options={"demo": {"min_members": 3}, "broken": {"behaviour": "dance"}})
    with pytest.raises(ParameterError, match=r"options\.broken\.behaviour"):
        load_run_params(params)
    loaded, _ = load_run_params(params, reports=["demo"])
    assert loaded.report_options("demo").min_members == 3
    with pytest.raises(ParameterError, match=r"options\.demo\.min_members"):
        load_run_params(params, {"options.demo.min_members": "many"}, reports=["demo"])


def test_default_run_file_is_valid(registry):
    params_file = REPO / "params" / "runs" / "default.yaml"
    raw = yaml.safe_load(params_file.read_text(encoding="utf-8"))
    assert raw["run_id"] == "default" and raw["data_dir"] == "data/synthetic/small"
    from dsrip_lib.run.parameters import RunParams

    RunParams.model_validate(raw)  # the data directory need not exist yet (make report creates it)


# --- failures leave nothing -----------------------------------------------------------


def _leftovers(reports_dir: Path) -> list[str]:
    return sorted(path.name for path in reports_dir.iterdir()) if reports_dir.exists() else []


@pytest.mark.slow
def test_failing_cell_raises_naming_the_cell_and_leaves_no_directory(registry, tmp_path):
    params = write_params(tmp_path)
    with pytest.raises(ReportError) as failure:
        runner.run_notebook("broken", params, {})
    message = str(failure.value)
    assert "cell 1" in message and "ValueError: deliberate failure" in message
    assert 'raise ValueError("deliberate failure' in message  # the source excerpt
    assert _leftovers(tmp_path / "reports") == []


@pytest.mark.slow
def test_timeout_raises_and_keeps_the_previous_run_whole(registry, tmp_path):
    params = write_params(tmp_path)
    previous = tmp_path / "reports" / "t"
    previous.mkdir(parents=True)
    (previous / "demo.html").write_text("earlier run", encoding="utf-8")
    with pytest.raises(ReportError, match=r"(?s)cell 1.*timed out after 2 s.*time\.sleep"):
        runner.run_notebook("broken", params, {"options.broken.behaviour": "sleep", "execution_timeout": "2"})
    assert _leftovers(tmp_path / "reports") == ["t"]
    assert (previous / "demo.html").read_text(encoding="utf-8") == "earlier run"


# --- a successful run, twice ----------------------------------------------------------


@pytest.fixture(scope="module")
def two_runs(registry, tmp_path_factory):
    """``dsrip report`` (every registered report: ``demo`` and ``large``, the same notebook with
    other options, in two worker processes) then ``dsrip run demo`` (in-process) with the same
    parameters.

    Returns the bytes of each file after the first run, and the run directory after the second.
    """
    directory = tmp_path_factory.mktemp("runs")
    params = write_params(directory, options={"large": {"min_members": 100}})
    with pytest.MonkeyPatch.context() as mp:
        # the pages name the commit: pin it, as colleagues may commit to this checkout between the runs
        mp.setattr(manifest, "_git", lambda root: PINNED_GIT)
        with pytest.MonkeyPatch.context() as only_good:
            only_good.delitem(reports.REPORTS, "broken")
            first = runner.run_all(params, {})
        run_dir = directory / "reports" / "t"
        first_bytes = {path.name: path.read_bytes() for path in run_dir.iterdir()}
        second = runner.run_notebook("demo", params, {})
    return {"first": first, "second": second, "first_bytes": first_bytes, "run_dir": run_dir, "params": params}


@pytest.mark.slow
def test_run_directory_holds_every_output_and_nothing_else(two_runs):
    run_dir = two_runs["run_dir"]
    assert two_runs["first"] == [run_dir / "demo.html", run_dir / "large.html"]
    assert set(two_runs["first_bytes"]) == REPORT_FILES | LARGE_FILES
    assert two_runs["second"] == run_dir / "demo.html"
    assert {path.name for path in run_dir.iterdir()} == REPORT_FILES  # the second run replaced the first whole
    assert _leftovers(two_runs["run_dir"].parent) == ["t"]  # no staging or replaced directory


@pytest.mark.slow
@pytest.mark.parametrize("name", ["demo.html", "demo.pdf", "demo.xlsx", "demo.results.json"])
def test_same_parameters_and_inputs_give_byte_identical_outputs(two_runs, name):
    assert (two_runs["run_dir"] / name).read_bytes() == two_runs["first_bytes"][name]


@pytest.mark.slow
def test_html_is_self_contained_with_code_hidden(two_runs):
    html = (two_runs["run_dir"] / "demo.html").read_text(encoding="utf-8")
    assert external_resources(html) == []
    assert "<script src" not in html
    assert "data:image/png;base64," in html and 'alt="Bar chart of members by group"' in html
    assert "pub.table(" not in html  # inputs are not shown
    assert "<title>demo — t</title>" in html
    footer = html[html.index('<footer class="dsrip-provenance">') :]
    assert "commit 0123456789 with uncommitted changes" in footer
    # the data directory relative to the run's root, never an absolute path of the machine that ran it
    assert "data tests/fixtures/demo_data (fingerprint" in footer and str(REPO) not in html


def _pdf_objects(pdf: bytes) -> bytes:
    """The PDF's bytes with every Flate stream inflated (objects live in compressed object streams)."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.DOTALL):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            continue  # not a Flate stream
    return b"\n".join(parts)


@pytest.mark.slow
def test_pdf_is_tagged_keeps_alt_text_and_has_no_creation_date(two_runs):
    pdf = (two_runs["run_dir"] / "demo.pdf").read_bytes()
    objects = _pdf_objects(pdf)
    assert pdf.startswith(b"%PDF-") and b"/StructTreeRoot" in objects
    assert b"Bar chart of members by group" in objects
    assert b"/CreationDate" not in objects


@pytest.mark.slow
def test_manifest_hashes_equal_the_input_files(two_runs):
    manifest = json.loads((two_runs["run_dir"] / "manifest.json").read_text(encoding="utf-8"))
    root = REPO
    recorded = {entry["path"]: entry["sha256"] for entry in manifest["inputs"]}
    expected_inputs = [
        *sorted(DEMO_DATA.iterdir()),
        root / "params" / "program" / "masshealth_dsrip.yaml",
        two_runs["params"],
        FIXTURES / "demo.ipynb",
    ]
    assert len(recorded) == len(expected_inputs)
    for path in expected_inputs:
        key = str(path.resolve().relative_to(root)) if path.resolve().is_relative_to(root) else str(path.resolve())
        assert recorded[key] == hashlib.sha256(path.read_bytes()).hexdigest(), key


@pytest.mark.slow
def test_manifest_records_code_versions_timings_and_outputs(two_runs):
    manifest = json.loads((two_runs["run_dir"] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["run_id"] == "t" and manifest["parameters"]["execution_timeout"] == 600
    assert manifest["packages"]["papermill"] == papermill.__version__
    assert manifest["git"] == PINNED_GIT
    assert manifest["start"] <= manifest["end"]
    demo = manifest["reports"]["demo"]
    assert demo["parameters"]["options"] == {"min_members": 0}
    assert demo["parameters"]["data_validated"] is False  # the demo reads no contract table
    assert manifest["validation"] is None and manifest["data_dir"] == "tests/fixtures/demo_data"
    assert manifest["parameters"]["data_dir"] == str(DEMO_DATA)  # the resolved path stays in the manifest
    source = json.loads((FIXTURES / "demo.ipynb").read_text(encoding="utf-8"))
    assert len(demo["cells"]) == sum(c["cell_type"] == "code" for c in source["cells"]) + 1  # + injected
    assert all(c["duration_s"] is not None and c["duration_s"] >= 0 for c in demo["cells"])
    for name, digest in demo["outputs"].items():
        assert hashlib.sha256((two_runs["run_dir"] / name).read_bytes()).hexdigest() == digest


@pytest.mark.slow
def test_workbook_holds_published_tables_with_small_cells_suppressed(two_runs):
    source = pd.read_csv(DEMO_DATA / "groups.csv", dtype={"group_id": str})
    workbook = openpyxl.load_workbook(two_runs["run_dir"] / "demo.xlsx")
    assert workbook.sheetnames == ["members by group", "wide"]
    sheet = workbook["members by group"]
    assert sheet["A1"].value == f"Members and member-months by group. {SUPPRESSION_NOTE}"
    assert sheet["A2"].value.startswith("Source: dsrip ") and "fingerprint" in sheet["A2"].value
    header = [cell.value for cell in sheet[3]]
    assert header == ["Group", "name", "members", "Member-months", "share"]  # the notebook's plain words
    rows = {row[0]: dict(zip(header, row)) for row in sheet.iter_rows(min_row=4, values_only=True)}
    assert set(rows) == set(source["group_id"])
    for record in source.to_dict("records"):
        shown = rows[record["group_id"]]["members"]
        assert shown == (SUPPRESSED if 1 <= record["members"] <= 10 else record["members"])
        assert rows[record["group_id"]]["Member-months"] == pytest.approx(record["member_months"])


@pytest.mark.slow
def test_results_json_holds_the_headline_numbers_under_each_reports_options(two_runs):
    members = pd.read_csv(DEMO_DATA / "groups.csv")["members"]
    for name, total in [("demo.results.json", members.sum()), ("large.results.json", members[members >= 100].sum())]:
        results = json.loads(two_runs["first_bytes"][name])
        assert results == {"total_members": {"value": int(total), "description": "members in all groups"}}


@pytest.mark.slow
def test_executed_notebook_has_a_stable_injected_cell_id(two_runs):
    nb = json.loads((two_runs["run_dir"] / "demo.ipynb").read_text(encoding="utf-8"))
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert [c["id"] for c in injected] == [runner.INJECTED_CELL_ID]


# --- command line ---------------------------------------------------------------------


def test_cli_prints_a_bad_parameter_without_traceback_and_exits_2(tmp_path):
    params = write_params(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "dsrip_lib.cli", "run", str(FIXTURES / "demo.ipynb"), "--params", str(params),
         "-p", "execution_timeout=soon"],
        capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("dsrip run:") and "execution_timeout" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "reports").exists()
