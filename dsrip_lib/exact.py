"""Exact pass/fail comparisons: a result is decided by the numbers, never by floating-point noise.

The rule for every threshold in the suite (rates against targets, shares of spending against
a percentage, savings against a minimum savings rate, scores against a cut-off):

* a threshold from the program definition is the decimal it was written as (``0.2`` is
  exactly 1/5, not the nearest binary float): :func:`exact`;
* counts compare as exact fractions (:func:`at_least`, :func:`above`);
* money compares in whole cents (:func:`cents`), and a share of money as an integer
  cross-multiplication (:func:`share_above`), so a member whose APM spending is 20.00% of
  their spending to the cent is not "more than 20%" because a float sum came out high.

Float sums on the engine are exact decimal sums (:func:`exact_sum`), so that a parallel engine's
summation order cannot change a published number between two runs.

Money is split in whole cents by :func:`allocate_cents` (largest remainder), so the parts of an
allotment, a pool or a recoupment always add up to it to the cent.

docs/methodology/exact_comparisons.md states the rule; tests/boundaries.py checks each use at
its boundary.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from decimal import Decimal
from fractions import Fraction

import ibis
import ibis.expr.types as ir
import numpy as np

Number = int | float | str | Decimal | Fraction


def exact(value: Number) -> Fraction:
    """The exact value of a threshold as written: a float by its shortest decimal form (0.2 -> 1/5)."""
    if isinstance(value, bool):
        raise TypeError("a threshold must be a number, not a boolean")
    if isinstance(value, float):
        return Fraction(repr(value))
    return Fraction(value)


def at_least(numerator: int, denominator: int, threshold: Number) -> bool:
    """``numerator / denominator >= threshold``, exactly (a rate meets its target)."""
    return Fraction(int(numerator), int(denominator)) >= exact(threshold)


def above(numerator: int, denominator: int, threshold: Number) -> bool:
    """``numerator / denominator > threshold``, exactly ("more than" a threshold)."""
    return Fraction(int(numerator), int(denominator)) > exact(threshold)


def cents(dollars: ir.NumericValue) -> ir.IntegerValue:
    """A dollar amount as whole cents (int64): amounts in the data are exact to the cent."""
    return (dollars * 100).round().cast("int64")


SUM_TYPE = "decimal(38, 9)"  # exact to a billionth of a dollar (or member-month) up to 10^29


def exact_sum(values: ir.NumericValue) -> ir.FloatingScalar:
    """The sum of float values on the engine, the same on every run.

    A float sum depends on the order its terms are added in, which a parallel engine (DuckDB,
    Spark) changes from run to run: published PMPMs then differed in their last bits between two
    runs of the same data. Each term is rounded to ``SUM_TYPE`` and summed exactly as a decimal,
    then returned as a float: one order-free result.
    """
    return values.cast(SUM_TYPE).sum().cast("float64")


def share_above(part_cents: ir.IntegerValue, whole_cents: ir.IntegerValue, threshold: Number) -> ir.BooleanValue:
    """``part / whole > threshold`` for amounts in cents, by integer cross-multiplication.

    With ``threshold = p / q``: ``part * q > whole * p``. int64 holds the products while
    ``whole * q`` stays below 9.2e18 (e.g. $1 billion of spending and a threshold of up to
    six decimal places).
    """
    ratio = exact(threshold)
    return part_cents * ibis.literal(ratio.denominator, type="int64") > whole_cents * ibis.literal(
        ratio.numerator, type="int64")


def allocate_cents(total_cents: int, weights: Sequence[Number], keys: Sequence[Hashable] | None = None) -> np.ndarray:
    """Split ``total_cents`` in proportion to ``weights``, in whole cents that add up to the total.

    Largest-remainder (Hamilton) rounding on exact fractions: each part gets the floor of its
    exact share, and the cents left over go one each to the largest remainders; equal
    remainders go to the smaller key (default: the position), so row order never decides when
    keys are given.

    Parameters
    ----------
    total_cents : int
        The amount to split, in cents (not negative).
    weights : sequence of numbers
        Non-negative weights (floats are read as the decimal they were written as, :func:`exact`).
    keys : sequence, optional
        A sortable tie-break key per weight (e.g. the entity id).

    Returns
    -------
    ndarray of int64
        Cents per weight; sums to ``total_cents``. All zeros when ``total_cents`` is 0.

    Raises
    ------
    ValueError
        A negative total or weight, keys of another length, or a non-zero total with weights
        that are all zero (the money would have nowhere to go).
    """
    total_cents = int(total_cents)
    fractions = [exact(w) for w in weights]
    if keys is not None and len(keys) != len(fractions):
        raise ValueError(f"allocate_cents: {len(keys)} keys for {len(fractions)} weights")
    if total_cents < 0 or any(f < 0 for f in fractions):
        raise ValueError("allocate_cents: the total and every weight must be non-negative")
    out = np.zeros(len(fractions), dtype=np.int64)
    if total_cents == 0:
        return out
    weight_sum = sum(fractions, Fraction(0))
    if weight_sum == 0:
        raise ValueError(f"allocate_cents: {total_cents} cents to split but every weight is zero")
    shares = [total_cents * f / weight_sum for f in fractions]
    out[:] = [math.floor(s) for s in shares]
    ties = list(range(len(shares))) if keys is None else list(keys)
    order = sorted(range(len(shares)), key=lambda i: (-(shares[i] - math.floor(shares[i])), ties[i]))
    for i in order[:total_cents - int(out.sum())]:
        out[i] += 1
    return out


def split_evenly(total_cents: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Split each ``total_cents[i]`` into ``parts[i]`` near-equal whole-cent parts, vectorised.

    The equal-weight case of :func:`allocate_cents` for many totals at once: every part gets
    ``total // parts`` and the first ``total % parts`` parts one cent more, so the parts add up
    to the total exactly. Returns the parts flattened in order (total 0's parts first).

    Raises
    ------
    ValueError
        A negative total or a count of parts below 1.
    """
    total_cents, parts = np.asarray(total_cents, dtype=np.int64), np.asarray(parts, dtype=np.int64)
    if (total_cents < 0).any() or (parts < 1).any():
        raise ValueError("split_evenly: totals must be >= 0 and parts >= 1")
    base, extra = np.repeat(total_cents // parts, parts), np.repeat(total_cents % parts, parts)
    position = np.arange(int(parts.sum())) - np.repeat(np.cumsum(parts) - parts, parts)
    return base + (position < extra)
