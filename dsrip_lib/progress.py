"""Progress of long commands: the library reports finished steps to an optional callback, the CLI shows them.

A library function that can run for more than a few seconds (``synth.generate``,
``inputs.validation.validate_dir``, the report runner) takes ``progress: Callback | None``
and calls it with a :class:`Step` each time a step finishes. It never prints. The CLI
passes a :class:`Display`: tqdm bars on a terminal, one plain line per step when the
output is piped or the ``CI`` environment variable is set (docs/running_reports.md).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class Step:
    """Step ``done`` of ``total`` of a task has finished.

    ``label`` says what it was; ``announce`` asks for a line of its own even beside a bar
    (a report that finished); ``seconds`` is how long the step took, when known.
    """

    task: str
    done: int
    total: int
    label: str = ""
    seconds: float | None = None
    announce: bool = False

    def line(self) -> str:
        """The step as one plain line: ``attribution [3/25] cell 3 (0.4 s)``."""
        took = f" ({self.seconds:.1f} s)" if self.seconds is not None else ""
        return f"{self.task} [{self.done}/{self.total}] {self.label}{took}".rstrip()


Callback = Callable[[Step], None]


def interactive(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal outside CI (then bars, else lines)."""
    return stream.isatty() and not os.environ.get("CI")


class Display:
    """Show steps on ``stream`` (default stderr): a tqdm bar per task on a terminal, else one line per step.

    Thread-safe (the runner calls it from the thread that forwards its workers' steps).
    Use as a context manager so that bars are closed however the command ends.
    """

    def __init__(self, stream: TextIO | None = None, bars: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.bars = interactive(self.stream) if bars is None else bars
        self._open: dict[str, object] = {}
        self._lock = threading.Lock()

    def __call__(self, step: Step) -> None:
        with self._lock:
            if not self.bars:
                print(step.line(), file=self.stream, flush=True)
                return
            from tqdm import tqdm

            bar = self._open.get(step.task)
            if bar is None:
                bar = self._open[step.task] = tqdm(total=step.total, desc=step.task, unit="step", file=self.stream,
                                                   leave=False, dynamic_ncols=True)
            bar.update(step.done - bar.n)
            bar.set_postfix_str(step.label, refresh=True)
            if step.announce:
                tqdm.write(step.line(), file=self.stream)
            if step.done >= step.total:
                self._open.pop(step.task).close()

    def close(self) -> None:
        with self._lock:
            for bar in self._open.values():
                bar.close()
            self._open.clear()

    def __enter__(self) -> Display:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
