"""Exhibits 41 and 42: CP/CSA achievement points and a domain score (Sec 5.4.4.1-5.4.4.2).

MassHealth DSRIP Protocol, Sec 5.4.4.1, Exhibit 41: threshold 45%, benchmark 80%; scores 25%,
90%, 58% earn 0, 1 and 1 x (58% - 45%) / (80% - 45%) = 0.37 points. Sec 5.4.4.2, Exhibit 42:
measures A (45/80, 58%: 0.37), B (40/75, 60%: 0.57), C (41/85, 79%: 0.86) average 0.60.
Points are published to two decimals; the code keeps them unrounded (13/35, 4/7, 19/22).
"""

from __future__ import annotations

import pandas as pd
import pytest
from pytest import approx

from dsrip_lib.accountability.cp import cp_domain_scores, cp_measure_points

BP = 3


@pytest.fixture
def exhibit(example):
    return example("exhibit_41_42_cp_points")


def _inputs(exhibit):
    results = pd.DataFrame({"entity_id": "CP1", "budget_period": BP, "measure_id": exhibit["measure_id"],
                            "numerator": float("nan"), "denominator": float("nan"),
                            "rate": exhibit["performance_score"]})
    entities = pd.DataFrame({"entity_id": ["CP1"], "entity_type": ["cp_bh"]})
    slate = pd.DataFrame({"entity_type": "cp_bh", "measure_id": exhibit["measure_id"], "budget_period": BP,
                          "basis": "performance", "domain": "behavioral_health", "higher_is_better": True})
    benchmarks = exhibit[["measure_id", "attainment_threshold", "excellence_benchmark"]].assign(
        entity_type="cp_bh", budget_period=BP)
    return results, entities, benchmarks, slate


def test_exhibit_41_points_at_published_precision(exhibit, program):
    points = cp_measure_points(*_inputs(exhibit)[:3], program, slate=_inputs(exhibit)[3]).set_index("measure_id")
    for row in exhibit.itertuples():
        assert round(points.loc[row.measure_id, "achievement_points"], 2) == approx(row.published_points)
    assert points.loc["measure_a", "achievement_points"] == approx(13 / 35)  # unrounded 0.3714


def test_exhibit_42_domain_average(exhibit, program):
    abc = exhibit[exhibit["measure_id"].isin(["measure_a", "measure_b", "measure_c"])]
    results, entities, benchmarks, slate = _inputs(abc)
    domains = cp_domain_scores(cp_measure_points(results, entities, benchmarks, program, slate=slate))
    score = domains.iloc[0]["score"]
    assert score == approx((13 / 35 + 20 / 35 + 38 / 44) / 3)  # 0.6022 unrounded
    assert round(score, 2) == approx(0.60)
    # the published average is also the mean of the published (rounded) points
    assert (0.37 + 0.57 + 0.86) / 3 == approx(0.60)
