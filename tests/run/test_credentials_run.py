"""Issue: a password in a backend URL reached the terminal; no secret may reach any output of a run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dsrip_lib.credentials import PASSWORD_ENV

REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-Pa55"


def dsrip(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dsrip_lib.cli", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=600, env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})})


def leaks(result: subprocess.CompletedProcess, reports: Path) -> list[str]:
    """Where the secret appears: the captured output, or any file the run wrote."""
    found = [stream for stream in ("stdout", "stderr") if SECRET in getattr(result, stream)]
    if reports.exists():
        found += [str(p) for p in reports.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    return found


def run_file(tmp_path: Path, data_dir: Path) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"run_id": "creds", "data_dir": str(data_dir),
                                    "reports_dir": str(tmp_path / "reports")}))
    return path


def test_an_inline_password_is_refused_before_any_kernel_and_never_printed(tmp_path, tiny_data):
    result = dsrip("run", "attribution", "--params", str(run_file(tmp_path, tiny_data)),
                   "-p", f"backend=duckdb://user:{SECRET}@host/db")
    assert result.returncode == 2
    assert PASSWORD_ENV in result.stderr and "backend" in result.stderr
    assert leaks(result, tmp_path / "reports") == []
    assert not (tmp_path / "reports").exists()


@pytest.mark.slow
def test_a_run_with_the_password_in_the_environment_leaves_it_nowhere(tmp_path, tiny_data):
    result = dsrip("run", "attribution", "--params", str(run_file(tmp_path, tiny_data)), "-p", "backend=duckdb://",
                   env={PASSWORD_ENV: SECRET})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "reports" / "creds" / "attribution.html").is_file()
    assert leaks(result, tmp_path / "reports") == []
