"""Execute report notebooks with papermill and publish them into ``reports/<run_id>/``.

One command (``dsrip run`` or ``dsrip report``) is one run directory: every report it
executes is staged in a hidden directory under ``reports/`` and the whole directory is
renamed into place only when all of them succeeded (replacing an earlier run of the
same ``run_id``). Any failure removes the staging directory: nothing half-written.
See docs/running_reports.md.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import nbformat

from dsrip_lib.credentials import mask
from dsrip_lib.errors import ParameterError, ReportError
from dsrip_lib.inputs.validation import validate_dir
from dsrip_lib.publishing.publisher import read_published
from dsrip_lib.run import export, manifest, registry
from dsrip_lib.run.parameters import RunParams, load_run_params

KERNEL_NAME = "dsrip"
INJECTED_CELL_ID = "injected-parameters"


@dataclass(frozen=True)
class _Report:
    name: str
    notebook: Path
    contract_data: bool = True  # an unregistered notebook is assumed to read the contract tables


def run_notebook(notebook: str | Path, params_file: str | Path, overrides: dict[str, str] | None = None) -> Path:
    """Execute one report and publish it as ``reports/<run_id>/``.

    Parameters
    ----------
    notebook
        A registered report name (``attribution``) or the path of a notebook.
    params_file
        Run parameter file (YAML, docs/running_reports.md).
    overrides
        ``{"dotted.key": "value"}`` overriding entries of the file.

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
    params, root = load_run_params(params_file, overrides)
    return _run(params, Path(params_file), root, [_resolve_report(notebook, root)])[0]


def run_all(params_file: str | Path, overrides: dict[str, str] | None = None) -> list[Path]:
    """Execute every report the run selects (default: all registered) into one run directory.

    Returns the HTML file of each report; raises like :func:`run_notebook`.
    """
    params, root = load_run_params(params_file, overrides)
    names = params.selected_reports()
    if not names:
        raise ParameterError(f"{params_file}: no reports to run (none registered in dsrip_lib/run/registry.py)")
    reports = [_Report(n, root / registry.REPORTS[n].notebook, registry.REPORTS[n].contract_data) for n in names]
    return _run(params, Path(params_file), root, reports)


def _resolve_report(notebook: str | Path, root: Path) -> _Report:
    if str(notebook) in registry.REPORTS:
        spec = registry.REPORTS[str(notebook)]
        return _Report(str(notebook), root / spec.notebook, spec.contract_data)
    path = Path(notebook) if Path(notebook).exists() else root / notebook
    if path.suffix != ".ipynb" or not path.is_file():
        raise ParameterError(f"{notebook}: neither a registered report {sorted(registry.REPORTS)} nor a notebook file")
    for name, spec in registry.REPORTS.items():
        if (root / spec.notebook).resolve() == path.resolve():
            return _Report(name, path, spec.contract_data)
    return _Report(path.stem, path)


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


def _run(params: RunParams, params_file: Path, root: Path, reports: list[_Report]) -> list[Path]:
    for report in reports:  # everything checkable is checked before a kernel starts
        if not report.notebook.is_file():
            raise ParameterError(f"report {report.name}: notebook {report.notebook} not found")
        params.report_options(report.name)
    data_inputs = [*manifest.data_files(params.data_dir), params.program_file()]
    code_inputs = [params_file.resolve(), *(report.notebook for report in reports)]
    with ThreadPoolExecutor(max_workers=1) as pool:  # hashing the inputs (I/O, hashlib) overlaps validation
        started = pool.submit(manifest.RunRecord.start, params, root, data_inputs, code_inputs)
        try:
            validation = _validate_once(params) if any(report.contract_data for report in reports) else None
        except BaseException:
            started.cancel()
            raise
        record = started.result()
    record.add_validation(params, validation)

    params.reports_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".staging-{params.run_id}-", dir=params.reports_dir))
    staging.chmod(0o755)  # mkdtemp makes it private; the published run directory is for readers
    final = params.reports_dir / params.run_id
    jobs = [_Job.of(report, params, root, staging, final, record.provenance()) for report in reports]
    try:
        for job, report_record in zip(jobs, _execute_all(jobs, params.max_workers)):
            record.reports[job.name] = report_record
        record.finish(staging / manifest.MANIFEST_FILE)
        _promote(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [final / f"{report.name}.html" for report in reports]


def _validate_once(params: RunParams) -> dict:
    """Check the data directory against the contract, bounded by the run's program: once per run.

    Raises InputValidationError before any kernel starts; the notebooks then open the
    dataset without checking it again.
    """
    started = time.perf_counter()
    summary = validate_dir(params.data_dir, program=params.program_file())
    return {"program": params.program, "seconds": round(time.perf_counter() - started, 1), "summary": summary}


@dataclass(frozen=True)
class _Job:
    """Everything a worker process needs to execute and export one report (picklable)."""

    name: str
    notebook: Path
    parameters: dict
    timeout: int
    root: Path
    staging: Path
    final: Path
    provenance: str

    @classmethod
    def of(
        cls, report: _Report, params: RunParams, root: Path, staging: Path, final: Path, provenance: str
    ) -> _Job:
        parameters = {  # exactly registry.NOTEBOOK_PARAMETERS
            "run_id": params.run_id,
            "program": params.program,
            "data_dir": str(params.data_dir),
            "backend": params.backend,
            "options": params.report_options(report.name).model_dump(mode="json"),
            "output_dir": str(staging / f".{report.name}.published"),
            "data_validated": report.contract_data,
        }
        timeout = params.execution_timeout
        return cls(report.name, report.notebook, parameters, timeout, root, staging, final, provenance)


def _execute_all(jobs: list[_Job], max_workers: int) -> list[dict]:
    """Run the jobs, up to ``max_workers`` at a time in fresh (spawned) processes; the first failure stops the rest."""
    if len(jobs) == 1 or max_workers == 1:
        return [_execute_and_export(job) for job in jobs]
    pool = ProcessPoolExecutor(max_workers=min(max_workers, len(jobs)), mp_context=get_context("spawn"))
    try:
        futures = [pool.submit(_execute_and_export, job) for job in jobs]
        for future in as_completed(futures):
            future.result()  # raises the first failure
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _execute_and_export(job: _Job) -> dict:
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    sidecars = Path(job.parameters["output_dir"])
    executed = job.staging / f"{job.name}.ipynb"
    try:
        papermill.execute_notebook(
            str(job.notebook),
            str(executed),
            parameters=job.parameters,
            kernel_name=KERNEL_NAME,
            kernel_manager_class=_kernel_manager_class(),
            cwd=str(job.root),
            execution_timeout=job.timeout,
            report_mode=True,
            progress_bar=False,
            log_output=False,
        )
    except papermill.PapermillExecutionError as exc:
        index, problem = _source_index(job.notebook, exc.cell_index), f"{exc.ename}: {exc.evalue}"
        raise ReportError(_describe_failure(job, index, exc.source, problem)) from None
    except CellTimeoutError:
        index, source = _last_started_cell(executed)
        problem = f"timed out after {job.timeout} s (execution_timeout)"
        raise ReportError(_describe_failure(job, _source_index(job.notebook, index), source, problem)) from None
    except DeadKernelError as exc:
        raise ReportError(mask(f"report {job.name}: the kernel died: {exc}")) from None

    nb = nbformat.read(executed, as_version=4)
    _stabilise(nb, job.final / executed.name)
    nbformat.write(nb, executed)
    title = f"{job.name} — {job.parameters['run_id']}"
    try:
        html = export.export_html(nb, title, job.provenance)
        (job.staging / f"{job.name}.html").write_text(html, encoding="utf-8")
        export.export_pdf(html, job.staging / f"{job.name}.pdf")
    except ValueError as exc:
        raise ReportError(f"report {job.name}: {exc}") from None
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


def _describe_failure(job: _Job, index: int | None, source: str, problem: str) -> str:
    lines = source.strip().splitlines()
    excerpt = "\n".join(f"    {line}" for line in lines[:8]) + ("\n    ..." if len(lines) > 8 else "")
    where = f"cell {index} (counting from 0)" if index is not None else "a cell"
    return mask(
        f"report {job.name} ({job.notebook}): {where} failed: {problem}\n"
        f"{excerpt}\n"
        "no report directory was written"
    )


def _promote(staging: Path, final: Path) -> None:
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
