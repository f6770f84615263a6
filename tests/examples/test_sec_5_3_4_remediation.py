"""Sec 5.3.4 and Sec 5.4.6.1: the remediation earn-back example, $35,000.

MassHealth DSRIP Protocol, Sec 5.3.4 (line 1961) and Sec 5.4.6.1 (line 2280): $100,000 of
unearned withheld funds, an approved earn-back share of 50% (out of a 60% maximum) and a
Performance Remediation Plan Score of 7 out of 10 give $100,000 x 50% x (7 / 10) = $35,000.
"""

from __future__ import annotations

from pytest import approx

from dsrip_lib.accountability.aco import remediation_earn_back


def test_35000_example(program):
    assert remediation_earn_back(100_000.0, 0.50, 7, program) == approx(35_000.0, abs=0.005)


def test_scale_and_maximum_come_from_the_program(program):
    assert program.at_risk.remediation_max_earn_back_share == approx(0.60)
    assert program.at_risk.remediation_plan_max_score == 10
