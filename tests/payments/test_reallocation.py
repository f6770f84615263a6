"""Redistribution targets, carry forward (15% rule, DY5 <= DY4) and statewide-investment shifts."""

from __future__ import annotations

import pytest

from dsrip_lib.errors import ParameterError
from dsrip_lib.payments.reallocation import APPROVAL, NOTICE, authority_by_dy, carry_forward, investment_shift, redistribute


def test_redistribution_splits_exactly_over_allowed_targets(program):
    out = redistribute(100_00, {("aco", "flexible_services"): 1, ("community_partners", "care_coordination"): 2,
                                ("statewide_investments", "technical_assistance"): 0}, program)
    assert out["amount_cents"].sum() == 100_00 and (out["amount_cents"] >= 0).all()
    assert out.set_index("substream").at["care_coordination", "amount_cents"] == 66_67


@pytest.mark.parametrize("target", [("aco", "dsti_glide_path"), ("state_operations", "implementation")])
def test_redistribution_outside_sec_5_1_3_is_refused(program, target):
    with pytest.raises(ParameterError, match="not allowed"):
        redistribute(100, {target: 1}, program)


def test_exhibit_1_authority_by_demonstration_year(program):
    assert authority_by_dy(program) == {1: 425_000_000_00, 2: 425_000_000_00, 3: 400_000_000_00,
                                        4: 325_000_000_00, 5: 225_000_000_00}


def test_carry_forward_above_15_percent_of_the_prior_year_needs_approval(program):
    at = carry_forward(63_750_000_00, "aco", "flexible_services", 1, program)  # 15% of DY1's $425M
    assert at.allowed and at.needs == NOTICE
    above = carry_forward(63_750_000_01, "aco", "flexible_services", 1, program)
    assert above.allowed and above.needs == APPROVAL


def test_dy5_authority_never_above_dy4(program):
    # DY4 $325M, DY5 $225M: carrying x from DY4 keeps DY5 <= DY4 while 225 + x <= 325 - x, x <= $50M
    assert carry_forward(50_000_000_00, "aco", "startup_ongoing_discretionary", 4, program).allowed
    over = carry_forward(50_000_000_01, "aco", "startup_ongoing_discretionary", 4, program)
    assert not over.allowed and "DY5" in over.reasons[0]
    # after an earlier move has raised DY5, a smaller one can break the rule
    moved = {**authority_by_dy(program), 5: 320_000_000_00}
    assert carry_forward(1_000_000_00, "community_partners", "care_coordination", 3, program, authority=moved).allowed
    assert not carry_forward(3_000_000_00, "aco", "flexible_services", 4, program, authority=moved).allowed


def test_carry_forward_only_for_the_listed_streams(program):
    assert carry_forward(1_00, "statewide_investments", "technical_assistance", 2, program).allowed
    refused = carry_forward(1_00, "statewide_investments", "apm_preparation", 2, program)
    assert not refused.allowed and "Sec 4.7" in refused.reasons[0]
    with pytest.raises(ParameterError, match="demonstration year"):
        carry_forward(1_00, "aco", "flexible_services", 5, program)


def test_investment_shift_threshold_is_the_larger_of_15_percent_and_1m(program):
    # technical assistance DY1 $10.9M: 15% = $1.635M > $1M
    big = investment_shift(1_635_000_00, "technical_assistance", "apm_preparation", 1, program)
    assert big.threshold_cents == 1_635_000_00 and big.needs == NOTICE
    assert investment_shift(1_635_000_01, "technical_assistance", "apm_preparation", 1, program).needs == APPROVAL
    # primary care integration DY2 $0.7M: 15% = $105,000 < $1M, so $1M decides
    small = investment_shift(700_000_00, "primary_care_integration", "technical_assistance", 2, program)
    assert small.threshold_cents == 1_000_000_00 and small.needs == NOTICE and small.allowed
    too_much = investment_shift(700_000_01, "primary_care_integration", "technical_assistance", 2, program)
    assert not too_much.allowed
    with pytest.raises(ParameterError, match="Exhibit 15"):
        investment_shift(1, "roads", "technical_assistance", 2, program)
