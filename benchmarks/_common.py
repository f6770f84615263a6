"""Helpers shared by the benchmarks (not a benchmark itself: `make bench` runs only bench_*.py).

Nothing here imports dsrip_lib, so a driver can time another checkout of the code.
"""

from __future__ import annotations

import statistics
import time
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATE_DATA = ROOT / "data" / "synthetic" / "state"
GIB = 2**30


def require_data(data: Path) -> Path:
    """``data`` made absolute, or exit with the command that generates it."""
    data = data.resolve()
    if not (data / "truth.json").is_file():
        sys.exit(f"{data}: no synthetic state here; generate it (a few minutes for the state profile) with\n"
                 f"  .venv/bin/dsrip synth --profile state --seed 2017 --out {data}")
    return data


def timed(fn):
    """Wall seconds of ``fn()`` and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """(min, median, max) of repeated measurements."""
    return min(values), statistics.median(values), max(values)


def show(values: Sequence[float], fmt: str = "{:.2f}", unit: str = "") -> str:
    """``median (min-max)``, e.g. ``61.2 s (59.8-64.0)``: a median over repeats and its spread."""
    lo, mid, hi = spread(values)
    return f"{fmt.format(mid)}{unit} ({fmt.format(lo)}-{fmt.format(hi)})"


def own_peak_rss() -> int:
    """This process's own peak resident set (``VmHWM``), in bytes.

    Not ``ru_maxrss`` from ``wait4``: Linux carries the parent's high-water mark into a
    child through fork and exec, so a large parent would inflate it.
    """
    return _status_kb("VmHWM") * 1024


def own_rss() -> int:
    """This process's current resident set (``VmRSS``), in bytes."""
    return _status_kb("VmRSS") * 1024


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/self/status")


def load_average() -> float:
    """The 1-minute load average (runnable processes, all users) on this machine."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def checkout(repo: Path) -> str:
    """The commit of a checkout, and whether tracked files differ from it: ``8e6effb`` or ``a7e74fe + changes``."""

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short=7", "HEAD") or "no git commit"
    return commit + (" + uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def run_worker(script: str, *args: str) -> dict:
    """Run ``script --worker ARGS`` in a fresh interpreter; its last stdout line is a JSON record."""
    import json

    proc = subprocess.run([sys.executable, script, "--worker", *args], stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{args[0]} worker failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def same_frames(ours: Path, reference: Path, keys: Sequence[str], unit: str) -> tuple[bool, str]:
    """Whether two workers' Parquet results hold the same rows (sorted by ``keys``, floats to 1e-9)."""
    import pandas as pd

    a, b = (pd.read_parquet(f) for f in (ours, reference))
    b = b[list(a.columns)]
    a, b = (x.sort_values(list(keys), ignore_index=True, na_position="first") for x in (a, b))
    try:
        pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9)
    except AssertionError as exc:
        return False, str(exc).splitlines()[0]
    return True, f"{len(a):,} {unit}"
