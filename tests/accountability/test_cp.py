"""CP/CSA scoring (Sec 5.4.4): measure points, domain and quality scores, accountability score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsrip_lib.accountability.cp import (
    cp_accountability,
    cp_domain_scores,
    cp_measure_points,
    cp_quality_scores,
    reporting_requirements,
)
from dsrip_lib.errors import InputValidationError, ParameterError

SLATE = pd.DataFrame([
    ("cp_ltss", "m_up", 3, "performance", "integration", True),
    ("cp_ltss", "m_down", 3, "performance", "avoidable_utilization", False),
    ("cp_ltss", "m_p4r", 3, "reporting", "integration", True),
    ("cp_ltss", "m_up", 2, "reporting", "integration", True),
    ("csa", "m_up", 3, "performance", "engagement", True),
], columns=["entity_type", "measure_id", "budget_period", "basis", "domain", "higher_is_better"])
BENCHMARKS = pd.DataFrame([
    ("cp_ltss", "m_up", 3, 0.40, 0.80), ("cp_ltss", "m_down", 3, 0.30, 0.10), ("csa", "m_up", 3, 0.50, 0.70),
], columns=["entity_type", "measure_id", "budget_period", "attainment_threshold", "excellence_benchmark"])
ENTITIES = pd.DataFrame({"entity_id": ["L1", "L2", "S1", "A1"], "entity_type": ["cp_ltss", "cp_ltss", "csa", "aco"]})


def _results():
    return pd.DataFrame([
        ("L1", 3, "m_up", 60, 100, np.nan), ("L1", 3, "m_down", np.nan, np.nan, 0.20),
        ("L2", 3, "m_up", 90, 100, np.nan), ("L2", 3, "m_p4r", 5, 50, np.nan),
        ("S1", 3, "m_up", 30, 50, np.nan), ("A1", 3, "aco_only", 1, 2, np.nan),
        ("L1", 2, "m_up", 20, 40, np.nan),
    ], columns=["entity_id", "budget_period", "measure_id", "numerator", "denominator", "rate"])


def _points(results=None, program=None):
    results = _results() if results is None else results
    return cp_measure_points(results, ENTITIES, BENCHMARKS, program, slate=SLATE)


def test_points_both_directions_p4r_and_missing_rows(program):
    pts = _points(program=program).set_index(["entity_id", "budget_period", "measure_id"])
    assert pts.loc[("L1", 3, "m_up"), "achievement_points"] == pytest.approx(0.5)
    assert pts.loc[("L1", 3, "m_down"), "achievement_points"] == pytest.approx(0.5)  # lower is better
    assert pts.loc[("L1", 3, "m_p4r"), ["reported", "achievement_points"]].tolist() == [False, 0.0]
    assert pts.loc[("L2", 3, "m_p4r"), "achievement_points"] == 1.0
    assert not pts.loc[("L2", 3, "m_down"), "eligible"]  # P4P without a result: ineligible
    assert pts.loc[("S1", 3, "m_up"), "achievement_points"] == pytest.approx(0.5)
    assert "A1" not in pts.index.get_level_values(0)  # ACO rows are not CP rows


@settings(deadline=None, max_examples=25)
@given(a=st.floats(0, 1), b=st.floats(0, 1))
def test_points_never_fall_as_performance_improves(program, a, b):
    low, high = sorted((a, b))
    # L1 performs worse than L2 on both measures: low vs high rate where higher is better, and
    # high vs low rate where lower is better
    results = pd.DataFrame({"entity_id": ["L1", "L2", "L1", "L2"], "budget_period": 3,
                            "measure_id": ["m_up", "m_up", "m_down", "m_down"], "numerator": np.nan,
                            "denominator": np.nan, "rate": [low, high, high, low]})
    pts = _points(results, program).set_index(["measure_id", "entity_id"])["achievement_points"]
    for measure in ("m_up", "m_down"):
        assert 0 <= pts[(measure, "L1")] <= pts[(measure, "L2")] <= 1


def test_ineligible_measure_leaves_other_domains_alone(program):
    base = cp_domain_scores(_points(program=program))
    small = _results()
    small.loc[(small.entity_id == "L1") & (small.measure_id == "m_down"), ["numerator", "denominator"]] = [0, 5]
    assert program.measure_benchmarks.minimum_denominator > 5
    changed = cp_domain_scores(_points(small, program))
    keep = ["entity_id", "budget_period", "domain"]
    other = changed[changed.domain != "avoidable_utilization"].merge(base, on=keep, suffixes=("", "_base"))
    assert (other["score"] == other["score_base"]).all() and len(other) == 4
    assert not ((changed.entity_id == "L1") & (changed.domain == "avoidable_utilization")).any()


def test_reordering_changes_nothing(program):
    out = _points(program=program)
    shuffled = cp_measure_points(_results().sample(frac=1, random_state=5), ENTITIES.iloc[::-1], BENCHMARKS.iloc[::-1],
                                 program, slate=SLATE.iloc[::-1])
    pd.testing.assert_frame_equal(out, shuffled)


def test_measure_errors_name_the_rows(program):
    bad = _results()
    bad.loc[0, "measure_id"] = "nope"
    with pytest.raises(InputValidationError, match="measure_id.*'nope'"):
        _points(bad, program)
    bad = _results()
    bad.loc[0, "denominator"] = 0
    with pytest.raises(InputValidationError, match="denominator > 0"):
        _points(bad, program)
    with pytest.raises(InputValidationError, match="entities table.*'ZZ'"):
        _points(pd.concat([_results(), _results().head(1).assign(entity_id="ZZ")]), program)
    with pytest.raises(InputValidationError, match="threshold and a benchmark"):
        cp_measure_points(_results(), ENTITIES, BENCHMARKS.iloc[1:], program, slate=SLATE)


def test_reporting_requirements_counts_slate_measures(program):
    req = reporting_requirements(_points(program=program)).set_index(["entity_id", "budget_period"])
    assert req.loc[("L1", 2), ["requirements", "requirements_met"]].tolist() == [1, 1]
    assert req.loc[("L1", 3), ["requirements", "requirements_met"]].tolist() == [3, 2]


def _domains(scores, entity_type="csa", entity="S1", bp=3):
    return pd.DataFrame({"entity_id": entity, "entity_type": entity_type, "budget_period": bp,
                         "domain": list(scores), "score": list(scores.values())})


def test_quality_missing_domain_raise_or_reweight(program):
    partial = _domains({"engagement": 0.8, "behavioral_health": 0.5})
    with pytest.raises(InputValidationError, match="domain.*'prevention_wellness'"):
        cp_quality_scores(partial, program)
    out = cp_quality_scores(partial, program, missing_domain="reweight").iloc[0]
    assert out["weight_scored"] == pytest.approx(0.70)
    assert out["quality_score"] == pytest.approx((0.5 * 0.8 + 0.2 * 0.5) / 0.7)
    with pytest.raises(ParameterError):
        cp_quality_scores(partial, program, missing_domain="drop")


def test_quality_unknown_domain_or_type(program):
    with pytest.raises(InputValidationError, match="has a weight"):
        cp_quality_scores(_domains({"chronic_disease": 0.5}), program, missing_domain="reweight")  # not a CSA domain
    with pytest.raises(ParameterError, match="aco"):
        cp_quality_scores(_domains({"engagement": 0.5}, entity_type="aco"), program)


@settings(deadline=None, max_examples=40)
@given(scores=st.lists(st.floats(0, 1), min_size=5, max_size=5))
def test_quality_in_unit_interval(program, scores):
    weights = program.cp_accountability.domain_weights["csa"]
    q = cp_quality_scores(_domains(dict(zip(weights, scores))), program)["quality_score"].item()
    assert -1e-12 <= q <= 1 + 1e-12


def _quality(rows):
    return pd.DataFrame(rows, columns=["entity_id", "entity_type", "budget_period", "quality_score"])


@settings(deadline=None, max_examples=40)
@given(q=st.floats(0, 1), prev=st.one_of(st.none(), st.floats(0, 1)))
def test_accountability_in_unit_interval(program, q, prev):
    rows = [("C", "cp_bh", 4, q)] + ([("C", "cp_bh", 3, prev)] if prev is not None else [])
    out = cp_accountability(_quality(rows), program)
    assert out["accountability_score"].between(0, 1).all()


def test_excellence_boundary_is_exact(program):
    # 0.1 + 0.2 + 0.55 is 0.8500000000000001 in floating point, 0.05 * 17 is 0.8500000000000001 too;
    # a sum landing just under 0.85 still meets the benchmark written as 0.85
    out = cp_accountability(_quality([("C", "cp_bh", 4, 0.8499999999999999), ("D", "cp_bh", 4, 0.8499)]), program)
    assert out["accountability_score"].tolist() == [1.0, pytest.approx(0.8499)]
    out = cp_accountability(_quality([("C", "cp_bh", 4, 0.45), ("D", "cp_bh", 4, 0.4499)]), program)
    assert out["accountability_score"].tolist() == [pytest.approx(0.45), 0.0]


def test_decline_earns_no_negative_improvement_and_reporting_years_are_not_a_baseline(program):
    out = cp_accountability(_quality([("C", "cp_bh", 4, 0.60), ("C", "cp_bh", 3, 0.70), ("C", "cp_bh", 2, 0.1)]),
                            program).set_index("budget_period")
    assert out.loc[4, "accountability_score"] == pytest.approx(0.60)
    assert np.isnan(out.loc[3, "previous_quality_score"])  # BP 2 is reporting only
    assert 2 not in out.index  # a reporting-only quality row is not scored without reporting counts


def test_thresholds_override_and_errors(program):
    thresholds = pd.DataFrame({"entity_type": ["cp_bh"], "budget_period": [4], "minimum": [0.2], "excellence": [0.5]})
    assert cp_accountability(_quality([("C", "cp_bh", 4, 0.5)]), program,
                             thresholds=thresholds)["accountability_score"].item() == 1.0
    with pytest.raises(ParameterError, match="Minimum Quality Score"):
        cp_accountability(_quality([("C", "cp_bh", 5, 0.5)]), program, thresholds=thresholds)
    with pytest.raises(ParameterError, match="budget period\\(s\\) \\[0\\]"):
        cp_accountability(_quality([("C", "cp_bh", 0, 0.5)]), program)


def test_reporting_errors(program):
    empty = _quality([])
    reporting = pd.DataFrame({"entity_id": ["C"], "entity_type": ["cp_bh"], "budget_period": [1],
                              "requirements": [4], "requirements_met": [5]})
    with pytest.raises(InputValidationError, match="requirements_met"):
        cp_accountability(empty, program, reporting=reporting)
    with pytest.raises(InputValidationError, match="requirements"):
        cp_accountability(empty, program, reporting=reporting.assign(requirements=0, requirements_met=0))
