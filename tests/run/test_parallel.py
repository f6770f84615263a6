"""``dsrip report`` in parallel: a failure lets the others finish and names every failing report; the run
directory gets an ``index.html`` of every report with its headline numbers, byte-identical across runs.

The reports are the fixture notebooks of tests/fixtures (a few seconds each).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

import pytest
import yaml
from pydantic import BaseModel, ConfigDict

from dsrip_lib import cli
from dsrip_lib.errors import ReportError
from dsrip_lib.run import manifest, runner
from dsrip_lib.run import registry as reports
from dsrip_lib.run.index import NOT_PUBLISHED

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
DEMO_DATA = FIXTURES / "demo_data"
PINNED_GIT = {"commit": "fedcba9876543210fedcba9876543210fedcba98", "dirty": False}


class GroupOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_members: int = 0


class FailingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    behaviour: Literal["fail", "sleep"] = "fail"


def spec(notebook: str, options: str, headline: tuple[str, ...] = ()) -> reports.ReportSpec:
    return reports.ReportSpec(str(FIXTURES / notebook), f"{__name__}:{options}", contract_data=False,
                              headline=headline)


GOOD = {
    "demo": spec("demo.ipynb", "GroupOptions", headline=("total_members", "not_a_result")),
    "large": spec("demo.ipynb", "GroupOptions", headline=("total_members",)),
}
BAD = {
    "broken": spec("broken.ipynb", "FailingOptions"),
    "broken_too": spec("broken.ipynb", "FailingOptions"),
}


def write_params(directory: Path, run_id: str = "p", **entries) -> Path:
    body = {"run_id": run_id, "data_dir": str(DEMO_DATA), "reports_dir": str(directory / "reports"),
            "options": {"large": {"min_members": 100}}, **entries}
    path = directory / f"{run_id}.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    return path


@pytest.mark.slow
def test_a_failing_report_lets_the_others_finish_and_every_failure_is_named(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(reports, "REPORTS", {"broken": BAD["broken"], **GOOD, "broken_too": BAD["broken_too"]})
    params = write_params(tmp_path)
    assert cli.main(["report", "--params", str(params)]) == 2
    err = capsys.readouterr().err  # not a terminal: one plain line per step
    finished = re.findall(r"^reports \[(\d)/4\] (\w+) (finished|FAILED) \((\d+\.\d) s\)$", err, re.M)
    assert sorted((name, state) for _, name, state, _ in finished) == [
        ("broken", "FAILED"), ("broken_too", "FAILED"), ("demo", "finished"), ("large", "finished")]
    assert sorted(int(done) for done, *_ in finished) == [1, 2, 3, 4]
    assert re.search(r"^demo \[(\d+)/\1\] ", err, re.M)  # every cell of demo, forwarded from its worker
    message = err[err.index("dsrip report:"):]
    assert message.startswith("dsrip report: 2 of 4 reports failed (broken, broken_too); no run directory was written")
    for name in ("broken", "broken_too"):
        assert re.search(rf"report {name} \(.*broken\.ipynb\): cell 1 \(counting from 0\) failed: "
                         r"ValueError: deliberate failure", message)
    assert "Traceback" not in err
    assert list((tmp_path / "reports").iterdir()) == []  # neither the run nor its staging directory


@pytest.mark.slow
def test_one_failure_in_process_is_named_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(reports, "REPORTS", {"demo": GOOD["demo"], "broken": BAD["broken"]})
    steps = []
    with pytest.raises(ReportError, match=r"^1 of 2 reports failed \(broken\)") as failure:
        runner.run_all(write_params(tmp_path, max_workers=1, options={}), {}, progress=steps.append)
    assert 'raise ValueError("deliberate failure' in str(failure.value)
    assert [(s.label, s.done) for s in steps if s.task == "reports"] == [("demo finished", 1), ("broken FAILED", 2)]
    assert list((tmp_path / "reports").iterdir()) == []


@pytest.fixture(scope="module")
def indexed_runs(tmp_path_factory):
    """The two good reports run twice (two workers) with the same parameters; the index bytes and directory."""
    directory = tmp_path_factory.mktemp("indexed")
    params = write_params(directory)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reports, "REPORTS", dict(GOOD))
        mp.setattr(manifest, "_git", lambda root: PINNED_GIT)
        run_dir = runner.run_all(params, {})[0].parent
        first = (run_dir / "index.html").read_bytes()
        runner.run_all(params, {})
    return {"first": first, "run_dir": run_dir}


@pytest.mark.slow
def test_index_links_every_report_and_shows_its_headline_from_results_json(indexed_runs):
    run_dir = indexed_runs["run_dir"]
    page = (run_dir / "index.html").read_text(encoding="utf-8")
    for name in GOOD:
        for ext in ("html", "pdf", "xlsx", "results.json"):
            assert f'href="{name}.{ext}"' in page and (run_dir / f"{name}.{ext}").is_file()
    for name in GOOD:
        total = json.loads((run_dir / f"{name}.results.json").read_text())["total_members"]
        row = page[page.index(f'href="{name}.html">{name}'):]
        assert f"<td>{total['description']}</td>\n<td class=\"num\">{total['value']:,}</td>" in row
    assert page.count(NOT_PUBLISHED) == 1  # demo's declared key that its results lack
    assert "<script" not in page and not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "commit fedcba9876" in page  # the provenance line, as on every report


@pytest.mark.slow
def test_index_is_byte_identical_across_runs_and_recorded_in_the_manifest(indexed_runs):
    run_dir = indexed_runs["run_dir"]
    assert (run_dir / "index.html").read_bytes() == indexed_runs["first"]
    recorded = json.loads((run_dir / "manifest.json").read_text())["outputs"]
    assert recorded == {"index.html": manifest.sha256(run_dir / "index.html")}


def test_the_costliest_reports_start_first_and_ties_keep_their_order(tmp_path):
    params = runner.load_run_params("params/runs/default.yaml", {"data_dir": "tests/fixtures/demo_data"})[0]
    reports_ = runner.selected_reports(params, "params/runs/default.yaml", Path.cwd())
    jobs = [runner.Job.of(r, params, Path.cwd(), tmp_path, tmp_path, "") for r in reports_]
    started = [jobs[i].name for i in runner.submission_order(jobs)]
    costs = [reports.REPORTS[name].cost for name in started]
    assert costs == sorted(costs, reverse=True) and started[0] == "midpoint_assessment"
    assert [n for n in started if reports.REPORTS[n].cost == 1] == [
        n for n in reports.REPORTS if reports.REPORTS[n].cost == 1]
