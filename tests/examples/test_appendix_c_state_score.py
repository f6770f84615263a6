"""Appendix C steps 1, 2, 4 and 5: the BP 4 State DSRIP Accountability Score and the authority it earns.

The protocol rounds each domain score before using it (64%, 92%) and publishes 86.6%, $35.7M
earned and $5.55M lost (D4, D5). The library does not round: these tests check the unrounded
chain and how each published figure follows from rounding.
MassHealth DSRIP Protocol, Appendix C (Exhibits A2, A3, A7, A9, A10).
"""

from __future__ import annotations

import pytest
from pytest import approx

from dsrip_lib.accountability.state import DomainResult, adoption_domain, spending_domain, state_score
from dsrip_lib.spending.gap_to_goal import gap_to_goal


@pytest.fixture(scope="module")
def bp4(program):
    """The example's BP 4 domains from the text's inputs: 42% adoption, 0.9% reduction, quality 75% + utilisation."""
    rules = program.state_accountability
    targets = rules.quality_utilization.avoidable_utilization_targets
    floor = rules.gap_to_goal_floor_share
    utilization = (gap_to_goal(0.12, targets["ppa"][4], floor) + gap_to_goal(0.13, targets["readmissions"][4], floor)) / 2
    weight = program.quality_domains.weights_in(4)[rules.quality_utilization.utilization_domain]
    quality = 0.75 + weight * utilization  # Exhibit A8: the other domains contribute 75%
    return [adoption_domain(0.42, 4, program), spending_domain(0.009, 4, program),
            DomainResult("quality_utilization", quality)]


def test_step_1_adoption_42_percent_meets_the_40_percent_target(bp4):
    assert bp4[0].target == approx(0.40) and bp4[0].score == 1.0


def test_step_2_spending_score_is_63_64_percent_published_64(bp4):
    assert bp4[1].score == approx(0.35 / 0.55, abs=1e-12)  # (0.9 - 0.55) / 0.55
    assert round(bp4[1].score * 100) == 64


def test_step_3_quality_is_92_33_percent_published_92(bp4):
    assert bp4[2].score == approx(0.75 + 0.20 * (1 + 5.5 / 7.5) / 2, abs=1e-12)
    assert round(bp4[2].score * 100) == 92


def test_step_4_unrounded_state_score_is_86_69_percent(bp4, program):
    score = state_score(bp4, 4, program)
    assert score.score == approx(0.2 + 0.25 * 0.35 / 0.55 + 0.55 * (0.75 + 0.2 * (1 + 5.5 / 7.5) / 2), abs=1e-12)
    assert round(score.score * 100, 2) == 86.69
    assert score.table()["weight"].tolist() == approx([0.20, 0.25, 0.55])


def test_step_4_published_86_6_percent_follows_from_domain_scores_rounded_first(program):
    rounded = [DomainResult("adoption", 1.0), DomainResult("spending_growth", 0.64),
               DomainResult("quality_utilization", 0.92)]
    score = state_score(rounded, 4, program)
    assert score.score == approx(0.866, abs=1e-12)
    assert score.table()["weighted"].tolist() == approx([0.20, 0.16, 0.506])  # Exhibit A9's cells


def test_step_5_unrounded_authority_earned_and_lost(bp4, program):
    score = state_score(bp4, 4, program)
    assert score.at_risk_usd == 41_250_000.00
    assert score.earned_usd == approx(35_760_625.00, abs=0.01)  # D5: $35.76M
    assert score.lost_usd == approx(5_489_375.00, abs=0.01)  # D5: $5.49M
    assert score.earned_cents + score.lost_cents == score.at_risk_cents


def test_step_5_published_35_7m_earned_and_5_55m_lost_d5(program):
    rounded = [DomainResult("adoption", 1.0), DomainResult("spending_growth", 0.64),
               DomainResult("quality_utilization", 0.92)]
    score = state_score(rounded, 4, program)
    assert score.earned_usd == 35_722_500.00 and round(score.earned_usd / 1e6, 1) == 35.7
    assert score.lost_usd == 5_527_500.00  # the formula's lost amount: $5.53M
    # the published $5.55M is the at-risk amount less the *rounded* earned amount
    assert round(score.at_risk_usd / 1e6 - round(score.earned_usd / 1e6, 1), 2) == 5.55
    assert round(score.lost_usd / 1e6, 2) == 5.53
