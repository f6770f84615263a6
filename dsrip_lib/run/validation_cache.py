"""A passed validation, remembered by content: a later run on the same bytes does not check them again.

Checking a state's extract against the contract reads every claim line (validation is about a third
of the attribution report's time at state scale, docs/benchmarks.md). A run hashes every input for its
manifest anyway, so the runner keys a passed validation by what decides its verdict:

* the run's ``data_fingerprint`` (the SHA-256 of every data file and of the program definition);
* the resolved data directory (the summary names it);
* the SHA-256 of the library's source (every ``dsrip_lib`` module: a changed rule is a new key);
* the versions of the packages that read and check the files.

The verdict is kept under ``<reports_dir>/.validated/<key>.json`` once the run that made it is published.
Only passes are kept: a directory that breaks the contract is checked, and its problems printed, on
every run; a run whose reports fail keeps nothing. ``revalidate: true`` (a run
parameter) checks again regardless; deleting the directory forgets every verdict.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from dsrip_lib.run.parameters import RunParams

DIRECTORY = ".validated"
VALIDATE_COMMAND = "dsrip validate"  # who made a verdict kept by the command rather than by a run
CHECKING_PACKAGES = ("duckdb", "pyarrow", "ibis-framework", "sqlglot", "numpy", "pandas", "pyspark")


@cache
def library_fingerprint() -> str:
    """SHA-256 over every module of ``dsrip_lib`` (path and bytes), in path order."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def key(params: RunParams, data_fingerprint: str) -> str:
    """The verdict's key: the data and program bytes, the data directory, the checking code and packages."""
    parts = {
        "data_fingerprint": data_fingerprint,
        "data_dir": str(Path(params.data_dir).resolve()),
        "library": library_fingerprint(),
        "packages": {name: _version(name) for name in CHECKING_PACKAGES},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _path(params: RunParams, data_fingerprint: str) -> Path:
    return Path(params.reports_dir) / DIRECTORY / f"{key(params, data_fingerprint)}.json"


def recall(params: RunParams, data_fingerprint: str) -> dict | None:
    """The validation entry an earlier run recorded for these inputs, marked ``reused_from``; None if none."""
    path = _path(params, data_fingerprint)
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        return {"program": kept["program"], "seconds": 0.0, "summary": kept["summary"],
                "reused_from": {"run_id": kept["run_id"], "validated_at": kept["validated_at"],
                                "seconds": kept["seconds"]}}
    except (OSError, ValueError, KeyError, TypeError):  # absent, unreadable or incomplete: validate again
        return None


def remember(params: RunParams, data_fingerprint: str, validation: dict, by: str | None = None) -> None:
    """Keep a passed validation for later runs (written whole: a temporary file renamed into place);
    ``by`` names who made it (default the run, ``params.run_id``)."""
    path = _path(params, data_fingerprint)
    kept = {**validation, "run_id": by or params.run_id,
            "validated_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp") as tmp:
            json.dump(kept, tmp, indent=2)
        os.replace(tmp.name, path)
    except OSError:  # the run is published already: a verdict that cannot be kept is checked again next time
        return


def validated(params: RunParams, data_fingerprint: str,
              validate: Callable[[RunParams], dict]) -> tuple[dict, bool]:
    """The run's validation entry and whether it is new: an earlier run's verdict on the same bytes, else
    ``validate(params)`` (which raises on a directory breaking the contract). The runner
    :func:`remember` s a new one once the run is published, so a failed run leaves nothing behind."""
    if not params.revalidate:
        reused = recall(params, data_fingerprint)
        if reused is not None:
            return reused, False
    return validate(params), True
