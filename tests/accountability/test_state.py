"""The State DSRIP Accountability Score: domains, weights per budget period, authority earned and lost."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest import approx

from dsrip_lib.accountability.adoption import AdoptionResult
from dsrip_lib.accountability.state import (
    DomainResult,
    adoption_domain,
    adoption_domain_of,
    musd_cents,
    quality_domain_of,
    scored_periods,
    spending_domain,
    spending_domain_of,
    state_score,
    what_if,
)
from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.quality.state_score import state_quality_score

unit = st.floats(0, 1, allow_nan=False)


def _three(a, s, q):
    return [DomainResult("adoption", a), DomainResult("spending_growth", s), DomainResult("quality_utilization", q)]


def test_scored_periods_are_bp_2_to_5(program):
    assert scored_periods(program) == [2, 3, 4, 5]


@pytest.mark.parametrize("bp", [0, 1])
def test_prep_and_bp1_have_no_state_score(program, bp):
    with pytest.raises(ParameterError, match="no State DSRIP Accountability Score"):
        state_score(_three(1, 1, 1), bp, program)


def test_bp2_does_not_score_spending_growth(program):
    score = state_score(_three(1.0, 0.0, 1.0), 2, program)
    assert score.score == 1.0 and score.lost_cents == 0
    assert score.not_scored == ("spending_growth",)
    walk = score.walkthrough()
    assert walk["item"].str.contains("Reduction in State Spending Growth: not scored").sum() == 1
    assert walk.loc[walk["item"].str.contains("not scored"), "value"].isna().all()


def test_a_weighted_domain_without_a_result_is_refused(program):
    with pytest.raises(InputValidationError, match="spending_growth"):
        state_score([DomainResult("adoption", 1.0), DomainResult("quality_utilization", 1.0)], 3, program)


def test_a_domain_given_twice_or_unknown_or_out_of_range_is_refused(program):
    with pytest.raises(ParameterError, match="twice"):
        state_score([*_three(1, 1, 1), DomainResult("adoption", 0.0)], 3, program)
    with pytest.raises(ParameterError, match="unknown"):
        DomainResult("tcoc", 1.0)
    with pytest.raises(InputValidationError, match=r"\[0, 1\]"):
        DomainResult("adoption", 1.2)
    with pytest.raises(InputValidationError):
        DomainResult("adoption", True)


@given(a=st.sampled_from([0.0, 1.0]), s=unit, q=unit, bp=st.sampled_from([2, 3, 4, 5]))
def test_score_in_unit_interval_and_earned_plus_lost_is_at_risk(program, a, s, q, bp):
    score = state_score(_three(a, s, q), bp, program)
    assert 0 <= score.score <= 1
    assert score.earned_cents + score.lost_cents == score.at_risk_cents == musd_cents(
        program.state_accountability.authority_of(bp).at_risk_musd)
    assert score.earned_cents >= 0 and score.lost_cents >= 0


@given(s=unit, q=unit)
def test_order_of_domains_changes_nothing(program, s, q):
    domains = _three(1.0, s, q)
    assert state_score(domains, 4, program) == state_score(domains[::-1], 4, program)


def test_all_domains_full_gives_exactly_one_and_nothing_lost(program):
    for bp in (3, 4, 5):
        score = state_score(_three(1, 1, 1), bp, program)
        assert score.score == 1.0 and score.lost_cents == 0


def test_adoption_is_pass_fail_on_the_exact_target(program):
    assert adoption_domain(0.40, 4, program).score == 1.0  # "meets or surpasses"
    assert adoption_domain(0.3999999, 4, program).score == 0.0
    assert adoption_domain(0.1 + 0.2, 2, program).score == 1.0  # 0.30000000000000004 against 30%
    with pytest.raises(ParameterError, match="Exhibit 26"):
        adoption_domain(0.5, 0, program)


def test_adoption_from_the_stage_result(program):
    passed = AdoptionResult(4, 100, 40, 0.40, 0.40, True, {})
    failed = AdoptionResult(4, 100, 39, 0.39, 0.40, False, {})
    assert adoption_domain_of(passed).score == 1.0 and adoption_domain_of(failed).score == 0.0
    with pytest.raises(InputValidationError, match="no pass/fail"):
        adoption_domain_of(AdoptionResult(0, 100, 39, 0.39, None, None, {}))


def test_spending_gap_to_goal_edges(program):
    assert spending_domain(0.011, 4, program).score == 1.0
    assert spending_domain(0.0055, 4, program).score == 0.0  # exactly the floor scores 0 of the partial range
    assert spending_domain(0.0054, 4, program).score == 0.0
    assert spending_domain(-0.02, 4, program).score == 0.0  # growth above trend
    with pytest.raises(ParameterError, match="Exhibit 27"):
        spending_domain(0.01, 2, program)


def test_spending_from_the_stage_summary_table(program):
    class Growth:  # the one attribute read from a SpendingGrowthResult
        summary_table = pd.DataFrame({"year": [2021, 2022], "budget_period": [4, None],
                                      "percent_reduction": [0.009, 0.01], "target": [0.011, None],
                                      "score": [0.35 / 0.55, None]})

    assert spending_domain_of(Growth(), 4).score == approx(0.35 / 0.55)
    with pytest.raises(InputValidationError, match="budget period 5"):
        spending_domain_of(Growth(), 5)


def test_quality_from_the_stage_keeps_the_domain_scores(program):
    scores = {d.key: 1.0 for d in program.quality_domains}
    scores["avoidable_utilization"] = 0.5
    result = quality_domain_of(state_quality_score(scores, 4, program))
    assert result.score == approx(0.9) and result.quality_scores["avoidable_utilization"] == 0.5


def test_what_if_varies_one_domain_at_a_time(program):
    scores = {d.key: 1.0 for d in program.quality_domains}
    scores["ltss"] = 0.0
    quality = quality_domain_of(state_quality_score(scores, 4, program))
    actual = state_score([adoption_domain(0.42, 4, program), spending_domain(0.009, 4, program), quality], 4, program)
    table = what_if(actual, program)
    measured = table[table["as_measured"]]
    assert measured["state_score"].to_numpy() == approx(actual.score)
    assert set(table["domain"]) == {"adoption", "spending_growth", "quality_utilization"}
    fail = table[(table["domain"] == "adoption") & (table["domain_score"] == 0)]
    assert fail["state_score"].item() == approx(actual.score - 0.20)
    spending = table[table["domain"] == "spending_growth"].iloc[1:]  # after the measured row
    assert spending["domain_score"].iloc[0] == 0 and spending["domain_score"].iloc[-1] == 1
    assert spending["lost_usd"].is_monotonic_decreasing
    ltss = table[table["varied"] == "Long Term Services and Supports"].set_index("setting")
    assert ltss.at["not statistically worse", "state_score"] == approx(actual.score + 0.55 * 0.05)
    assert (table["lost_usd"] >= 0).all() and table["state_score"].between(0, 1).all()


def test_what_if_in_bp2_has_no_spending_rows(program):
    actual = state_score([DomainResult("adoption", 1.0), DomainResult("quality_utilization", 0.8)], 2, program)
    table = what_if(actual, program)
    assert "spending_growth" not in set(table["domain"])
    assert table.loc[table["as_measured"], "domain"].tolist() == ["adoption"]
