"""Synthetic MassHealth-like state for CY2017-CY2022: every table of the data contract plus truth.json.

``generate(profile="tiny"|"small"|"state", seed=N, out=DIR)`` writes ``DIR/<table>.parquet`` and
``DIR/truth.json`` (planted effects and the ACO/APM adoption rate by construction). Members are
generated block by block so that memory stays bounded at state scale; the output directory
appears whole or not at all. See docs/synthetic_data.md.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from dsrip_lib.errors import ParameterError
from dsrip_lib.progress import Callback
from dsrip_lib.synth.config import Config, get_profile, profile_names
from dsrip_lib.synth.generator import run

__all__ = ["generate", "get_profile", "profile_names"]


def generate(profile: str, seed: int, out: Path, progress: Callback | None = None) -> Path:
    """Generate the synthetic state ``profile`` with random ``seed`` into directory ``out``.

    The tables are written into a temporary sibling directory that is renamed to ``out`` at the
    end, so a failed run leaves nothing behind. An existing ``out`` is replaced only if it holds
    an earlier generator output (a ``truth.json``).

    Parameters
    ----------
    profile
        ``tiny`` (a few thousand members), ``small`` (tens of thousands) or ``state`` (about
        1.5 million; member-level tables written as directories of part files).
    seed
        Seed of numpy's random generator: the same seed gives identical tables.
    out
        The data directory to create.
    progress
        Told of each member block and of the entity-level tables (:mod:`dsrip_lib.progress`).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    ParameterError
        Unknown profile, a negative seed, or ``out`` is an existing directory that is not an
        earlier generator output.
    """
    cfg = Config.load(profile)
    if not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"seed must be a non-negative integer, got {seed!r}")
    out = Path(out)
    if out.exists() and not (out / "truth.json").is_file():
        raise ParameterError(f"{out} exists and is not a synthetic data directory (no truth.json); "
                             "choose another --out or remove it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    try:
        tmp.mkdir()
        truth = run(cfg, seed, tmp, progress)
        (tmp / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")
        if out.exists():
            out.rename(old)
        tmp.rename(out)
    except BaseException:
        if old.exists() and not out.exists():
            old.rename(out)  # put the earlier output back
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return out
