"""Stage results shared by every report of one run, across the runner's worker processes.

The runner executes each report's notebook in its own kernel, so a stage that several reports
compose (the PMPM cells of one scan of the claims, the adoption pass, the ACO quality scores)
would be computed once per report: most of a state-scale run's CPU time. A :class:`StageCache`
is a directory the runner creates for the run and removes after it. The first kernel to ask for a
stage computes it while holding an exclusive lock on the stage's file and pickles the result
there; a kernel asking meanwhile waits on the lock, then reads the result instead of computing it
again. A pickle round trip is exact, so a report reads the same frames it would have computed.

A key names the stage and every option it depends on; the cache's scope adds the program
definition, the data directory and the backend, so one cache never answers for other inputs (a
``dsrip sweep`` shares one across its grid points). Pickles are read only from the directory the
runner created for this run. Stages form a tree (a stage may ask for the stages it is built from,
never the reverse), so the nested locks cannot deadlock.
"""

from __future__ import annotations

import fcntl
import hashlib
import pickle
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class StageCache:
    """A run's directory of computed stages, scoped to one program, data directory and backend."""

    directory: Path
    scope: str

    @classmethod
    def open(cls, directory: str | Path, *scope: str) -> StageCache:
        """The cache in ``directory`` (made by the runner) for the inputs that ``scope`` names."""
        path = Path(directory)
        if not path.is_dir():
            raise FileNotFoundError(f"stage cache directory {path} does not exist (the runner creates it per run)")
        return cls(path, hashlib.sha256("\0".join(scope).encode()).hexdigest())

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The stage ``key``'s result: read from the cache, or computed by ``compute`` and stored."""
        name = hashlib.sha256(f"{self.scope}\0{key!r}".encode()).hexdigest()[:40]
        result = self.directory / f"{name}.pickle"
        with open(self.directory / f"{name}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if compute raises
            if result.exists():
                return pickle.loads(result.read_bytes())
            value = compute()
            partial = result.with_suffix(".partial")
            partial.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
            partial.replace(result)
            return value
