"""Execute report notebooks with papermill and publish them into ``reports/<run_id>/``.

One command (``dsrip run`` or ``dsrip report``) is one run directory: every report it
executes is staged in a hidden directory under ``reports/`` and the whole directory is
renamed into place only when all of them succeeded (replacing an earlier run of the
same ``run_id``). A failing report lets the others finish, then the run raises one
``ReportError`` naming every failure and removes the staging directory: nothing
half-written. ``dsrip sweep`` (:mod:`dsrip_lib.run.sweep`) stages several runs under one
directory with the same pieces. See docs/running_reports.md.
"""

from __future__ import annotations

import queue
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import nbformat

from dsrip_lib.credentials import mask
from dsrip_lib.errors import ParameterError, ReportError
from dsrip_lib.inputs.validation import validate_dir
from dsrip_lib.progress import Callback, Step
from dsrip_lib.publishing.publisher import read_published
from dsrip_lib.run import export, manifest, registry, validation_cache
from dsrip_lib.run.index import write_index
from dsrip_lib.run.parameters import RunParams, load_run_params, repo_root

KERNEL_NAME = "dsrip"
ENGINE_NAME = "dsrip"
INJECTED_CELL_ID = "injected-parameters"


@dataclass(frozen=True)
class Report:
    """A report a run executes: its name (the files' stem), notebook, whether it reads the contract tables
    and its relative cost (``registry.ReportSpec.cost``)."""

    name: str
    notebook: Path
    contract_data: bool = True  # an unregistered notebook is assumed to read the contract tables
    cost: int = 1


def run_notebook(notebook: str | Path, params_file: str | Path, overrides: dict[str, str] | None = None,
                 progress: Callback | None = None) -> Path:
    """Execute one report and publish it as ``reports/<run_id>/``.

    Parameters
    ----------
    notebook
        A registered report name (``attribution``) or the path of a notebook.
    params_file
        Run parameter file (YAML, docs/running_reports.md).
    overrides
        ``{"dotted.key": "value"}`` overriding entries of the file.
    progress
        Told of each table validated, each code cell executed and the report finished
        (:mod:`dsrip_lib.progress`).

    Returns
    -------
    Path
        The report's HTML file inside the run directory.

    Raises
    ------
    ParameterError
        Bad parameters; raised before any kernel starts.
    ReportError
        A cell failed or timed out; no run directory is written.
    """
    report = _resolve_report(notebook, repo_root(Path(params_file)))
    params, root = load_run_params(params_file, overrides, reports=[report.name])
    return _run(params, Path(params_file), root, [report], progress)[0]


def run_all(params_file: str | Path, overrides: dict[str, str] | None = None,
            progress: Callback | None = None) -> list[Path]:
    """Execute every report the run selects (default: all registered) into one run directory.

    Returns the HTML file of each report; raises like :func:`run_notebook`, after letting
    every report finish, with one ``ReportError`` naming each report that failed.
    """
    params, root = load_run_params(params_file, overrides)
    return _run(params, Path(params_file), root, selected_reports(params, params_file, root), progress)


def selected_reports(params: RunParams, params_file: str | Path, root: Path) -> list[Report]:
    """The registered reports a run selects, in order."""
    names = params.selected_reports()
    if not names:
        raise ParameterError(f"{params_file}: no reports to run (none registered in dsrip_lib/run/registry.py)")
    return [_registered(n, root) for n in names]


def _registered(name: str, root: Path) -> Report:
    spec = registry.REPORTS[name]
    return Report(name, root / spec.notebook, spec.contract_data, spec.cost)


def _resolve_report(notebook: str | Path, root: Path) -> Report:
    if str(notebook) in registry.REPORTS:
        return _registered(str(notebook), root)
    path = Path(notebook) if Path(notebook).exists() else root / notebook
    if path.suffix != ".ipynb" or not path.is_file():
        raise ParameterError(f"{notebook}: neither a registered report {sorted(registry.REPORTS)} nor a notebook file")
    for name, spec in registry.REPORTS.items():
        if (root / spec.notebook).resolve() == path.resolve():
            return Report(name, path, spec.contract_data, spec.cost)
    return Report(path.stem, path)


def _kernel_manager_class():
    """An async kernel manager whose ``dsrip`` kernel is this interpreter (so this venv).

    A registered kernel could point at another Python; this one cannot. ``PYTHONHASHSEED``
    is fixed so that set and dict-of-set orders, hence outputs, repeat from run to run.
    """
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from traitlets import default

    class RuntimeKernelSpecManager(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            if kernel_name != KERNEL_NAME:
                return super().get_kernel_spec(kernel_name)
            return KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name="dsrip (running interpreter)",
                language="python",
                env={"PYTHONHASHSEED": "0"},
                metadata={"supported_encryption": ["curve"]},  # ipykernel >= 7: encrypted local sockets
            )

    class RuntimeKernelManager(AsyncKernelManager):
        @default("transport_encryption")
        def _default_transport_encryption(self) -> str:
            return "auto"  # CurveZMQ keys for the kernel's sockets, as the spec declares support

        @default("kernel_spec_manager")
        def _default_kernel_spec_manager(self) -> KernelSpecManager:
            return RuntimeKernelSpecManager(data_dir=self.data_dir)

    return RuntimeKernelManager


def _run(params: RunParams, params_file: Path, root: Path, reports: list[Report],
         progress: Callback | None) -> list[Path]:
    check_reports(params, reports)
    record = start_record(params, params_file, root, reports, lambda p: validate_once(p, progress))
    final = params.reports_dir / params.run_id
    with staged(params.reports_dir, params.run_id) as staging, shared_stages() as cache:
        jobs = [Job.of(report, params, root, staging, final, record.provenance(), cache) for report in reports]
        finish_run_dir(staging, record, jobs, execute(jobs, params.max_workers, progress))
        promote(staging, final)
    remember_validation(params, record)
    return [final / f"{report.name}.html" for report in reports]


def check_reports(params: RunParams, reports: list[Report]) -> None:
    """Everything checkable before a kernel starts: each notebook exists, each report's options validate."""
    for report in reports:
        if not report.notebook.is_file():
            raise ParameterError(f"report {report.name}: notebook {report.notebook} not found")
        params.report_options(report.name)


def start_record(params: RunParams, params_file: Path, root: Path, reports: list[Report],
                 validate: Callable[[RunParams], dict]) -> manifest.RunRecord:
    """The run's manifest, started: every input hashed, then the data directory validated.

    ``validate`` runs only when a report reads the contract tables, and only when no earlier run
    under the same ``reports_dir`` passed the same bytes (:mod:`~dsrip_lib.run.validation_cache`:
    the hashes come first, so they decide); its InputValidationError stops the run before any
    kernel starts.
    """
    code_inputs = [params_file.resolve(), *(report.notebook for report in reports)]
    record = manifest.RunRecord.start(params, root, _data_inputs(params), code_inputs)
    if any(report.contract_data for report in reports):
        validation, new = validation_cache.validated(params, record.body["data_fingerprint"], validate)
        record.add_validation(params, validation)
        if new:
            record.new_validation = validation
    return record


def _data_inputs(params: RunParams) -> list[Path]:
    """What a run's ``data_fingerprint`` covers: every data file and the program definition."""
    return [*manifest.data_files(params.data_dir), params.program_file()]


def validate_run_data(params_file: str | Path, overrides: dict[str, str] | None = None,
                      progress: Callback | None = None) -> str:
    """Check the data directory a run parameter file names as its runs would (its program, its backend),
    and keep a pass for them: the first report run on the extract then reuses the verdict
    (:mod:`~dsrip_lib.run.validation_cache`). ``dsrip validate --params``.

    Returns the check's summary, or says whose verdict on the same bytes it reuses (``revalidate: true``
    checks again). Raises InputValidationError when the directory breaks the contract; nothing is kept.
    """
    params, root = load_run_params(params_file, overrides, reports=[])
    fingerprint = manifest.data_fingerprint(_data_inputs(params), root)
    validation, new = validation_cache.validated(params, fingerprint, lambda p: validate_once(p, progress))
    if new:
        validation_cache.remember(params, fingerprint, validation, by=validation_cache.VALIDATE_COMMAND)
        return validation["summary"]
    reused = validation["reused_from"]
    return (f"{validation['summary']}\n  (not checked again: {reused['run_id']} passed the same bytes, code and "
            f"packages at {reused['validated_at']}; -p revalidate=true checks again)")


def remember_validation(params: RunParams, record: manifest.RunRecord) -> None:
    """Keep the run's own validation for later runs on the same bytes, once the run is published."""
    if record.new_validation is not None:
        validation_cache.remember(params, record.body["data_fingerprint"], record.new_validation)


def validate_once(params: RunParams, progress: Callback | None = None) -> dict:
    """Check the data directory against the contract, bounded by the run's program: once per run.

    Raises InputValidationError before any kernel starts; the notebooks then open the
    dataset without checking it again.
    """
    started = time.perf_counter()
    summary = validate_dir(params.data_dir, program=params.program_file(), progress=progress, backend=params.backend)
    return {"program": params.program, "seconds": round(time.perf_counter() - started, 1), "summary": summary}


@contextmanager
def staged(reports_dir: Path, run_id: str) -> Iterator[Path]:
    """A hidden staging directory under ``reports_dir``, removed on exit (renamed away by :func:`promote` first)."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{run_id}-", dir=reports_dir))
    staging.chmod(0o755)  # mkdtemp makes it private; the published run directory is for readers
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def shared_stages() -> tempfile.TemporaryDirectory:
    """The run's cache of stages its reports share (:mod:`dsrip_lib.reports.stage_cache`), removed on exit."""
    return tempfile.TemporaryDirectory(prefix="dsrip-stages-")


def finish_run_dir(directory: Path, record: manifest.RunRecord, jobs: list[Job], records: list[dict]) -> None:
    """Write ``index.html`` and ``manifest.json`` of a staged run directory whose reports all succeeded."""
    for job, report_record in zip(jobs, records):
        record.reports[job.name] = report_record
    record.add_output(write_index(directory, record.body["run_id"], [job.name for job in jobs],
                                        record.provenance()))
    record.finish(directory / manifest.MANIFEST_FILE)


@dataclass(frozen=True)
class Job:
    """Everything a worker process needs to execute and export one report (picklable).

    ``staging`` is the directory its files are written to, ``final`` where they will be
    published; ``label`` names it in progress and failure messages. ``stage_cache`` is the run's
    directory of shared stages (:func:`shared_stages`).
    """

    name: str
    notebook: Path
    parameters: dict
    timeout: int
    root: Path
    staging: Path
    final: Path
    provenance: str
    label: str
    cost: int = 1

    @classmethod
    def of(cls, report: Report, params: RunParams, root: Path, staging: Path, final: Path, provenance: str,
           stage_cache: str | None = None, label: str | None = None) -> Job:
        parameters = {  # exactly registry.NOTEBOOK_PARAMETERS
            "run_id": params.run_id,
            "program": params.program,
            "data_dir": str(params.data_dir),
            "backend": params.backend,
            "options": params.report_options(report.name).model_dump(mode="json"),
            "output_dir": str(staging / f".{report.name}.published"),
            "data_validated": report.contract_data,
            "stage_cache": stage_cache,
        }
        return cls(report.name, report.notebook, parameters, params.execution_timeout, root, staging, final,
                   provenance, label or report.name, report.cost)


@dataclass(frozen=True)
class _Outcome:
    """What a worker sends back: the report's manifest entry, or why it failed; and how long it took."""

    record: dict | None
    failure: str | None
    seconds: float


def execute(jobs: list[Job], max_workers: int, progress: Callback | None = None) -> list[dict]:
    """Run the jobs, up to ``max_workers`` at a time in fresh (spawned) processes, the costliest started first
    (:func:`submission_order`); their manifest entries, in the jobs' order.

    Every job runs to its end even when another fails; then one ReportError names every
    failure (report, cell, error). ``progress`` hears each code cell of each report (forwarded
    from the workers through a queue) and each report finished, with its seconds.
    """
    failures: list[str] = []
    records: dict[int, dict] = {}
    unexpected: BaseException | None = None

    def finished(i: int, outcome: _Outcome | None, error: BaseException | None = None) -> None:
        nonlocal unexpected
        if outcome is not None and outcome.record is not None:
            records[i] = outcome.record
        else:
            failures.append(outcome.failure if outcome else f"report {jobs[i].label}: {type(error).__name__}: {error}")
            unexpected = unexpected or error
        if progress:
            seconds = outcome.seconds if outcome else None
            state = "finished" if i in records else "FAILED"
            progress(Step("reports", len(records) + len(failures), len(jobs), f"{jobs[i].label} {state}", seconds,
                          announce=True))

    if len(jobs) == 1 or max_workers == 1:
        events = _Direct(progress) if progress else None
        for i, job in enumerate(jobs):
            finished(i, _run_job(job, events))
    else:
        _execute_pooled(jobs, min(max_workers, len(jobs)), progress, finished)
    if failures:
        names = ", ".join(job.label for i, job in enumerate(jobs) if i not in records)
        raise ReportError(f"{len(failures)} of {len(jobs)} reports failed ({names}); no run directory was written "
                          "(a run is published whole or not at all: the reports that succeeded are not kept)\n\n"
                          + "\n\n".join(failures)) from unexpected
    return [records[i] for i in range(len(jobs))]


class _Direct:
    """The in-process stand-in for the workers' queue: a put is a call."""

    def __init__(self, progress: Callback) -> None:
        self.put = progress


def submission_order(jobs: list[Job]) -> list[int]:
    """Indices of ``jobs``, costliest first (``ReportSpec.cost``), ties in their order: a pool started this
    way does not end on a long report running alone."""
    return sorted(range(len(jobs)), key=lambda i: -jobs[i].cost)


def _execute_pooled(jobs: list[Job], workers: int, progress: Callback | None, finished: Callable) -> None:
    context = get_context("spawn")
    events = context.Queue() if progress else None
    forwarder = threading.Thread(target=_forward, args=(events, progress), daemon=True) if progress else None
    if forwarder:
        forwarder.start()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(events,))
    try:
        futures = {pool.submit(_pooled_job, jobs[i]): i for i in submission_order(jobs)}
        for future in as_completed(futures):
            error = future.exception()
            finished(futures[future], None if error else future.result(), error)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if forwarder:
            events.put(None)
            forwarder.join()


def _forward(events: queue.Queue, progress: Callback) -> None:
    """Hand the workers' steps to ``progress`` until the sentinel None."""
    for step in iter(events.get, None):
        progress(step)


_worker_events = None  # in a worker process: the parent's queue of progress steps (None: nobody listens)


def _init_worker(events) -> None:
    global _worker_events
    _worker_events = events


def _pooled_job(job: Job) -> _Outcome:
    return _run_job(job, _worker_events)


def _run_job(job: Job, events) -> _Outcome:
    started = time.perf_counter()
    try:
        record = _execute_and_export(job, events)
    except ReportError as exc:
        return _Outcome(None, str(exc), time.perf_counter() - started)
    return _Outcome(record, None, time.perf_counter() - started)


def _cell_engine() -> str:
    """Register (in this process) papermill's nbclient engine that also reports each finished code cell.

    ``execute_notebook(..., engine_name=ENGINE_NAME, on_cell=f)`` calls ``f(cell)`` after each
    cell; papermill's own progress bar stays off (the parent process shows progress).
    """
    from papermill.engines import NBClientEngine, papermill_engines

    class CellReportingEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, on_cell=None, **kwargs):
            if on_cell is not None:
                complete = nb_man.cell_complete

                def cell_complete(cell, cell_index=None, **more):
                    complete(cell, cell_index=cell_index, **more)
                    on_cell(cell, nb_man.nb)

                nb_man.cell_complete = cell_complete
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register(ENGINE_NAME, CellReportingEngine)
    return ENGINE_NAME


def _cell_reporter(job: Job, events) -> Callable | None:
    """``on_cell`` for the engine: puts a Step per finished code cell on ``events``."""
    if events is None:
        return None
    done = 0

    def on_cell(cell, nb) -> None:
        nonlocal done
        if cell.cell_type == "code":
            done += 1
            total = sum(c.cell_type == "code" for c in nb.cells)
            seconds = cell.metadata.get("papermill", {}).get("duration")
            events.put(Step(job.label, done, total, _cell_label(cell.source), seconds))

    return on_cell


def _cell_label(source: str, width: int = 50) -> str:
    """The first line of code of a cell, shortened: what a reader of the progress sees it doing."""
    line = next((line.strip() for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#")),
                "")
    return mask(line if len(line) <= width else line[: width - 3] + "...")


def _execute_and_export(job: Job, events=None) -> dict:
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    sidecars = Path(job.parameters["output_dir"])
    executed = job.staging / f"{job.name}.ipynb"
    try:
        papermill.execute_notebook(
            str(job.notebook),
            str(executed),
            parameters=job.parameters,
            engine_name=_cell_engine(),
            kernel_name=KERNEL_NAME,
            kernel_manager_class=_kernel_manager_class(),
            cwd=str(job.root),
            execution_timeout=job.timeout,
            report_mode=True,
            progress_bar=False,
            log_output=False,
            on_cell=_cell_reporter(job, events),
        )
    except papermill.PapermillExecutionError as exc:
        index, problem = _source_index(job.notebook, exc.cell_index), f"{exc.ename}: {exc.evalue}"
        raise ReportError(_describe_failure(job, index, exc.source, problem)) from None
    except CellTimeoutError:
        index, source = _last_started_cell(executed)
        problem = f"timed out after {job.timeout} s (execution_timeout)"
        raise ReportError(_describe_failure(job, _source_index(job.notebook, index), source, problem)) from None
    except DeadKernelError as exc:
        raise ReportError(mask(f"report {job.label}: the kernel died: {exc}")) from None

    nb = nbformat.read(executed, as_version=4)
    _stabilise(nb, job.final / executed.name)
    nbformat.write(nb, executed)
    title = f"{job.name} — {job.parameters['run_id']}"
    try:
        html = export.export_html(nb, title, job.provenance)
        (job.staging / f"{job.name}.html").write_text(html, encoding="utf-8")
        export.export_pdf(html, job.staging / f"{job.name}.pdf")
    except ValueError as exc:
        raise ReportError(f"report {job.label}: {exc}") from None
    tables, values = read_published(sidecars)
    export.write_workbook(tables, job.staging / f"{job.name}.xlsx", job.provenance)
    export.write_results(values, job.staging / f"{job.name}.results.json")
    shutil.rmtree(sidecars, ignore_errors=True)
    return manifest.report_record(job.notebook, job.root, nb, job.parameters, job.staging, job.name)


def _stabilise(nb: nbformat.NotebookNode, final_path: Path) -> None:
    """Remove what differs between identical runs: the injected cell's random id, the staging path."""
    for cell in nb.cells:
        if INJECTED_CELL_ID in cell.metadata.get("tags", []):
            cell.id = INJECTED_CELL_ID
    if "papermill" in nb.metadata:
        nb.metadata.papermill["output_path"] = str(final_path)


def _last_started_cell(executed: Path) -> tuple[int | None, str]:
    """Index and source of the last cell papermill started (the one running when it stopped)."""
    try:
        cells = nbformat.read(executed, as_version=4).cells
    except (OSError, ValueError):  # stopped before papermill saved the notebook
        return None, ""
    started = [i for i, cell in enumerate(cells) if cell.metadata.get("papermill", {}).get("start_time")]
    return (started[-1], cells[started[-1]].source) if started else (None, "")


def _source_index(notebook: Path, index: int | None) -> int | None:
    """An executed-notebook cell index as an index into the source notebook.

    papermill inserts its injected-parameters cell right after the cell tagged
    ``parameters`` (at the top when there is none).
    """
    if index is None:
        return None
    cells = nbformat.read(notebook, as_version=4).cells
    tagged = [i for i, cell in enumerate(cells) if "parameters" in cell.metadata.get("tags", [])]
    injected_at = tagged[0] + 1 if tagged else 0
    return index - 1 if index > injected_at else index


def _describe_failure(job: Job, index: int | None, source: str, problem: str) -> str:
    lines = source.strip().splitlines()
    excerpt = "\n".join(f"    {line}" for line in lines[:8]) + ("\n    ..." if len(lines) > 8 else "")
    where = f"cell {index} (counting from 0)" if index is not None else "a cell"
    return mask(
        f"report {job.label} ({job.notebook}): {where} failed: {problem}\n{excerpt}"
    )


def promote(staging: Path, final: Path) -> None:
    """Move the staged run into place, replacing an earlier run whole (two renames, no copying)."""
    replaced = final.with_name(f".replaced-{final.name}-{uuid.uuid4().hex[:8]}")
    if final.exists():
        final.rename(replaced)
    try:
        staging.rename(final)
    except OSError:
        if replaced.exists():
            replaced.rename(final)
        raise
    shutil.rmtree(replaced, ignore_errors=True)
