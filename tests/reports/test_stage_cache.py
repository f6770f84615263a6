"""The run's cache of shared stages: computed once across processes, read back exactly, scoped to its inputs."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest

from dsrip_lib.reports import stages, state_accountability_recoupment, tcoc_benchmarks
from dsrip_lib.reports.context import open_report
from dsrip_lib.reports.stage_cache import StageCache


def _slow_frame(directory: str, log: str) -> list:
    """In a worker process: ask the cache for one stage whose computation takes a while and logs itself."""
    def compute():
        with open(log, "a") as f:
            f.write("computed\n")
        time.sleep(0.5)
        return pd.DataFrame({"x": [0.1, 0.2, 1 / 3]})
    return StageCache.open(directory, "program", "data").get(("frame", None), compute).to_dict("list")


def test_two_processes_compute_a_stage_once_and_read_the_same_result(tmp_path):
    log = tmp_path / "log"
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.starmap(_slow_frame, [(str(tmp_path), str(log))] * 2)
    assert log.read_text() == "computed\n"  # the second waited on the lock and read the first's result
    assert results[0] == results[1] == {"x": [0.1, 0.2, 1 / 3]}


def test_scope_and_key_separate_results(tmp_path):
    one = StageCache.open(tmp_path, "program A", "data")
    other = StageCache.open(tmp_path, "program B", "data")
    assert one.get("k", lambda: 1) == 1
    assert one.get("k", lambda: 2) == 1  # read back, not computed
    assert other.get("k", lambda: 3) == 3  # another program: never the first one's result
    assert one.get(("k", 2), lambda: 4) == 4


def test_a_failed_stage_stores_nothing_and_releases_its_lock(tmp_path):
    cache = StageCache.open(tmp_path, "scope")

    def fail():
        raise ValueError("bad data")
    with pytest.raises(ValueError, match="bad data"):
        cache.get("k", fail)
    assert not list(tmp_path.glob("*.pickle")) and not list(tmp_path.glob("*.partial"))
    assert cache.get("k", lambda: 5) == 5


def test_missing_directory_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="stage cache directory"):
        StageCache.open(tmp_path / "absent", "scope")


def test_reports_of_one_run_share_the_claims_scan_and_adoption(tiny_data, tmp_path, monkeypatch):
    """Two reports' contexts on one cache (as two kernels of a run): the second computes neither the
    PMPM cells nor the adoption pass, and reads exactly the frames the first computed."""
    calls: list[str] = []
    for name in ("pmpm_cells", "adoption_rates"):
        original = getattr(stages, name)
        monkeypatch.setattr(stages, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k))

    def context(model):
        return open_report(model, program="masshealth_dsrip", data_dir=tiny_data, data_validated=True,
                           stage_cache=tmp_path)
    tcoc = context(tcoc_benchmarks.TcocOptions)
    first = stages.spending_cells(tcoc)
    first_adoption = stages.adoption(tcoc, [1, 2])
    state = context(state_accountability_recoupment.StateOptions)
    assert state.computed == {}
    pdt.assert_frame_equal(stages.spending_cells(state), first)
    assert stages.adoption(state, [2]) == first_adoption[1:]
    assert calls == ["pmpm_cells", "adoption_rates"]
    unshared = open_report(tcoc_benchmarks.TcocOptions, program="masshealth_dsrip", data_dir=tiny_data,
                           data_validated=True)
    pdt.assert_frame_equal(stages.spending_cells(unshared), first)  # the cache changes no number
    assert len(list(Path(tmp_path).glob("*.pickle"))) == 2
