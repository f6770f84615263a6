"""Exact pass/fail comparisons: a result is decided by the numbers, never by floating-point noise.

The rule for every threshold in the suite (rates against targets, shares of spending against
a percentage, savings against a minimum savings rate, scores against a cut-off):

* a threshold from the program definition is the decimal it was written as (``0.2`` is
  exactly 1/5, not the nearest binary float): :func:`exact`;
* counts compare as exact fractions (:func:`at_least`, :func:`above`);
* money compares in whole cents (:func:`cents`), and a share of money as an integer
  cross-multiplication (:func:`share_above`), so a member whose APM spending is 20.00% of
  their spending to the cent is not "more than 20%" because a float sum came out high.

docs/methodology/exact_comparisons.md states the rule; tests/boundaries.py checks each use at
its boundary.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import ibis
import ibis.expr.types as ir

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


def share_above(part_cents: ir.IntegerValue, whole_cents: ir.IntegerValue, threshold: Number) -> ir.BooleanValue:
    """``part / whole > threshold`` for amounts in cents, by integer cross-multiplication.

    With ``threshold = p / q``: ``part * q > whole * p``. int64 holds the products while
    ``whole * q`` stays below 9.2e18 (e.g. $1 billion of spending and a threshold of up to
    six decimal places).
    """
    ratio = exact(threshold)
    return part_cents * ibis.literal(ratio.denominator, type="int64") > whole_cents * ibis.literal(
        ratio.numerator, type="int64")
