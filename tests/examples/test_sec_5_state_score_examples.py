"""Worked examples of the State's accountability arithmetic in Sec 5.1.1 and 5.2.1.

MassHealth DSRIP Protocol: Sec 5.1.1 (line 996 of the published text): a BP 2 State score
of 70% loses 30% of the $20.625M at risk, $6.1875M; Sec 5.2.1 (line 1245): domain scores of
100%, 30% and 70% weighted 20/25/55 give a State score of 66%.
"""

from __future__ import annotations

from pytest import approx

from dsrip_lib.accountability.state import DomainResult, state_score
from dsrip_lib.payments.recoupment import apply_reduction


def test_sec_5_1_1_authority_lost_at_a_70_percent_score(program):
    at_risk = program.state_accountability.authority_of(2).at_risk_musd
    assert at_risk == approx(20.625)
    assert (1 - 0.70) * at_risk == approx(6.1875)


def test_sec_5_2_1_weighted_state_score(program):
    scores = {"adoption": 1.0, "spending_growth": 0.30, "quality_utilization": 0.70}
    weights = program.state_accountability.domain_weights_in(5)
    assert sum(w * scores[d] for d, w in weights.items()) == approx(0.66)


def test_sec_5_1_1_bp2_score_of_70_percent_loses_6_1875m_subtracted_from_bp4(program):
    # BP 2 weights only adoption (30%) and quality (70%); any mix giving 70% loses the same.
    score = state_score([DomainResult("adoption", 0.0), DomainResult("quality_utilization", 1.0)], 2, program)
    assert score.score == approx(0.70, abs=1e-12)
    assert score.at_risk_usd == 20_625_000.00 and score.lost_usd == 6_187_500.00
    applied = apply_reduction(score.lost_cents, 2, program)
    assert applied.applied_to == 4  # known in Q4 of BP 3, reflected in BP 4
    assert applied.authority_before_cents == 275_000_000_00
    assert applied.authority_after_cents == (275_000_000 - 6_187_500) * 100


def test_sec_5_2_1_state_score_66_percent_from_the_library(program):
    domains = [DomainResult("adoption", 1.0), DomainResult("spending_growth", 0.30),
               DomainResult("quality_utilization", 0.70)]
    score = state_score(domains, 5, program)
    assert score.score == approx(0.66, abs=1e-12)
    assert score.lost_usd == approx(0.34 * 22_500_000, abs=0.01)
