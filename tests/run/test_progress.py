"""Progress of long commands: one plain line per step when piped or in CI, tqdm bars on a terminal."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dsrip_lib.inputs.tables import tables
from dsrip_lib.progress import Display, Step, interactive
from dsrip_lib.synth import get_profile

REPO = Path(__file__).resolve().parents[2]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The command with stdout and stderr piped (so not a terminal)."""
    return subprocess.run([sys.executable, "-m", "dsrip_lib.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}, timeout=300, cwd=REPO)


def step_lines(stderr: str, task: str) -> list[tuple[int, int, str]]:
    return [(int(m[1]), int(m[2]), m[3]) for m in re.finditer(rf"^{task} \[(\d+)/(\d+)\] (.*)$", stderr, re.M)]


def test_a_terminal_gets_bars_unless_ci_is_set(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert interactive(Terminal()) and not interactive(io.StringIO())
    monkeypatch.setenv("CI", "true")
    assert not interactive(Terminal())


def test_piped_display_prints_one_line_per_step():
    out = io.StringIO()
    with Display(out) as show:
        show(Step("validate", 1, 2, "members.parquet", 0.04))
        show(Step("validate", 2, 2, "cross-row rules"))
    assert out.getvalue() == "validate [1/2] members.parquet (0.0 s)\nvalidate [2/2] cross-row rules\n"


def test_terminal_display_draws_a_bar_and_announces_finished_reports(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    out = Terminal()
    with Display(out) as show:
        assert show.bars
        show(Step("attribution", 1, 3, "ctx = open_report(...)", 0.5))
        show(Step("reports", 1, 2, "attribution finished", 12.5, announce=True))
    text = out.getvalue()
    assert "attribution:  33%" in text and "\r" in text  # a tqdm bar redrawn in place
    assert "reports [1/2] attribution finished (12.5 s)\n" in text


def test_synth_piped_prints_a_line_per_block(tmp_path):
    result = cli("synth", "--profile", "tiny", "--seed", "3", "--out", str(tmp_path / "tiny"))
    assert result.returncode == 0, result.stderr
    steps = step_lines(result.stderr, "synth")
    blocks = get_profile("tiny").n_blocks
    assert [(done, total) for done, total, _ in steps] == [(i, blocks + 1) for i in range(1, blocks + 2)]
    assert steps[-1][2].startswith("entity-level tables") and "\r" not in result.stderr


def test_validate_piped_prints_a_line_per_table(tiny_data):
    result = cli("validate", "--data", str(tiny_data), env={"CI": "true"})
    assert result.returncode == 0, result.stderr
    steps = step_lines(result.stderr, "validate")
    names = list(tables("masshealth_dsrip"))
    assert len(steps) == len(names) + 1
    assert [re.sub(r"\.(parquet|csv)/?$", "", label.split()[0]) for _, _, label in steps[:-1]] == names
    assert steps[-1][:2] == (len(names) + 1, len(names) + 1) and steps[-1][2].startswith("cross-row rules")


@pytest.mark.parametrize("command", ["synth", "validate"])
def test_a_refused_command_prints_no_progress(tmp_path, command):
    args = ["--profile", "nosuch", "--out", str(tmp_path / "x")] if command == "synth" else ["--data", str(tmp_path / "missing")]
    result = cli(command, *args)
    assert result.returncode == 2 and f"{command} [" not in result.stderr
