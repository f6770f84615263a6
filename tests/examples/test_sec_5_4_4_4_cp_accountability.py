"""Sec 5.4.4.4: the CP/CSA DSRIP Accountability Score examples (100%, 0%, 5%, 80%, 90%).

MassHealth DSRIP Protocol, Sec 5.4.4.4 (lines 2250-2262): with a Minimum Quality Score
Threshold of 45% and an Excellence Quality Score Benchmark of 85% (BH CPs), a quality score
>= 85% scores 100%; < 45% with no improvement scores 0%; 40% after 30% scores 50% x 10% = 5%;
75% after 65% scores 75% + 50% x 10% = 80%. In a reporting-only period, 90% of reporting
requirements met earns 90%.
"""

from __future__ import annotations

import pandas as pd
import pytest
from pytest import approx

from dsrip_lib.accountability.cp import cp_accountability


def _score(program, current, previous=None, bp=4):
    rows = [("CP", "cp_bh", bp, current)] + ([("CP", "cp_bh", bp - 1, previous)] if previous is not None else [])
    quality = pd.DataFrame(rows, columns=["entity_id", "entity_type", "budget_period", "quality_score"])
    out = cp_accountability(quality, program)
    return out[out.budget_period == bp].iloc[0]


def test_example_thresholds_are_the_illustrative_defaults(program):
    stated = program.cp_accountability.illustrative_quality_score_thresholds["cp_bh"]
    assert (stated.minimum, stated.excellence) == approx((0.45, 0.85))


@pytest.mark.parametrize("quality", [0.85, 0.90, 1.0])
def test_at_or_above_excellence_scores_100_percent(program, quality):
    assert _score(program, quality, previous=0.95)["accountability_score"] == 1.0


def test_below_minimum_without_improvement_scores_0(program):
    assert _score(program, 0.40, previous=0.40)["accountability_score"] == 0.0
    assert _score(program, 0.40)["accountability_score"] == 0.0  # no previous score


def test_below_minimum_earns_half_the_improvement_5_percent(program):
    row = _score(program, 0.40, previous=0.30)
    assert row["improvement_over_self"] == approx(0.05)
    assert row["accountability_score"] == approx(0.05)


def test_between_thresholds_80_percent(program):
    assert _score(program, 0.75, previous=0.65)["accountability_score"] == approx(0.80)


def test_reporting_only_period_90_percent_of_requirements(program):
    quality = pd.DataFrame(columns=["entity_id", "entity_type", "budget_period", "quality_score"])
    reporting = pd.DataFrame({"entity_id": ["CP"], "entity_type": ["cp_bh"], "budget_period": [2],
                              "requirements": [10], "requirements_met": [9]})
    row = cp_accountability(quality, program, reporting=reporting).iloc[0]
    assert (row["basis"], row["accountability_score"]) == ("reporting", approx(0.90))
