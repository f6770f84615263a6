"""ACO domain scores and Quality Score (Sec 5.3.1.1-5.3.1.2, Exhibits 32, 35): caps, eligibility, missing domains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from pandas.testing import assert_frame_equal

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.quality.domain_scores import aco_domain_scores, aco_quality_score

COLUMNS = ["entity_id", "budget_period", "domain", "measure_id", "eligible", "achievement_points",
           "improvement_points"]


def points(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def every_domain(program, entity="A", bp=2, score=2.0) -> list[tuple]:
    return [(entity, bp, d.key, f"{d.key}_m", True, score, 0.0) for d in program.quality_domains]


def test_ineligible_measure_leaves_numerator_and_denominator(program):
    rows = [("A", 2, "ltss", "m1", True, 1.0, 0.0), ("A", 2, "ltss", "m2", False, 0.0, 0.0)]
    got = aco_domain_scores(points(rows), program, missing_domain="reweight").iloc[0]
    assert (got.eligible_measures, got.available_points, got.score) == (1, 2.0, 0.5)


def test_ineligible_measure_never_changes_another_domain(program):
    base = every_domain(program, score=1.0)
    extra = base + [("A", 2, "ltss", "late", False, 0.0, 2.0)]
    a = aco_domain_scores(points(base), program)
    b = aco_domain_scores(points(extra), program)
    assert_frame_equal(a, b)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["prevention_wellness", "ltss"]), st.booleans(),
                          st.floats(0, 2), st.sampled_from([0.0, 2.0])), min_size=1, max_size=12))
def test_scores_stay_in_0_1_and_improvement_never_exceeds_its_cap(program, draws):
    rows = [("A", 2, d, f"m{i}", e, a, imp) for i, (d, e, a, imp) in enumerate(draws)]
    got = aco_domain_scores(points(rows), program, missing_domain="reweight")
    assert ((got.score >= 0) & (got.score <= 1)).all()
    assert (got.improvement_points <= 0.5 * got.available_points + 1e-12).all()
    q = aco_quality_score(got, program, missing_domain="reweight")
    assert ((q.quality_score >= 0) & (q.quality_score <= 1)).all()


def test_quality_score_is_the_exhibit_32_weighted_sum(program):
    rows = every_domain(program, bp=2, score=2.0)
    rows[0] = ("A", 2, "prevention_wellness", "m", True, 1.0, 0.0)  # 50% in a domain weighted 10% in BP 2
    q = aco_quality_score(aco_domain_scores(points(rows), program), program)
    weight = program.quality_domains.weights_in(2)["prevention_wellness"]
    assert_allclose(q.quality_score, 1 - weight * 0.5)
    assert not q.reweighted.any()


def test_missing_domain_is_refused_by_default_naming_entity_period_domain(program):
    rows = [r for r in every_domain(program, bp=2) if r[2] != "member_experience"]
    with pytest.raises(InputValidationError, match="ACO A, budget period 2, domain member_experience"):
        aco_domain_scores(points(rows), program)
    scores = aco_domain_scores(points(rows), program, missing_domain="reweight")
    with pytest.raises(InputValidationError, match="reweight"):
        aco_quality_score(scores, program)


def test_reweight_option_is_proportional_over_the_domains_present(program):
    rows = [r for r in every_domain(program, bp=2) if r[2] != "member_experience"]
    rows[0] = ("A", 2, "prevention_wellness", "m", True, 0.0, 0.0)
    scores = aco_domain_scores(points(rows), program, missing_domain="reweight")
    q = aco_quality_score(scores, program, missing_domain="reweight").iloc[0]
    weights = program.quality_domains.weights_in(2)
    assert_allclose(q.quality_score, 1 - weights["prevention_wellness"] / (1 - weights["member_experience"]))
    assert q.reweighted


def test_domain_weighted_zero_may_be_absent(program):
    # BP 1: domains 6 and 7 weigh 0 (Exhibit 32), so no utilisation or survey scores are needed
    rows = [r for r in every_domain(program, bp=1) if r[2] not in ("avoidable_utilization", "member_experience")]
    q = aco_quality_score(aco_domain_scores(points(rows), program), program)
    assert_allclose(q.quality_score, 1.0)


def test_reordering_entities_and_measures_changes_nothing(program):
    rng = np.random.default_rng(5)
    rows = [(e, bp, d.key, f"m{k}", bool(rng.random() > 0.2), float(rng.uniform(0, 2)), float(rng.choice([0, 2])))
            for e in "ABCD" for bp in (2, 3) for d in program.quality_domains for k in range(3)]
    frame = points(rows)
    a = aco_quality_score(aco_domain_scores(frame, program, missing_domain="reweight"), program,
                          missing_domain="reweight")
    shuffled = frame.sample(frac=1, random_state=9)
    b = aco_quality_score(aco_domain_scores(shuffled, program, missing_domain="reweight"), program,
                          missing_domain="reweight")
    assert_frame_equal(a, b)


def test_bad_options_and_periods_without_weights(program):
    with pytest.raises(ParameterError, match="missing_domain"):
        aco_domain_scores(points(every_domain(program)), program, missing_domain="ignore")
    with pytest.raises(ParameterError, match="no domain weights"):
        aco_domain_scores(points([("A", 0, "ltss", "m", True, 1.0, 0.0)]), program)
