"""``manifest.json``: what a run read, with what code, and how long each cell took."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import nbformat

from dsrip_lib.credentials import mask
from dsrip_lib.publishing.fonts import font_files
from dsrip_lib.run.parameters import RunParams

MANIFEST_FILE = "manifest.json"
PACKAGES = (
    "dsrip", "numpy", "pandas", "pyarrow", "scipy", "statsmodels", "duckdb", "ibis-framework", "sqlglot",
    "pandera", "pydantic", "pyyaml", "papermill", "nbconvert", "nbformat", "nbclient", "ipykernel",
    "weasyprint", "openpyxl", "matplotlib",
)  # fmt: skip


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def data_files(data_dir: Path) -> list[Path]:
    """Every file under the data directory (Parquet part files included), sorted."""
    return sorted(path for path in Path(data_dir).rglob("*") if path.is_file())


def _entry(path: Path, root: Path) -> dict:
    return {"path": _display_path(path, root), "sha256": sha256(path), "bytes": Path(path).stat().st_size}


def _fingerprint(entries: list[dict]) -> str:
    return hashlib.sha256(json.dumps([(item["path"], item["sha256"]) for item in entries]).encode()).hexdigest()


def data_fingerprint(data_inputs: list[Path], root: Path) -> str:
    """The ``data_fingerprint`` a run's manifest gets for these data inputs (without starting a record)."""
    return _fingerprint([_entry(path, root) for path in data_inputs])


def _display_path(path: Path, root: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(root.resolve())) if path.is_relative_to(root.resolve()) else str(path)


def _git(root: Path) -> dict:
    """Commit and dirty flag of the checkout (untracked files count as dirty); nulls outside git."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain"], capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def _versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _package_path(path: Path) -> str:
    """A file of an installed package, named from its package (``matplotlib/mpl-data/...``)."""
    import matplotlib

    return str(path.relative_to(Path(matplotlib.__file__).parent.parent))


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def report_record(
    notebook: Path, root: Path, nb: nbformat.NotebookNode, parameters: dict, staging: Path, name: str
) -> dict:
    """One report's entry: its notebook, injected parameters, output hashes and per-cell timings."""
    cells = []
    for index, cell in enumerate(nb.cells):
        timing = cell.metadata.get("papermill", {})
        if cell.cell_type == "code":
            cells.append(
                {
                    "index": index,
                    "id": cell.get("id"),
                    "start": timing.get("start_time"),
                    "end": timing.get("end_time"),
                    "duration_s": timing.get("duration"),
                }
            )
    outputs = sorted(path for path in staging.iterdir() if path.is_file() and path.name.startswith(f"{name}."))
    run = nb.metadata.get("papermill", {})
    return {
        "notebook": _display_path(notebook, root),
        "parameters": {
            **{k: v for k, v in parameters.items() if k not in ("output_dir", "stage_cache")},  # scratch paths
            "backend": mask(parameters["backend"]),
        },
        "start": run.get("start_time"),
        "end": run.get("end_time"),
        "duration_s": run.get("duration"),
        "outputs": {path.name: sha256(path) for path in outputs},
        "cells": cells,
    }


def _shown_validation(params: RunParams, validation: dict | None, data_dir: str) -> dict | None:
    """The validation entry, its summary naming the data directory as the footer does."""
    return validation and {**validation, "summary": validation["summary"].replace(str(params.data_dir), data_dir)}


@dataclass
class RunRecord:
    """The manifest under construction: started before any kernel, finished when all reports are staged."""

    body: dict
    reports: dict[str, dict] = field(default_factory=dict)
    new_validation: dict | None = None  # a validation this run made (not reused), kept once the run is published

    @classmethod
    def start(cls, params: RunParams, root: Path, data_inputs: list[Path], code_inputs: list[Path],
              validation: dict | None = None) -> RunRecord:
        """Record parameters, code versions and the SHA-256 of every input (hashed before execution).

        ``data_inputs`` (the data files and the program definition) also get one combined
        ``data_fingerprint``, printed on every page of the reports. ``validation`` is what the
        runner's one validation of the data directory found (None when no report reads it; it
        may also be added afterwards, :meth:`add_validation`).
        """

        data = [_entry(path, root) for path in data_inputs]
        data_dir = _display_path(params.data_dir, root)
        return cls(
            {
                "run_id": params.run_id,
                "parameters": {**params.model_dump(mode="json"), "backend": mask(params.backend)},
                "data_dir": data_dir,
                "program": _display_path(params.program_file(), root),
                "validation": _shown_validation(params, validation, data_dir),
                "inputs": data + [_entry(path, root) for path in dict.fromkeys(code_inputs)],
                "data_fingerprint": _fingerprint(data),
                "packages": _versions(),
                "fonts": [{"file": _package_path(path), "sha256": sha256(path)} for path in font_files()],
                "git": _git(root),
                "start": _now(),
            }
        )

    def add_validation(self, params: RunParams, validation: dict | None) -> None:
        """Record the runner's validation of the data directory, found while the inputs were hashed."""
        self.body["validation"] = _shown_validation(params, validation, self.body["data_dir"])

    def add_output(self, path: Path) -> None:
        """Record a file of the run directory that belongs to no one report (``index.html``) with its SHA-256."""
        self.body.setdefault("outputs", {})[Path(path).name] = sha256(path)

    def provenance(self) -> str:
        """One line for the foot of each report: code version, program, data and its fingerprint.

        No times, so identical runs still give identical pages.
        """
        git = self.body["git"]
        code = f"commit {git['commit'][:10]}" if git["commit"] else "no git commit"
        if git["dirty"]:
            code += " with uncommitted changes"
        return (
            f"dsrip {self.body['packages']['dsrip']}, {code}; run {self.body['run_id']}, program "
            f"{self.body['program']}, data {self.body['data_dir']} (fingerprint "
            f"{self.body['data_fingerprint'][:16]}; manifest.json lists the SHA-256 of each input)"
        )

    def finish(self, path: Path) -> None:
        """Write the manifest (end time, reports) to ``path``."""
        body = {**self.body, "end": _now(), "reports": self.reports}
        path.write_text(json.dumps(body, indent=2, allow_nan=False) + "\n", encoding="utf-8")
