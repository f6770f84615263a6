"""Installments: dates by schedule, BP 5 first half only, exact cents (dsrip_lib.payments.installments)."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
import pytest

from dsrip_lib.errors import ParameterError
from dsrip_lib.payments.installments import installment_dates, schedule_installments, withheld_cents


def test_quarterly_and_biannual_dates(program):
    assert installment_dates(program, "aco", 1, "quarterly") == tuple(dt.date(2018, m, 1) for m in (1, 4, 7, 10))
    assert installment_dates(program, "aco", 0, "quarterly") == (dt.date(2017, 7, 1), dt.date(2017, 10, 1))
    # BP 5: only the first half, so two quarterly and one bi-annual installment (Sec 4.4.1, 4.5.2)
    assert installment_dates(program, "aco", 5, "quarterly") == (dt.date(2022, 1, 1), dt.date(2022, 4, 1))
    assert installment_dates(program, "cp", 5, "biannual") == (dt.date(2022, 1, 1),)
    # CP BP 1 is nine months (Apr-Dec 2018)
    assert installment_dates(program, "cp", 1, "biannual") == (dt.date(2018, 4, 1), dt.date(2018, 10, 1))
    with pytest.raises(ParameterError, match="schedule"):
        installment_dates(program, "aco", 1, "weekly")


def test_bp5_pays_twice_per_installment(program):
    # Sec 4.4.1: $100 of non-at-risk BP 5 funds is two payments of about $50, not four of $25
    rows = pd.DataFrame({"entity_id": ["A"], "sub_stream": ["x"], "budget_period": [5], "calendar": ["aco"],
                         "schedule": ["quarterly"], "at_risk_share": [0.0], "allotted_cents": [10_000]})
    out = schedule_installments(rows, program)
    assert out["paid_cents"].tolist() == [5_000, 5_000]


@pytest.mark.parametrize("cents,share", [(1, 0.05), (10_001, 0.15), (99_999_999_999, 0.3), (7, 0.5), (0, 0.2),
                                         (333_333, 0.0)])
def test_installments_sum_exactly_to_awkward_amounts(program, cents, share):
    rows = pd.DataFrame({"entity_id": ["A"], "sub_stream": ["x"], "budget_period": [2], "calendar": ["aco"],
                         "schedule": ["quarterly"], "at_risk_share": [share], "allotted_cents": [cents]})
    out = schedule_installments(rows, program)
    assert len(out) == 4 and out["allotted_cents"].sum() == cents
    assert out["withheld_cents"].sum() == withheld_cents(np.array([cents]), np.array([share]))[0]
    assert out["paid_cents"].max() - out["paid_cents"].min() <= 1  # roughly equal, the remainder first
    assert (out[["paid_cents", "withheld_cents"]] >= 0).all().all()


def test_withheld_share_is_exact_at_half_cents():
    # 0.15 x 10 cents = 1.5 cents: half up, whatever 0.15's binary float is
    assert withheld_cents(np.array([10, 30, 1]), np.array([0.15, 0.05, 0.5])).tolist() == [2, 2, 1]


def test_random_allotments_sum_exactly(program):
    rng = random.Random(11)
    n = 300
    rows = pd.DataFrame({
        "entity_id": [f"E{i}" for i in range(n)], "sub_stream": "x",
        "budget_period": [rng.randint(0, 5) for _ in range(n)],
        "calendar": [rng.choice(["aco", "cp"]) for _ in range(n)],
        "schedule": [rng.choice(["quarterly", "biannual"]) for _ in range(n)],
        "at_risk_share": [rng.choice([0, 0.05, 0.15, 0.3, 0.4, 0.5]) for _ in range(n)],
        "allotted_cents": [rng.randint(0, 10**11) for _ in range(n)]})
    out = schedule_installments(rows, program)
    sums = out.groupby("entity_id")[["allotted_cents"]].sum()["allotted_cents"]
    assert (sums.reindex(rows["entity_id"]).to_numpy() == rows["allotted_cents"].to_numpy()).all()
    shuffled = schedule_installments(rows.sample(frac=1, random_state=1), program)
    key = ["entity_id", "installment"]
    pd.testing.assert_frame_equal(out.sort_values(key, ignore_index=True),
                                  shuffled.sort_values(key, ignore_index=True)[out.columns])
