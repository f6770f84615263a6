"""Sec 5.2.1.3's worked examples of the State's aggregate (57%) and pooled (58%) domain scores.

MassHealth DSRIP Protocol, Sec 5.2.1.3 (lines 1384-1396 of the published text).
"""

from __future__ import annotations

import pandas as pd
from pytest import approx

from dsrip_lib.quality.state_domains import aggregate_domain_scores, pooled_domain_scores


def test_aggregate_domain_score_57_percent():
    # Three ACOs with 10, 20 and 30 members score 30%, 50% and 70% in P&W.
    scores = pd.DataFrame({"entity_id": ["ACO1", "ACO2", "ACO3"], "budget_period": 1,
                           "domain": "prevention_wellness", "score": [0.30, 0.50, 0.70]})
    members = pd.DataFrame({"entity_id": ["ACO1", "ACO2", "ACO3"], "budget_period": 1, "members": [10, 20, 30]})
    out = aggregate_domain_scores(scores, members)
    assert out.loc[0, "score"] == approx(3.4 / 6, rel=1e-12)  # 56.67% unrounded
    # The text rounds each contribution (5% + 17% + 35%) and publishes 57%: the exact sum
    # rounds to the same whole percent.
    assert round(out.loc[0, "score"] * 100) == 57
    assert (out.loc[0, "acos"], out.loc[0, "members"]) == (3, 60)


def test_pooled_domain_score_58_percent():
    # BP 3's pooled P&W score: ACO1 (10 members) 40% BP1, 60% BP2; ACO2 (20 members) 50%, 75%.
    scores = pd.DataFrame({"entity_id": ["ACO1", "ACO1", "ACO2", "ACO2"], "budget_period": [1, 2, 1, 2],
                           "domain": "prevention_wellness", "score": [0.40, 0.60, 0.50, 0.75]})
    members = pd.DataFrame({"entity_id": ["ACO1", "ACO1", "ACO2", "ACO2"], "budget_period": [1, 2, 1, 2],
                            "members": [10, 10, 20, 20]})
    out = pooled_domain_scores(scores, members, 3)
    assert out.loc[0, "score"] == approx(0.40 / 6 + 0.60 / 6 + 0.50 / 3 + 0.75 / 3, rel=1e-12)  # 58.33%
    assert round(out.loc[0, "score"] * 100) == 58
    assert out.loc[0, "budget_periods"] == [1, 2]
    assert (out.loc[0, "acos"], out.loc[0, "members"]) == (2, 60)
