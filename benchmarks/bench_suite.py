"""The whole suite at state scale, as a user runs it: every registered report, the data validated once.

Runs ``python -m dsrip_lib.cli report --params params/runs/default.yaml -p data_dir=<data>
-p run_id=<run_id> -p revalidate=true`` (the data validated, as on a first run) in this checkout ``--repeat`` times (default 1) and prints, per run and as
median (min-max):

* wall time, from starting the command to its exit (start-up, the one validation, hashing the
  inputs, every report's notebook two at a time in worker processes, the exports, the index);
* CPU time of the whole process tree (``os.wait4``: every reaped descendant included, so the
  runner's worker processes and their Jupyter kernels);
* peak memory: the largest sum of resident sets over the process tree, sampled every
  ``--interval`` seconds (``bench_report.TreeSampler``: runner, workers and kernels at once);
* how many cores other jobs kept busy meanwhile (this machine is shared);
* from ``reports/<run_id>/manifest.json``: the validation's seconds and each report's.

Target (issue 15): under 5 minutes and 8 GiB on the 2-core machine, validation included. Exits 1
if a run misses it.

    .venv/bin/python benchmarks/bench_suite.py [--data DIR] [--repeat N] [--run-id ID]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from _common import GIB, ROOT, STATE_DATA, checkout, load_average, require_data, show
from bench_report import measure

TARGET_WALL_S = 300.0
TARGET_PEAK_GIB = 8.0


@dataclass
class SuiteRun:
    wall: float
    cpu: float
    peak: int
    processes: int
    other_cores: float
    load: float
    validation: float | None
    reports: dict[str, float]  # report -> its notebook's seconds (manifest)


def run_once(data: Path, run_id: str, interval: float) -> SuiteRun:
    cmd = [sys.executable, "-m", "dsrip_lib.cli", "report", "--params", "params/runs/default.yaml",
           "-p", f"data_dir={data}", "-p", f"run_id={run_id}", "-p", "revalidate=true"]  # cold: as a first run
    load = load_average()
    wall, cpu, busy, sampler = measure(cmd, ROOT, interval)
    manifest = json.loads((ROOT / "reports" / run_id / "manifest.json").read_text())
    reports = {name: entry.get("duration_s") for name, entry in manifest["reports"].items()}
    return SuiteRun(wall, cpu, sampler.peak, sampler.max_processes, max(busy - cpu, 0.0) / wall, load,
                    (manifest.get("validation") or {}).get("seconds"), reports)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=STATE_DATA)
    parser.add_argument("--repeat", type=int, default=1, help="runs (default 1: a run takes minutes)")
    parser.add_argument("--run-id", default="bench_suite", help="run_id: the runs write reports/<run_id>/")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between memory samples")
    args = parser.parse_args()

    data = require_data(args.data)
    print(f"dsrip report (every registered report) on {data}, {args.repeat} run(s), commit {checkout(ROOT)}",
          flush=True)
    runs = []
    for i in range(args.repeat):
        runs.append(r := run_once(data, args.run_id, args.interval))
        print(f"  run {i + 1}: wall {r.wall:6.1f} s  CPU {r.cpu:6.1f} s  peak {r.peak / GIB:5.2f} GiB "
              f"({r.processes} processes at most)  validation {r.validation} s  "
              f"other jobs {r.other_cores:.1f} cores busy  load {r.load:.1f}", flush=True)
    print(f"\nsummary, median (min-max) of {len(runs)}:")
    print(f"  wall {show([r.wall for r in runs], '{:.1f}', ' s')}  CPU {show([r.cpu for r in runs], '{:.1f}', ' s')}"
          f"  peak {show([r.peak / GIB for r in runs], unit=' GiB')}"
          f"  other jobs {show([r.other_cores for r in runs], '{:.1f}', ' cores')}")
    if all(r.validation is not None for r in runs):
        print(f"  validation (once per run): {show([r.validation for r in runs], '{:.1f}', ' s')}")
    print("  each report's notebook (two run at a time):")
    for name in runs[0].reports:
        print(f"    {name:34s} {show([r.reports[name] for r in runs], '{:.1f}', ' s')}")
    met = all(r.wall <= TARGET_WALL_S and r.peak / GIB <= TARGET_PEAK_GIB for r in runs)
    print(f"target: under {TARGET_WALL_S:.0f} s and {TARGET_PEAK_GIB:.0f} GiB: {'met' if met else 'MISSED'}")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
