"""A whole report at state scale, as a user runs it: wall time, CPU time, peak memory.

Runs ``python -m dsrip_lib.cli run <report> --params params/runs/default.yaml
-p data_dir=<data> -p run_id=bench`` in a checkout of this repository (``--repo``, default this
one; the child gets ``PYTHONPATH=<repo>`` and ``cwd=<repo>``, and the script first checks that
``import dsrip_lib`` resolves inside it), ``--repeat`` times (default 3). Give ``--repo`` more
than once to compare checkouts: each round runs every checkout once, the order alternating from
round to round, and the ratios to the first checkout are taken per round (paired).

How each figure is measured, per run:

* wall time: ``time.perf_counter`` from starting the command to its exit: interpreter start-up,
  the one validation of the data directory, hashing every input for the manifest, executing
  the notebook in a Jupyter kernel (papermill), and exporting HTML, PDF and the workbook;
* CPU time: user + system time of the whole process tree, from ``os.wait4`` on the command.
  Linux adds the usage of every descendant a process has waited for (reaped) to that process's
  own children usage, so this includes the kernel process papermill starts (jupyter_client
  waits for it at shutdown) and every thread of DuckDB. As a check, the sampler below also
  records each descendant's own user + system time (``/proc/<pid>/stat``) as last seen; their
  sum is a lower bound, and the script warns if ``wait4`` reports less (a descendant left
  unreaped);
* peak memory: a thread samples the process tree every ``--interval`` seconds (default 0.2):
  it scans ``/proc/*/stat`` for the descendants of the command (by parent pid) and sums their
  resident sets (the ``rss`` field, pages in memory). The peak is the largest sum seen. Summing
  counts a page shared between processes (shared libraries) once per process, and a spike
  shorter than the interval can fall between samples; ``VmHWM`` of each process would not
  add up to a simultaneous total, and ``ru_maxrss`` is only the largest single process;
* other load: CPU time the whole machine spent busy (``/proc/stat``) minus this run's, divided
  by the wall time: how many cores other jobs kept busy meanwhile (this machine is shared).

After each run it reads ``reports/<run_id>/manifest.json`` of the checkout: the seconds of the
run's one validation (``validation.seconds``; absent in older runs, whose notebook validated the
data in a cell) and each notebook cell's ``duration_s``, labelled with the cell's first line of
source that is not an import or a comment (from the executed notebook), and prints where the
time went (median per cell over the repeats).

Every run validates the data (``-p revalidate=true`` where the checkout remembers validations), as
the first run on an extract does; ``--validation warm`` times runs that reuse the verdict of an
untimed first run on the same bytes instead (docs/running_reports.md).

    .venv/bin/python benchmarks/bench_report.py [--report NAME] [--repo DIR ...] [--data DIR] [--repeat N]
                                                [--validation cold|warm]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import GIB, ROOT, STATE_DATA, checkout, load_average, require_data, show

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# -- the process tree, from /proc ---------------------------------------------------------------------


def _processes() -> dict[int, tuple[int, float, int]]:
    """Every process: pid -> (parent pid, user + system seconds, resident bytes)."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:  # exited meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is fields[0]
        ppid, utime, stime, rss = int(fields[1]), int(fields[11]), int(fields[12]), int(fields[21])
        out[int(entry.name)] = (ppid, (utime + stime) / CLK_TCK, rss * PAGE)
    return out


def _tree(root: int, procs: dict[int, tuple[int, float, int]]) -> list[int]:
    """``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in procs:
            tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def _machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (not idle, not waiting for I/O)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().splitlines()[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def _role(pid: int, root: int) -> str:
    """``runner`` (the command), ``kernel`` (the Jupyter kernel papermill starts) or the program's name."""
    if pid == root:
        return "runner"
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    return "kernel" if any(b"ipykernel" in arg for arg in argv) else Path(argv[0].decode()).name


class TreeSampler(threading.Thread):
    """Samples the summed resident set of a process tree until stopped; keeps the peak and its parts."""

    def __init__(self, root: int, interval: float):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak = self.max_processes = 0
        self.peak_parts: dict[str, int] = {}  # resident bytes by process role at the peak
        self.cpu_seen: dict[int, float] = {}  # each descendant's user + system time as last seen
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            procs = _processes()
            tree = _tree(self.root, procs)
            total = sum(procs[pid][2] for pid in tree)
            if total > self.peak:
                self.peak, self.peak_parts = total, {}
                for pid in tree:
                    role = _role(pid, self.root)
                    self.peak_parts[role] = self.peak_parts.get(role, 0) + procs[pid][2]
            self.max_processes = max(self.max_processes, len(tree))
            self.cpu_seen.update({pid: procs[pid][1] for pid in tree})
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


# -- one run ------------------------------------------------------------------------------------------


@dataclass
class Run:
    wall: float
    cpu: float
    peak: int
    peak_parts: dict[str, int]  # resident bytes by process role at the peak
    processes: int
    other_cores: float
    load: float
    validation: float | None  # seconds, None when the manifest does not record it
    notebook: float | None  # papermill's execution time of the notebook
    code: str = ""  # the commit the manifest recorded, "+ changes" when the checkout was dirty
    cells: dict[int, tuple[float, str]] = field(default_factory=dict)  # index -> (seconds, first line)


def child_env(repo: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(repo)}


def check_checkout(repo: Path) -> str:
    """A one-line description of the checkout; exits unless ``import dsrip_lib`` resolves inside it."""
    found = subprocess.run([sys.executable, "-c", "import dsrip_lib; print(dsrip_lib.__file__)"],
                           cwd=repo, env=child_env(repo), capture_output=True, text=True)
    where = Path(found.stdout.strip()).resolve() if found.returncode == 0 else None
    if where is None or not where.is_relative_to(repo):
        sys.exit(f"{repo}: import dsrip_lib gives {where or found.stderr.strip()}, not this checkout")
    return f"{repo} (commit {checkout(repo)})"


def measure(cmd: list[str], repo: Path, interval: float) -> tuple[float, float, float, TreeSampler]:
    """Run ``cmd`` in ``repo`` (exit with its output if it fails): wall seconds, CPU seconds of the whole
    process tree (``os.wait4``), seconds the machine was busy meanwhile, and the tree's memory sampler."""
    with tempfile.TemporaryFile("w+") as log:
        busy0, start = _machine_busy_seconds(), time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=repo, env=child_env(repo), stdout=log, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid, interval)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall, busy = time.perf_counter() - start, _machine_busy_seconds() - busy0
        sampler.stop()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            log.seek(0)
            sys.exit(f"{' '.join(cmd)} (in {repo}) failed with exit code {code}:\n{log.read()[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, busy, sampler


def remembers_validations(repo: Path) -> bool:
    """Whether the checkout reuses an earlier run's validation of the same bytes (``revalidate``)."""
    return "revalidate" in (repo / "dsrip_lib" / "run" / "parameters.py").read_text(encoding="utf-8")


def run_once(repo: Path, data: Path, run_id: str, interval: float, report: str, warm: bool = False) -> Run:
    """One timed run. Cold (default): the data directory is validated, as on a first run on an extract;
    ``warm``: a checkout that remembers validations reuses the last run's verdict on the same bytes."""
    cmd = [sys.executable, "-m", "dsrip_lib.cli", "run", report, "--params", "params/runs/default.yaml",
           "-p", f"data_dir={data}", "-p", f"run_id={run_id}"]
    if not warm and remembers_validations(repo):
        cmd += ["-p", "revalidate=true"]
    load = load_average()
    wall, cpu, busy, sampler = measure(cmd, repo, interval)
    seen = sum(sampler.cpu_seen.values())
    if cpu < 0.95 * seen:
        print(f"  warning: wait4 reports {cpu:.1f} s CPU but the descendants were seen using {seen:.1f} s "
              "(a descendant was not waited for; CPU time is underestimated)")
    run = Run(wall, cpu, sampler.peak, sampler.peak_parts, sampler.max_processes, max(busy - cpu, 0.0) / wall, load,
              None, None)
    read_manifest(repo / "reports" / run_id, run, report)
    return run


def read_manifest(run_dir: Path, run: Run, name: str) -> None:
    """The validation time and per-cell durations of the run, labelled from the executed notebook."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    run.validation = (manifest.get("validation") or {}).get("seconds")
    git = manifest.get("git") or {}
    run.code = f"{(git.get('commit') or 'no commit')[:7]}{' + changes' if git.get('dirty') else ''}"
    report = manifest["reports"][name]
    run.notebook = report.get("duration_s")
    sources = json.loads((run_dir / f"{name}.ipynb").read_text())["cells"]
    for cell in report["cells"]:
        if cell.get("duration_s") is None:
            continue
        source = "".join(sources[cell["index"]]["source"]).strip()
        lines = [line.strip() for line in source.splitlines() if line.strip()]
        code = [line for line in lines if not line.startswith(("#", "import ", "from "))]
        first = (code or lines or ["(empty)"])[0]
        run.cells[cell["index"]] = (cell["duration_s"], first[:90])


# -- report -------------------------------------------------------------------------------------------


def print_run(label: str, run: Run) -> None:
    parts = " + ".join(f"{role} {size / GIB:.2f}" for role, size in sorted(run.peak_parts.items(), key=lambda x: -x[1]))
    print(f"  {label}: wall {run.wall:6.1f} s  CPU {run.cpu:6.1f} s  peak {run.peak / GIB:5.2f} GiB ({parts}; "
          f"{run.processes} processes at most)  other jobs {run.other_cores:.1f} cores busy  load {run.load:.1f}"
          f"  [{run.code}]", flush=True)


def print_summary(labels: list[str], runs: dict[str, list[Run]]) -> None:
    n = len(next(iter(runs.values())))
    print(f"\nsummary, median (min-max) of {n}:")
    for label in labels:
        rs = runs[label]
        print(f"  {label}: wall {show([r.wall for r in rs], '{:.1f}', ' s')}  CPU {show([r.cpu for r in rs], '{:.1f}', ' s')}"
              f"  peak {show([r.peak / GIB for r in rs], unit=' GiB')}"
              f"  other jobs {show([r.other_cores for r in rs], '{:.1f}', ' cores')}")
    base = runs[labels[0]]
    for label in labels[1:]:
        pairs = list(zip(runs[label], base))
        print(f"  {label} / {labels[0]}, per round:"
              f" wall {show([a.wall / b.wall for a, b in pairs])}"
              f"  CPU {show([a.cpu / b.cpu for a, b in pairs])}"
              f"  peak {show([a.peak / b.peak for a, b in pairs])}")


def print_where_time_goes(label: str, rs: list[Run], top: int) -> None:
    print(f"\nwhere the time goes, {label} (median (min-max) seconds of {len(rs)}):")
    if all(r.validation is not None for r in rs):
        print(f"  validation (the runner's one per run; 0 when reused): {show([r.validation for r in rs], '{:.1f}')}")
    else:
        print("  validation: not in the manifest (this version validates inside the notebook: see its cells)")
    if all(r.notebook is not None for r in rs):
        print(f"  notebook execution (papermill, kernel start included): {show([r.notebook for r in rs], '{:.1f}')}")
        rest = [r.wall - r.notebook - (r.validation or 0) for r in rs]
        print(f"  the rest (start-up, hashing the inputs, HTML/PDF/workbook export): {show(rest, '{:.1f}')}")
    indices = set.intersection(*(set(r.cells) for r in rs))
    medians = {i: statistics.median(r.cells[i][0] for r in rs) for i in indices}
    print(f"  top {top} notebook cells (executed notebook's index):")
    for i in sorted(indices, key=medians.get, reverse=True)[:top]:
        print(f"    cell {i:2d}  {show([r.cells[i][0] for r in rs], '{:.1f}'):>18s}  {rs[-1].cells[i][1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, action="append",
                        help="checkout to time (default this one); repeat to compare, ratios are to the first")
    parser.add_argument("--report", default="attribution", help="registered report to run (default attribution)")
    parser.add_argument("--data", type=Path, default=STATE_DATA)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each checkout (default 3)")
    parser.add_argument("--run-id", default="bench", help="run_id: the runs write reports/<run_id>/ in the checkout")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between memory samples")
    parser.add_argument("--top", type=int, default=8, help="slowest notebook cells to list")
    parser.add_argument("--validation", choices=("cold", "warm"), default="cold",
                        help="cold (default): every run validates the data, as the first run on an extract does; "
                             "warm: runs reuse the verdict of an untimed first run on the same bytes")
    args = parser.parse_args()

    data = require_data(args.data)
    repos = [r.resolve() for r in (args.repo or [ROOT])]
    labels = [chr(ord("A") + i) for i in range(len(repos))]
    print(f"the {args.report} report on {data}, repeats: {args.repeat} of each checkout, validation {args.validation}")
    for label, repo in zip(labels, repos):
        print(f"  {label}: {check_checkout(repo)}")
    warm = args.validation == "warm"
    for label, repo in zip(labels, repos):
        if warm and remembers_validations(repo):
            print(f"  {label}: a first run validates the data (not timed)", flush=True)
            run_once(repo, data, args.run_id, args.interval, args.report)
    runs: dict[str, list[Run]] = {label: [] for label in labels}
    for i in range(args.repeat):
        order = list(zip(labels, repos))
        for label, repo in order if i % 2 == 0 else order[::-1]:
            runs[label].append(run := run_once(repo, data, args.run_id, args.interval, args.report, warm))
            print_run(f"round {i + 1} {label}", run)
    for label in labels:
        if len(codes := {r.code for r in runs[label]}) > 1:
            print(f"  warning: checkout {label} changed between runs ({', '.join(sorted(codes))})")
    print_summary(labels, runs)
    for label in labels:
        print_where_time_goes(label, runs[label], args.top)


if __name__ == "__main__":
    main()
