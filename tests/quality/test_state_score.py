"""The State's quality and utilisation domain total (Sec 5.2.1.3, Exhibit 28; Appendix C step 3(c))."""

from __future__ import annotations

import pytest
from pytest import approx

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.quality.state_score import state_quality_score

ALL = ["prevention_wellness", "chronic_disease", "behavioral_health", "ltss", "integration",
       "avoidable_utilization", "member_experience"]


def test_all_full_scores_give_one_and_zero_gives_zero(program):
    for bp in (1, 2, 5):
        assert state_quality_score({d: 1.0 for d in ALL}, bp, program).score == approx(1.0)
        assert state_quality_score({d: 0.0 for d in ALL}, bp, program).score == 0.0


def test_bp1_needs_no_zero_weight_domains(program):
    # BP 1 (reporting only): avoidable utilisation and member experience weigh 0%.
    scores = {d: 1.0 for d in ALL if d not in ("avoidable_utilization", "member_experience")}
    scores["ltss"] = 0.0
    assert state_quality_score(scores, 1, program).score == approx(0.9)


def test_missing_domain_refused_or_reweighted(program):
    scores = {d: 1.0 for d in ALL if d != "ltss"}
    scores["integration"] = 0.0
    with pytest.raises(InputValidationError, match="ltss"):
        state_quality_score(scores, 4, program)
    result = state_quality_score(scores, 4, program, missing="reweight")
    assert result.score == approx(1 - 0.20 / 0.95)
    assert result.table()["weight"].sum() == approx(1.0)
    assert "ltss" not in set(result.table()["domain"])


def test_order_of_domains_does_not_matter(program):
    scores = dict(zip(ALL, [0.0, 1.0, 1.0, 0.0, 1.0, 0.8667, 1.0]))
    forward = state_quality_score(scores, 3, program).score
    backward = state_quality_score(dict(reversed(list(scores.items()))), 3, program).score
    assert forward == approx(backward, rel=1e-15) and 0 <= forward <= 1


def test_bad_input(program):
    with pytest.raises(ParameterError, match="unknown"):
        state_quality_score({"tcoc": 1.0}, 4, program)
    with pytest.raises(InputValidationError, match=r"\[0, 1\]"):
        state_quality_score({d: 1.5 for d in ALL}, 4, program)
    with pytest.raises(InputValidationError, match=r"\[0, 1\]"):
        state_quality_score({d: float("nan") for d in ALL}, 4, program)
    with pytest.raises(ParameterError, match="missing"):
        state_quality_score({d: 1.0 for d in ALL}, 4, program, missing="ignore")
    with pytest.raises(ParameterError, match="Exhibit 28"):
        state_quality_score({}, 0, program)
