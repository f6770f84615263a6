"""Worked examples of the State's accountability arithmetic in Sec 5.1.1 and 5.2.1.

MassHealth DSRIP Protocol: Sec 5.1.1 (line 996 of the published text): a BP 2 State score
of 70% loses 30% of the $20.625M at risk, $6.1875M; Sec 5.2.1 (line 1245): domain scores of
100%, 30% and 70% weighted 20/25/55 give a State score of 66%.
"""

from __future__ import annotations

from pytest import approx


def test_sec_5_1_1_authority_lost_at_a_70_percent_score(program):
    at_risk = program.state_accountability.authority_of(2).at_risk_musd
    assert at_risk == approx(20.625)
    assert (1 - 0.70) * at_risk == approx(6.1875)


def test_sec_5_2_1_weighted_state_score(program):
    scores = {"adoption": 1.0, "spending_growth": 0.30, "quality_utilization": 0.70}
    weights = program.state_accountability.domain_weights_in(5)
    assert sum(w * scores[d] for d, w in weights.items()) == approx(0.66)
