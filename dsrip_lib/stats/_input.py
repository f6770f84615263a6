"""Checks on the long table a stratified two-sample test reads, with messages that say what is wrong."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dsrip_lib.errors import InputValidationError, ParameterError

ALTERNATIVES = ("two-sided", "greater", "less")


def check_choice(name: str, given: object, allowed: tuple[str, ...]) -> None:
    """Raise a ParameterError unless ``given`` is one of ``allowed``."""
    if given not in allowed:
        raise ParameterError(f"{name}={given!r} is not one of {', '.join(map(repr, allowed))}")


def _examples(mask: np.ndarray, index: pd.Index, k: int = 5) -> str:
    rows = index[np.flatnonzero(mask)[:k]].tolist()
    return f"{int(mask.sum())} row(s), e.g. index {rows}"


@dataclass(frozen=True)
class LongTable:
    """A validated long table as arrays: value, first-group flag, and integer codes."""

    values: np.ndarray  # float64
    is_first: np.ndarray  # bool
    stratum_codes: np.ndarray  # int64, codes into stratum_labels
    stratum_labels: pd.Index
    test_codes: np.ndarray  # int64, codes into test_labels
    test_labels: pd.Index
    first: object
    second: object


def read_long_table(
    data: pd.DataFrame,
    value: str,
    group: str,
    stratum: str,
    first: object,
    test: str | None = None,
) -> LongTable:
    """Validate ``data`` and turn it into arrays for the mean-score computation.

    Raises
    ------
    InputValidationError
        Empty table, a missing column, missing values, a non-numeric value column, a
        group column with other than two labels, or ``first`` not among them.
    """
    if not isinstance(data, pd.DataFrame):
        raise InputValidationError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    columns = [value, group, stratum] + ([test] if test is not None else [])
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise InputValidationError(f"data has no column(s) {missing}; it has {list(data.columns)}")
    if len(data) == 0:
        raise InputValidationError("data is empty: a test needs rows of both groups")
    for column in columns:
        null = data[column].isna().to_numpy()
        if null.any():
            raise InputValidationError(
                f"column {column!r} has missing values in {_examples(null, data.index)}; "
                "drop or impute them before testing"
            )
    if not (pd.api.types.is_numeric_dtype(data[value]) or pd.api.types.is_bool_dtype(data[value])):
        raise InputValidationError(f"column {value!r} must be numeric, it has dtype {data[value].dtype}")
    values = data[value].to_numpy(dtype=np.float64)
    infinite = ~np.isfinite(values)
    if infinite.any():
        raise InputValidationError(f"column {value!r} has infinite values in {_examples(infinite, data.index)}")

    group_codes, group_labels = pd.factorize(data[group], sort=True)
    if len(group_labels) > 2:
        raise InputValidationError(
            f"column {group!r} has {len(group_labels)} groups {list(group_labels)}; a two-sample test needs exactly two"
        )
    if first not in set(group_labels):
        raise InputValidationError(f"first={first!r} is not a label of column {group!r} (labels: {list(group_labels)})")
    if len(group_labels) < 2:
        raise InputValidationError(
            f"column {group!r} has only the group {first!r}: the other group is missing everywhere, nothing to compare"
        )
    first_code = list(group_labels).index(first)
    second = group_labels[1 - first_code]

    stratum_codes, stratum_labels = pd.factorize(data[stratum], sort=True)
    if test is None:
        test_codes, test_labels = np.zeros(len(data), dtype=np.int64), pd.Index([None])
    else:
        test_codes, test_labels = pd.factorize(data[test], sort=True)
    return LongTable(
        values=values,
        is_first=group_codes == first_code,
        stratum_codes=stratum_codes.astype(np.int64, copy=False),
        stratum_labels=stratum_labels,
        test_codes=test_codes.astype(np.int64, copy=False),
        test_labels=test_labels,
        first=first,
        second=second,
    )
