"""Checks a stage runs on the frames it is handed: columns present, keys unique, values in range.

Each failure is one InputValidationError naming the table, the column, the rule, how many rows
break it and a few of them, so a caller sees what to fix and no stage computes half a result.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dsrip_lib.errors import InputValidationError
from dsrip_lib.inputs.problems import MAX_EXAMPLES, values_text


def require_columns(frame: pd.DataFrame, table: str, columns: Sequence[str]) -> None:
    """Raise unless ``frame`` has every one of ``columns``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputValidationError(f"{table}: missing column(s) {missing}; expected at least {list(columns)}")


def reject_rows(frame: pd.DataFrame, table: str, bad: pd.Series, column: str, rule: str,
                show: Sequence[str]) -> None:
    """Raise if any row is flagged in ``bad``, showing the ``show`` columns of a few of them."""
    bad = bad.fillna(True).astype(bool)
    if bad.any():
        rows = frame.loc[bad, list(show)].head(MAX_EXAMPLES)
        examples = "; ".join(values_text(rows.columns, row) for row in rows.itertuples(index=False))
        raise InputValidationError(
            f"{table}, column {column}: rule \"{rule}\": {int(bad.sum()):,} row(s), e.g. {examples}")


def require_unique(frame: pd.DataFrame, table: str, key: Sequence[str]) -> None:
    """Raise if two rows share ``key``."""
    reject_rows(frame, table, frame.duplicated(list(key), keep=False), ", ".join(key), "one row per key", key)


def require_in_range(frame: pd.DataFrame, table: str, column: str, low: float, high: float,
                     show: Sequence[str]) -> None:
    """Raise unless every value of ``column`` is a number in [low, high] (missing values fail)."""
    values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    reject_rows(frame, table, ~((values >= low) & (values <= high)), column,
                f"a number in [{low:g}, {high:g}]", [*show, column])


def require_positive(frame: pd.DataFrame, table: str, column: str, show: Sequence[str]) -> None:
    """Raise unless every value of ``column`` is a finite number > 0."""
    values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    reject_rows(frame, table, ~(np.isfinite(values) & (values > 0)), column, "a finite number > 0", [*show, column])


def require_finite(frame: pd.DataFrame, table: str, column: str, show: Sequence[str]) -> None:
    """Raise unless every value of ``column`` is a finite number."""
    values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    reject_rows(frame, table, ~np.isfinite(values), column, "a finite number", [*show, column])
