"""Exact comparisons against thresholds (dsrip_lib.exact)."""

from __future__ import annotations

from fractions import Fraction

import ibis
import pandas as pd
import pytest
from boundaries import check_boundary

from dsrip_lib.exact import above, allocate_cents, at_least, cents, exact, share_above


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


def test_allocate_cents_adds_up_to_the_cent_with_largest_remainders():
    assert allocate_cents(100, [1, 1, 1]).tolist() == [34, 33, 33]
    assert allocate_cents(100, [1, 1, 1], keys=["c", "a", "b"]).tolist() == [33, 34, 33]  # tie to the smaller key
    assert allocate_cents(1001, [0.1, 0.2, 0.7]).tolist() == [100, 200, 701]  # exact decimals: 0.7 has the .7
    assert allocate_cents(0, [0, 0]).tolist() == [0, 0]
    assert allocate_cents(7, [0, 3]).tolist() == [0, 7]
    rng = __import__("random").Random(7)
    for _ in range(200):
        weights = [rng.choice([0, rng.random(), rng.randint(1, 9)]) for _ in range(rng.randint(1, 12))] + [1]
        total = rng.randint(0, 10**9)
        parts = allocate_cents(total, weights)
        assert parts.sum() == total and (parts >= 0).all()
        # each part is within one cent of its exact share
        share = [Fraction(total) * exact(w) / sum(map(exact, weights)) for w in weights]
        assert all(abs(p - s) < 1 for p, s in zip(parts.tolist(), share))


def test_allocate_cents_refuses_money_with_nowhere_to_go():
    with pytest.raises(ValueError, match="every weight is zero"):
        allocate_cents(5, [0, 0])
    with pytest.raises(ValueError, match="non-negative"):
        allocate_cents(5, [1, -1])
    with pytest.raises(ValueError, match="keys"):
        allocate_cents(5, [1, 1], keys=["a"])


def test_split_evenly_is_allocate_cents_with_equal_weights():
    from dsrip_lib.exact import split_evenly
    rng = __import__("random").Random(3)
    totals = [0, 1, 3, 10_000_01, 99_999_999_997] + [rng.randint(0, 10**10) for _ in range(50)]
    parts = [1, 4, 4, 3, 7] + [rng.randint(1, 12) for _ in range(50)]
    flat, start = split_evenly(totals, parts).tolist(), 0
    for total, n in zip(totals, parts):
        assert flat[start:start + n] == allocate_cents(total, [1] * n).tolist()
        start += n
    with pytest.raises(ValueError):
        split_evenly([5], [0])
