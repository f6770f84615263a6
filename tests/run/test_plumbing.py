"""Report plumbing: options travel as one validated mapping, the data is validated once per run
with the run's program, and every registered notebook takes exactly the runner's parameters."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.reports.attribution import AttributionOptions
from dsrip_lib.reports.context import open_report
from dsrip_lib.run import registry, runner

REPO = Path(__file__).resolve().parents[2]
LATER_PROGRAM = REPO / "tests" / "fixtures" / "program_later.yaml"


def run_file(directory: Path, data_dir: Path, **entries) -> Path:
    body = {"run_id": "plumbing", "data_dir": str(data_dir), "reports_dir": str(directory / "reports"), **entries}
    path = directory / "run.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dsrip_lib.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"}, timeout=300, cwd=REPO)


def parameters_cell_names(notebook: Path) -> set[str]:
    cell = next(c for c in nbformat.read(notebook, as_version=4).cells if "parameters" in c.metadata.get("tags", []))
    return {target.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign) for target in node.targets}


# -- options ----------------------------------------------------------------------------


@pytest.mark.parametrize("report", sorted(registry.REPORTS))
def test_every_registered_notebook_takes_exactly_the_runners_parameters(report):
    spec = registry.REPORTS[report]
    assert parameters_cell_names(REPO / spec.notebook) == set(registry.NOTEBOOK_PARAMETERS)
    clashing = set(spec.options_model().model_fields) & set(registry.NOTEBOOK_PARAMETERS)
    assert clashing == set(), f"{report}: options named like notebook parameters {clashing}"


@pytest.mark.parametrize(("option", "says"), [
    ("data_dir", "a run parameter, not an option of report attribution"),
    ("run_id", "a run parameter, not an option of report attribution"),
    ("colour", "Extra inputs are not permitted"),
])
def test_an_option_named_like_a_run_parameter_or_unknown_exits_2_and_writes_nothing(tmp_path, option, says):
    params = run_file(tmp_path, tmp_path)
    result = cli("run", "attribution", "--params", str(params), "-p", f"options.attribution.{option}=x")
    assert result.returncode == 2, result.stderr
    assert f"options.attribution.{option}" in result.stderr and says in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "reports").exists()


def test_open_report_refuses_bad_options_and_unknown_parameters(tiny_data):
    with pytest.raises(ParameterError, match=r"options\.count_method"):
        open_report(AttributionOptions, program="masshealth_dsrip", data_dir=tiny_data,
                    options={"count_method": "median"}, data_validated=True)
    with pytest.raises(ParameterError, match="unknown notebook parameter"):
        open_report(AttributionOptions, program="masshealth_dsrip", data_dir=tiny_data, min_members=3)


# -- the run's program reaches the data ----------------------------------------------------


def test_a_differently_dated_program_validates_the_data_against_its_own_calendar(tiny_data, tmp_path):
    """Data of 2017-2022 is out of bounds for a program dated 2027-2032: refused before any kernel."""
    params = run_file(tmp_path, tiny_data, program=str(LATER_PROGRAM))
    with pytest.raises(InputValidationError) as info:
        runner.run_notebook("attribution", params, {})
    message = str(info.value)
    assert "claims.parquet" in message and "service_date" in message and "between 2027-01-01 and 2032-12-31" in message
    assert not (tmp_path / "reports").exists()


def test_a_notebook_opens_its_data_with_the_runs_program(tiny_data):
    """Run by hand (not yet validated), the notebook's dataset is checked against the given program."""
    with pytest.raises(InputValidationError, match="between 2027-01-01 and 2032-12-31"):
        open_report(AttributionOptions, program=str(LATER_PROGRAM), data_dir=tiny_data)
    ctx = open_report(AttributionOptions, program=str(LATER_PROGRAM), data_dir=tiny_data, data_validated=True)
    assert ctx.program.name == "program_later" and ctx.data.has("claims")


def test_a_dataset_the_runner_validated_is_not_validated_again(tiny_data, monkeypatch):
    def refuse(*args, **kwargs):
        pytest.fail("validated again inside the notebook")

    monkeypatch.setattr("dsrip_lib.inputs.dataset.validate_dir", refuse)
    ctx = open_report(AttributionOptions, program="masshealth_dsrip", data_dir=tiny_data, data_validated=True)
    assert ctx.options == AttributionOptions()
