"""Exhibit 46: the Total Quality Score of a BH CP, 80.45% (Sec 5.4.4.3).

MassHealth DSRIP Protocol, Sec 5.4.4.3, Exhibit 46: Exhibit 43 weights times the average
attainment scores 0.51, 0.60, 0.73, 0.88, 0.56, 0.67, 0.93 sum to 80.45%.
"""

from __future__ import annotations

import pandas as pd
from pytest import approx

from dsrip_lib.accountability.cp import cp_quality_scores


def test_exhibit_46_total_quality_score(example, program):
    exhibit = example("exhibit_46_bh_cp_quality_score")
    weights = program.cp_accountability.domain_weights["cp_bh"]
    assert {d: weights[d] for d in exhibit["domain"]} == approx(dict(zip(exhibit["domain"], exhibit["weight"])))
    domains = pd.DataFrame({"entity_id": "BHCP", "entity_type": "cp_bh", "budget_period": 3,
                            "domain": exhibit["domain"], "score": exhibit["average_points"]})
    quality = cp_quality_scores(domains, program)
    assert quality["quality_score"].iloc[0] == approx(0.8045, abs=1e-12)
    assert quality["weight_scored"].iloc[0] == approx(1.0)
    assert (exhibit["weight"] * exhibit["average_points"]).tolist() == approx(
        exhibit["published_weighted_score"].tolist())
