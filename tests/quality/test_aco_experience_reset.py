"""Domain 7 member experience (Sec 5.3.1.3) and the benchmark reset trigger (Sec 5.3.1.2, Achievement Points 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from aco_cases import result, results_frame
from numpy.testing import assert_allclose

from dsrip_lib.errors import InputValidationError
from dsrip_lib.quality.experience import score_experience
from dsrip_lib.quality.measure_scores import score_aco_measures
from dsrip_lib.quality.reset import benchmark_reset_flags
from dsrip_lib.stats import proportion_improvement


def surveys(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["entity_id", "budget_period", "survey", "composite", "score", "respondents"])


def test_composites_are_scored_like_clinical_measures(prog, bench):
    # primary_care.communication: reporting in BP 1-2, performance from BP 3 (Appendix D)
    got = score_experience(surveys([("A", 2, "primary_care", "communication", 50.0, 400),
                                    ("A", 3, "primary_care", "communication", 60.0, 400)]), prog, bench)
    row = got[(got.measure_id == "primary_care.communication")].set_index("budget_period")
    assert row.loc[2, "achievement_points"] == 2 and row.loc[2, "basis"] == "reporting"
    assert_allclose(row.loc[3, "rate"], 0.60)
    assert_allclose(row.loc[3, "achievement_points"], 2 * (0.60 - 0.40) / 0.40)
    ref = proportion_improvement(200, 400, 240, 400, higher_is_better=True)
    assert_allclose(row.loc[3, "improvement_pvalue"], ref.pvalue) and row.loc[3, "improvement_points"] == 2
    assert (got.domain == "member_experience").all()


def test_no_respondents_make_a_composite_ineligible(prog, bench):
    got = score_experience(surveys([("A", 3, "primary_care", "communication", 90.0, 0)]), prog, bench)
    row = got[got.measure_id == "primary_care.communication"].iloc[0]
    assert not row.eligible and row.achievement_points == 0


def test_scores_outside_0_100_are_refused(prog, bench):
    with pytest.raises(InputValidationError, match="score"):
        score_experience(surveys([("A", 3, "primary_care", "communication", 101.0, 50)]), prog, bench)


def _scored(prog, bench, rates: list[int]):
    return score_aco_measures(results_frame([result(f"A{i}", 2, "controlling_bp", r, 100) for i, r in enumerate(rates)]),
                              prog, bench)


def test_reset_flag_at_exactly_75_percent_below_threshold(prog, bench):
    # threshold 0.40: 3 of 4 ACOs below it (75%: flagged); 2 of 4 not; exactly at the threshold is not "below"
    flags = benchmark_reset_flags(_scored(prog, bench, [10, 20, 39, 60]), prog).set_index("measure_id")
    row = flags.loc["controlling_bp"]
    assert (row.acos, row.below_threshold, row.share_below_threshold, row.reset_flag) == (4, 3, 0.75, True)
    assert "lower" in row.reason
    flags = benchmark_reset_flags(_scored(prog, bench, [10, 20, 40, 60]), prog).set_index("measure_id")
    assert not flags.loc["controlling_bp", "reset_flag"] and flags.loc["controlling_bp", "reason"] == ""


def test_reset_flag_when_most_acos_meet_the_benchmark(prog, bench):
    # benchmark 0.80: at it counts as meeting it
    flags = benchmark_reset_flags(_scored(prog, bench, [80, 90, 95, 10]), prog).set_index("measure_id")
    row = flags.loc["controlling_bp"]
    assert (row.at_benchmark, row.reset_flag) == (3, True) and "higher" in row.reason


def test_only_eligible_pay_for_performance_scores_count(prog, bench):
    scored = _scored(prog, bench, [10, 20, 30, 60])
    flags = benchmark_reset_flags(scored, prog)
    assert set(flags.measure_id) == {"controlling_bp"}  # every other measure is unreported (ineligible) in BP 2
    assert np.all(flags.acos == 4)
