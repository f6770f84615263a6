"""ACO measure scores (Sec 5.3.1.2, 5.3.1.5): eligibility, pay for reporting, points, errors, invariance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from aco_cases import MINIMUM, result, results_frame
from numpy.testing import assert_allclose
from pandas.testing import assert_frame_equal

from dsrip_lib.errors import InputValidationError
from dsrip_lib.quality.measure_scores import SCORED_COLUMNS, score_aco_measures

# Appendix D bases in the program: controlling_bp R in BP 1, P from BP 2 (higher is better);
# a1c_poor_control the same, lower is better; depression_screening P from BP 3;
# copd_asthma_admissions a ratio measure, P from BP 3.


def row(scored, entity, bp, measure):
    hit = scored[(scored.entity_id == entity) & (scored.budget_period == bp) & (scored.measure_id == measure)]
    assert len(hit) == 1, (entity, bp, measure)
    return hit.iloc[0]


def test_basis_follows_the_slate(prog):
    m = prog.measures.measure("aco", "controlling_bp")
    assert (m.basis_in(1), m.basis_in(2)) == ("reporting", "performance")
    assert prog.measures.measure("aco", "depression_screening").basis_in(2) == "reporting"


def test_pay_for_reporting_full_credit_when_reported_none_when_not(prog, bench):
    scored = score_aco_measures(results_frame([result("A", 1, "controlling_bp", 10, 100)]), prog, bench)
    reported = row(scored, "A", 1, "controlling_bp")
    assert reported.eligible and reported.achievement_points == 2 and reported.improvement_points == 0
    # every other BP 1 measure of the slate is pay for reporting and was not reported: eligible, 0 points
    others = scored[scored.measure_id != "controlling_bp"]
    assert len(others) > 20 and others.eligible.all() and (others.achievement_points == 0).all()
    assert not others.reported.any()


def test_pay_for_performance_points_both_directions(prog, bench):
    scored = score_aco_measures(results_frame([
        result("A", 2, "controlling_bp", 60, 100), result("A", 2, "a1c_poor_control", 30, 100)]), prog, bench)
    assert_allclose(row(scored, "A", 2, "controlling_bp").achievement_points, 2 * (0.60 - 0.40) / 0.40)
    assert_allclose(row(scored, "A", 2, "a1c_poor_control").achievement_points, 2 * (0.40 - 0.30) / 0.20)
    # an unreported pay-for-performance measure is ineligible (no eligible members), not 0 points
    missing = row(scored, "A", 2, "adult_bmi")
    assert not missing.eligible and missing.ineligible_reason.startswith("no result")


def test_minimum_denominator_makes_a_measure_ineligible(prog, bench):
    scored = score_aco_measures(results_frame([
        result("A", 2, "controlling_bp", 20, MINIMUM - 1), result("A", 2, "adult_bmi", 20, MINIMUM),
        result("A", 2, "copd_asthma_admissions", rate=0.9, members=MINIMUM - 1)]), prog, bench)
    small = row(scored, "A", 2, "controlling_bp")
    assert not small.eligible and "minimum" in small.ineligible_reason and small.achievement_points == 0
    assert row(scored, "A", 2, "adult_bmi").eligible
    # a rate-only measure is sized by its eligible members
    assert not row(scored, "A", 2, "copd_asthma_admissions").eligible


def test_a_measure_reported_where_the_slate_does_not_measure_it_is_ineligible(prog, bench):
    scored = score_aco_measures(results_frame([result("A", 0, "controlling_bp", 20, 100)]), prog, bench)
    prep = row(scored, "A", 0, "controlling_bp")
    assert not prep.eligible and "not measured" in prep.ineligible_reason


def test_improvement_points_against_the_immediately_previous_period(prog, bench):
    rows = [result("A", 1, "controlling_bp", 450, 1000), result("A", 2, "controlling_bp", 500, 1000),
            result("B", 1, "controlling_bp", 450, 1000), result("B", 3, "controlling_bp", 600, 1000),
            result("C", 2, "a1c_poor_control", 500, 1000), result("C", 3, "a1c_poor_control", 450, 1000),
            result("D", 2, "controlling_bp", 500, 1000), result("D", 3, "controlling_bp", 450, 1000)]
    scored = score_aco_measures(results_frame(rows), prog, bench)
    a = row(scored, "A", 2, "controlling_bp")
    assert_allclose(a.previous_rate, 0.45) and a.improvement_points == 2  # p = 0.025 (Exhibit 34 observation)
    b = row(scored, "B", 3, "controlling_bp")  # no BP 2 score: no improvement points
    assert np.isnan(b.previous_rate) and np.isnan(b.improvement_pvalue) and b.improvement_points == 0
    assert row(scored, "C", 3, "a1c_poor_control").improvement_points == 2  # lower is better
    d = row(scored, "D", 3, "controlling_bp")  # a significant worsening
    assert d.improvement_pvalue < 0.1 and d.improvement_points == 0
    # pay for reporting earns no improvement points (its credit is already full)
    assert row(scored, "A", 1, "controlling_bp").improvement_points == 0


def test_reordering_rows_changes_nothing(prog, bench):
    rng = np.random.default_rng(1)
    rows = [result(e, bp, m, int(rng.integers(10, 90)), 100) for e in "ABC" for bp in (1, 2, 3)
            for m in ("controlling_bp", "a1c_poor_control", "adult_bmi")]
    frame = results_frame(rows)
    base = score_aco_measures(frame, prog, bench)
    shuffled = score_aco_measures(frame.sample(frac=1, random_state=3), prog, bench.sample(frac=1, random_state=4))
    assert list(base.columns) == SCORED_COLUMNS
    assert_frame_equal(base, shuffled)


@pytest.mark.parametrize("bad, match", [
    (result("A", 2, "not_a_measure", 1, 100), "not_a_measure"),
    (result("A", 2, "ppa", 1, 100), "slate"),  # a utilisation measure belongs to the utilization table
    (result("A", 2, "controlling_bp", 0, 0), "zero denominator"),
    (result("A", 2, "controlling_bp"), "numerator and denominator, or rate"),
])
def test_bad_rows_are_refused_naming_table_column_and_row(prog, bench, bad, match):
    with pytest.raises(InputValidationError, match=match) as err:
        score_aco_measures(results_frame([result("A", 1, "adult_bmi", 5, 100), bad]), prog, bench)
    assert "measure_results" in str(err.value) and "entity_id='A'" in str(err.value)


def test_duplicate_rows_are_refused(prog, bench):
    with pytest.raises(InputValidationError, match="one row per key"):
        score_aco_measures(results_frame([result("A", 2, "adult_bmi", 5, 100)] * 2), prog, bench)


def test_pay_for_performance_without_benchmark_is_refused(prog, bench):
    lacking = bench[~((bench.measure_id == "controlling_bp") & (bench.budget_period == 2))]
    with pytest.raises(InputValidationError, match="threshold and a benchmark") as err:
        score_aco_measures(results_frame([result("A", 2, "controlling_bp", 60, 100)]), prog, lacking)
    assert "controlling_bp" in str(err.value)


@pytest.mark.parametrize("measure, cell", [("controlling_bp", (0.8, 0.4)), ("a1c_poor_control", (0.2, 0.4))])
def test_threshold_on_the_wrong_side_of_its_benchmark_is_refused(prog, bench, measure, cell):
    bad = bench.copy()
    at = (bad.measure_id == measure) & (bad.budget_period == 2)
    bad.loc[at, ["attainment_threshold", "excellence_benchmark"]] = cell
    with pytest.raises(InputValidationError, match="worse than the benchmark") as err:
        score_aco_measures(results_frame([result("A", 2, measure, 60, 100)]), prog, bad)
    assert measure in str(err.value)


def test_benchmarks_of_other_entity_types_are_ignored(prog, bench):
    other = bench.assign(entity_type="cp_bh", attainment_threshold=0.99, excellence_benchmark=0.999)
    scored = score_aco_measures(results_frame([result("A", 2, "controlling_bp", 60, 100)]),
                                prog, pd.concat([bench, other[other.measure_id == "controlling_bp"]]))
    assert_allclose(row(scored, "A", 2, "controlling_bp").achievement_points, 1.0)
