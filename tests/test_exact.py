"""Exact comparisons against thresholds (dsrip_lib.exact)."""

from __future__ import annotations

from fractions import Fraction

import ibis
import pandas as pd
import pytest
from boundaries import check_boundary

from dsrip_lib.exact import above, at_least, cents, exact, share_above


def test_a_threshold_is_the_decimal_it_was_written_as():
    assert exact(0.2) == Fraction(1, 5) and exact(0.45) == Fraction(9, 20) and exact("0.035") == Fraction(7, 200)
    assert exact(3) == 3
    with pytest.raises(TypeError):
        exact(True)


@pytest.mark.parametrize("target", [0.25, 0.3, 0.35, 0.4, 0.45, 0.2, 0.0325])
def test_at_least_and_above_at_their_boundaries(target):
    check_boundary(lambda part, whole: at_least(part, whole, target), target, inclusive=True)
    check_boundary(lambda part, whole: above(part, whole, target), target, inclusive=False)


def _share_above_in_sql(part: int, whole: int, threshold: float) -> bool:
    t = ibis.memtable(pd.DataFrame({"part": [part], "whole": [whole]}), schema={"part": "int64", "whole": "int64"})
    return bool(t.select(x=share_above(t.part, t.whole, threshold)).execute().x.iloc[0])


@pytest.mark.parametrize("threshold", [0.2, 0.15, 0.123456])
def test_share_above_in_sql_at_its_boundary(threshold):
    check_boundary(lambda part, whole: _share_above_in_sql(part, whole, threshold), threshold, inclusive=False,
                   wholes=(5, 1_000, 99_999_999_999))


def test_cents_are_exact_where_float_sums_are_not():
    amounts = ibis.memtable(pd.DataFrame({"paid": [0.1, 0.2, 1.2]}))
    assert (0.1 + 0.2) / (0.1 + 0.2 + 1.2) > 0.2  # the float noise this rule removes
    total = cents(amounts.paid).sum().execute()
    assert total == 150
    assert _share_above_in_sql(30, 150, 0.2) is False
