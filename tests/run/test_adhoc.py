"""Ad hoc analysis (docs/adhoc.md): `make lab`, `dsrip new`, and the worked notebooks of notebooks/adhoc/.

An ad hoc notebook is published like a report (`dsrip run notebooks/adhoc/NAME.ipynb`), so it gets
the same run directory, manifest and small-cell suppression. Notebook runs cost a few seconds each;
each notebook runs once per session, in module-scoped fixtures, on the tiny synthetic state.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import openpyxl
import pytest
import yaml
from test_notebooks_clean import notebook_problems  # tests/run is on sys.path (no packages under tests/)
from test_plumbing import parameters_cell_names

from dsrip_lib.cli import main
from dsrip_lib.errors import ParameterError
from dsrip_lib.publishing.publisher import SUPPRESSED, WITHHELD
from dsrip_lib.reports import adhoc
from dsrip_lib.reports.attribution import AttributionOptions
from dsrip_lib.run import registry, runner, scaffold

REPO = Path(__file__).resolve().parents[2]
ADHOC = REPO / "notebooks" / "adhoc"
WORKED = ("adoption_by_count_method", "aco_changers")
# columns of the worked notebooks that hold shares, rates or targets, not counts of people
NOT_COUNTS = {"rate", "target", "Snapshot against average", "share changed", "share stayed"}


def run_file(directory: Path, data_dir: Path, run_id: str) -> Path:
    path = directory / f"{run_id}.yaml"
    path.write_text(yaml.safe_dump({"run_id": run_id, "data_dir": str(data_dir),
                                    "reports_dir": str(directory / "reports")}), encoding="utf-8")
    return path


def run_files(html: Path) -> set[str]:
    return {p.name for p in html.parent.iterdir()}


def complete(name: str) -> set[str]:
    return {f"{name}.{ext}" for ext in ("ipynb", "html", "pdf", "xlsx", "results.json")} | {"manifest.json", "index.html"}


def sheets(workbook: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    """Each sheet's header (row 3) and body rows."""
    book = openpyxl.load_workbook(workbook)
    out = {}
    for sheet in book:
        header, *body = sheet.iter_rows(min_row=3, values_only=True)
        out[sheet.title] = (list(header), body)
    return out


def small_counts(workbook: Path) -> list[str]:
    """Every count cell of the workbook that is neither 0, nor above 10, nor the marker: none may be published."""
    found = []
    for name, (header, body) in sheets(workbook).items():
        for row in body:
            for column, value in zip(header, row, strict=True):
                if column in NOT_COUNTS or isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                if 0 < value < 11:
                    found.append(f"{name}: {column} = {value}")
    return found


# -- make lab ---------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def _stop_group(process: subprocess.Popen, grace: float = 20) -> None:
    """Stop ``process`` and its process group (make and the server it started): SIGTERM, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break  # the group is gone
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            process.poll()  # reap make
            try:
                os.killpg(process.pid, 0)  # any member left?
            except ProcessLookupError:
                return
            time.sleep(0.2)
    process.wait(timeout=10)


@pytest.mark.skipif(importlib.util.find_spec("jupyterlab") is None,
                    reason="JupyterLab is not installed (make test installs requirements-lab.lock)")
def test_make_lab_starts_jupyterlab_on_the_notebooks_with_the_dsrip_kernel(tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    args = (f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --ServerApp.port_retries=0 "
            f"--IdentityProvider.token={token} --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"
            + (" --allow-root" if os.geteuid() == 0 else ""))  # CI containers run as root
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    env |= {"JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    # -o: take the set-up as done (make test has just done it); this runs the lab recipe itself
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", ".venv/.installed-lab", "lab",
               f"LAB_ARGS={args}"]
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)  # its own process group: make and jupyter stop together
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, specs = time.monotonic() + 90, None
        while specs is None:
            assert server.poll() is None, f"make lab exited: {(tmp_path / 'lab.log').read_text()[-2000:]}"
            assert time.monotonic() < deadline, f"no answer in 90 s: {(tmp_path / 'lab.log').read_text()[-2000:]}"
            try:
                specs = _get(f"{base}/api/kernelspecs", token)
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert "dsrip" in specs["kernelspecs"], sorted(specs["kernelspecs"])
        argv = specs["kernelspecs"]["dsrip"]["spec"]["argv"]
        assert Path(argv[0]).parent.resolve() == (REPO / ".venv" / "bin").resolve()  # the project's venv
        root = {item["name"] for item in _get(f"{base}/api/contents", token)["content"]}
        assert {"attribution.ipynb", "adhoc"} <= root  # the server's root is notebooks/
        with pytest.raises(urllib.error.HTTPError) as refused:  # nothing without the token
            urllib.request.urlopen(f"{base}/api/kernelspecs", timeout=5)
        assert refused.value.code == 403
    finally:
        _stop_group(server)
        log.close()


def test_make_test_installs_the_lab_lock_and_make_report_does_not():
    def planned(target: str) -> str:  # what make would run were the lab lock newer than its stamp
        return subprocess.run(["make", "-n", "-o", ".venv/.installed", "-W", "requirements-lab.lock", target],
                              cwd=REPO, capture_output=True, text=True, check=True).stdout

    assert "--require-hashes -r requirements-lab.lock" in planned("test")
    assert "requirements-lab.lock" not in planned("report")
    assert "jupyter lab --ServerApp.root_dir=notebooks" in planned("lab")


def _pins(lock: Path) -> dict[str, str]:
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", lock.read_text(encoding="utf-8"), re.MULTILINE))


def test_the_lab_lock_keeps_every_shared_package_at_the_main_locks_version():
    main_lock, lab_lock = _pins(REPO / "requirements.lock"), _pins(REPO / "requirements-lab.lock")
    assert "jupyterlab" in lab_lock and "jupyterlab" not in main_lock  # make report stays lean
    assert {k: (v, lab_lock[k]) for k, v in main_lock.items() if k in lab_lock and lab_lock[k] != v} == {}
    text = (REPO / "requirements-lab.lock").read_text(encoding="utf-8")
    assert "-c requirements.lock" in text.splitlines()[1]  # generated against the main lock
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)


# -- dsrip new --------------------------------------------------------------------------------------
def test_new_writes_a_clean_notebook_taking_exactly_the_runners_parameters(tmp_path, capsys):
    assert main(["new", "bp3_question", "--dir", str(tmp_path)]) == 0
    path = tmp_path / "bp3_question.ipynb"
    assert str(path) in capsys.readouterr().out
    nb = nbformat.read(path, as_version=4)
    assert notebook_problems(nb) == []  # committed as is: no outputs, stable ids
    assert [c.id for c in nb.cells] == [c.id for c in scaffold.scaffold("other").cells]
    assert parameters_cell_names(path) == set(registry.NOTEBOOK_PARAMETERS)
    assert nb.metadata.kernelspec.name == runner.KERNEL_NAME
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "adhoc.open_adhoc(" in code and "pub.table(" in code and "pub.value(" in code and "pub.text(" in code


def test_new_never_overwrites_a_notebook(tmp_path, capsys):
    path = tmp_path / "mine.ipynb"
    path.write_text("my work", encoding="utf-8")
    assert main(["new", "mine", "--dir", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == "my work"


@pytest.mark.parametrize(("name", "says"), [
    ("../escape", "use a letter"), ("bp-3", "use a letter"), ("3bp", "use a letter"), ("class", "use a letter"),
    ("x" * 65, "use a letter"), ("attribution", "is a registered report"),
])
def test_new_refuses_a_name_that_is_not_a_safe_identifier(tmp_path, capsys, name, says):
    assert main(["new", name, "--dir", str(tmp_path)]) == 2
    assert says in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def scaffold_run(tiny_data, tmp_path_factory):
    """`dsrip new` then `dsrip run` on the notebook as written, no cell edited: its HTML path."""
    tmp = tmp_path_factory.mktemp("adhoc-new")
    assert main(["new", "first_look", "--dir", str(tmp / "adhoc")]) == 0
    params = run_file(tmp, tiny_data, "first-look")
    assert main(["run", str(tmp / "adhoc" / "first_look.ipynb"), "--params", str(params)]) == 0
    return tmp / "reports" / "first-look" / "first_look.html"


@pytest.mark.slow
def test_new_then_run_writes_a_complete_run_directory(scaffold_run):
    assert run_files(scaffold_run) == complete("first_look")
    manifest = json.loads((scaffold_run.parent / "manifest.json").read_text())
    assert manifest["reports"]["first_look"]["parameters"]["data_validated"] is True  # validated once by the run
    assert manifest["validation"] is not None and manifest["reports"]["first_look"]["parameters"]["options"] == {}
    results = json.loads(scaffold_run.with_suffix(".results.json").read_text())
    assert list(results) == ["adoption_rate_bp5"] and 0 < results["adoption_rate_bp5"]["value"] < 1
    assert set(sheets(scaffold_run.with_suffix(".xlsx"))) == {"members by period", "adoption"}
    assert small_counts(scaffold_run.with_suffix(".xlsx")) == []
    assert "AdoptionResult" not in scaffold_run.read_text()  # the unsuppressed result is shown by hand only


@pytest.mark.slow
def test_the_new_notebook_runs_by_hand_in_a_kernel_started_in_its_folder(tiny_data, tmp_path):
    """As in JupyterLab: the kernel's working directory is the notebook's folder, nothing is recorded,
    the data is validated by the notebook itself, and a result shows as a table (by hand only)."""
    from nbclient import NotebookClient

    path = scaffold.new_notebook("by_hand", tmp_path)
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace('"data/synthetic/small"', repr(str(tiny_data)))
    NotebookClient(nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = {cell.id: [o.get("data", {}) for o in cell.outputs] for cell in nb.cells if cell.cell_type == "code"}
    assert any("dsrip-adoption-result" in out.get("text/html", "") for out in shown["adoption"])
    assert any("dsrip-table" in out.get("text/html", "") for out in shown["adoption-table"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["by_hand.ipynb"]  # nothing written beside it


# -- the ad hoc context -----------------------------------------------------------------------------
def test_open_adhoc_reads_relative_paths_from_the_repository_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # JupyterLab starts a kernel in the notebook's folder
    ctx = adhoc.open_adhoc(run_id="x", program="masshealth_dsrip", data_dir="tests/fixtures/demo_data",
                           data_validated=True)
    assert ctx.data.data_dir == REPO / "tests" / "fixtures" / "demo_data"
    assert ctx.program.name and ctx.publisher.output_dir is None
    assert ctx.publisher.headers["member_months"] == "Member-months"


def test_open_adhoc_takes_no_options_as_the_runner_gives_none():
    with pytest.raises(ParameterError, match="options.count_method"):
        adhoc.open_adhoc(program="masshealth_dsrip", data_dir="tests/fixtures/demo_data", data_validated=True,
                         options={"count_method": "snapshot"})
    with pytest.raises(ParameterError, match="unknown notebook parameter"):
        adhoc.open_adhoc(program="masshealth_dsrip", data_dir="tests/fixtures/demo_data", data_validated=True,
                         colour="red")
    refused = {}
    for model in (adhoc.AdhocOptions, registry.NoOptions):  # the same rule by hand and in a run
        try:
            model.model_validate({"x": 1})
        except ValueError:
            refused[model.__name__] = True
    assert refused == {"AdhocOptions": True, "NoOptions": True}


def test_a_run_gives_an_ad_hoc_notebook_no_options(tmp_path, capsys, monkeypatch):
    def refuse(*args, **kwargs):
        pytest.fail("a kernel was started for parameters that should have been refused")

    monkeypatch.setattr("papermill.execute_notebook", refuse)
    params = run_file(tmp_path, tmp_path, "refused")
    argv = ["run", "notebooks/adhoc/aco_changers.ipynb", "--params", str(params),
            "-p", "options.aco_changers.flow_periods=3,4"]
    assert main(argv) == 2
    assert "unknown report(s) ['aco_changers']" in capsys.readouterr().err  # options are for registered reports
    assert not (tmp_path / "reports" / "refused").exists()


def test_with_options_gives_a_reports_typed_options_and_refuses_unknown_ones():
    ctx = adhoc.open_adhoc(program="masshealth_dsrip", data_dir="tests/fixtures/demo_data", data_validated=True)
    snapshot = adhoc.with_options(ctx, AttributionOptions, count_method="snapshot", flow_periods="3,4")
    assert snapshot.options.count_method == "snapshot" and snapshot.options.flow_periods == (3, 4)
    assert snapshot.data is ctx.data and snapshot.publisher is ctx.publisher
    with pytest.raises(ParameterError, match="count_methd"):
        adhoc.with_options(ctx, AttributionOptions, count_methd="snapshot")


# -- the worked notebooks ---------------------------------------------------------------------------
def test_the_worked_notebooks_are_committed_clean_with_the_runners_parameters():
    for name in WORKED:
        path = ADHOC / f"{name}.ipynb"
        assert notebook_problems(nbformat.read(path, as_version=4)) == []
        assert parameters_cell_names(path) == set(registry.NOTEBOOK_PARAMETERS)


@pytest.fixture(scope="module")
def worked_runs(tiny_data, tmp_path_factory):
    """Each worked notebook run once on the tiny state, as `dsrip run notebooks/adhoc/NAME.ipynb` does."""
    tmp = tmp_path_factory.mktemp("adhoc-worked")
    return {name: runner.run_notebook(f"notebooks/adhoc/{name}.ipynb", run_file(tmp, tiny_data, name), {})
            for name in WORKED}


@pytest.mark.slow
@pytest.mark.parametrize("name", WORKED)
def test_a_worked_notebook_publishes_a_complete_run_with_no_count_of_1_to_10(worked_runs, name):
    html = worked_runs[name]
    assert run_files(html) == complete(name)
    workbook = html.with_suffix(".xlsx")
    assert small_counts(workbook) == []
    shown = [v for _, body in sheets(workbook).values() for row in body for v in row]
    assert any(isinstance(v, (int, float)) and v > 10 for v in shown)  # the check saw counts
    headers = re.findall(r"<th[^>]*>(.*?)</th>", html.read_text())
    assert headers and not [h for h in headers if "_" in h]


@pytest.mark.slow
def test_adoption_under_either_count_method_is_the_planted_rate(worked_runs, tiny_data):
    """The analyst's answer: BP 3 adoption is the same under snapshot and average counts (and is the truth)."""
    html = worked_runs["adoption_by_count_method"]
    results = json.loads(html.with_suffix(".results.json").read_text())
    truth = json.loads((tiny_data / "truth.json").read_text())["adoption"]
    assert results["adoption_rate_bp3"]["value"] == pytest.approx(truth["3"]["rate"], rel=1e-12)
    assert results["members_average_bp3"]["value"] != results["members_snapshot_bp3"]["value"]
    text = html.read_text()
    assert "exactly what it is with average counts" in text and "identical with the average count method" in text
    header, body = sheets(html.with_suffix(".xlsx"))["members by ACO"]
    assert {row[header.index("Count")] for row in body} == {"average", "snapshot"}


@pytest.mark.slow
def test_changers_and_stayers_add_up_to_the_aco_members_in_every_table(worked_runs):
    html = worked_runs["aco_changers"]
    book = sheets(html.with_suffix(".xlsx"))
    header, (total,) = book["all ACOs"]
    first = header[0]
    assert first.startswith("ACO members ") and total[0] == sum(total[1:4])
    for name in ("by eligibility group", "by age"):
        header, body = book[name]
        for column in (first, "stayed", "changed ACO", "left ACOs"):
            cells = [row[header.index(column)] for row in body]
            if SUPPRESSED not in cells:
                assert sum(cells) == total[header.index(column) - 1]
        for row in body:  # a share beside a suppressed count is withheld
            hidden = SUPPRESSED in (row[header.index("changed ACO")], row[header.index(first)])
            assert (row[header.index("share changed")] == WITHHELD) == hidden
    results = json.loads(html.with_suffix(".results.json").read_text())
    assert 0 < results["changed_aco_share"]["value"] < 1
