"""ACO domain 6, avoidable utilisation (Sec 5.3.1.3, Exhibits 36-37): quartiles, re-ranking, exact targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from pandas.testing import assert_frame_equal

from dsrip_lib.errors import InputValidationError
from dsrip_lib.quality.utilization import EXACT_POISSON, NOT_A_COUNT, score_utilization
from dsrip_lib.stats import oe_ratio_interval

COLUMNS = ["entity_id", "budget_period", "measure_id", "observed", "expected", "member_months"]


def util(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS).astype({"observed": float, "expected": float, "member_months": float})


def ranked(baselines: dict[str, float], bp: int, current: dict[str, float], measure="ppa") -> pd.DataFrame:
    """Baseline in BP 1 (observed = ratio x 100 of 100 expected), a row per ACO in ``bp``."""
    rows = [(e, 1, measure, 100 * r, 100, 1000) for e, r in baselines.items()]
    rows += [(e, bp, measure, 100 * r, 100, 1000) for e, r in current.items()]
    return util(rows)


def pick(got, measure="ppa"):
    return got[got.measure_id == measure].set_index(["entity_id", "budget_period"])


def test_seventeen_acos_fall_into_quartiles_of_5_4_4_4(program):
    base = {f"A{i:02d}": 0.5 + 0.01 * i for i in range(17)}
    got = pick(score_utilization(ranked(base, 2, base), program)).xs(2, level="budget_period")
    assert got["quartile"].value_counts().sort_index().tolist() == [5, 4, 4, 4]


def test_quartiles_rank_lowest_baseline_ratio_first(program):
    base = {f"A{i}": 0.5 + 0.1 * i for i in range(8)}  # A0 best ... A7 worst
    got = pick(score_utilization(ranked(base, 2, base), program))
    assert got.xs(2, level="budget_period")["quartile"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    targets = program.aco_accountability.avoidable_utilization_quartile_targets["ppa"]
    assert_allclose(got.xs(2, level="budget_period")["target"], [targets[q][2] for q in (1, 1, 2, 2, 3, 3, 4, 4)])


def test_ties_share_the_better_quartile(program):
    base = {"A": 0.8, "B": 0.8, "C": 1.0, "D": 1.2}
    got = pick(score_utilization(ranked(base, 2, base), program)).xs(2, level="budget_period")
    assert got["quartile"].tolist() == [1, 1, 3, 4]


def test_quartiles_are_re_ranked_among_the_acos_present(program):
    base = {"A": 0.6, "B": 0.8, "C": 1.0, "D": 1.2}
    # D leaves before BP 3: A, B, C are re-ranked into quartiles floor(4 (r - 1) / 3) + 1 = 1, 2, 3
    frame = pd.concat([ranked(base, 2, base), util([(e, 3, "ppa", 100 * base[e], 100, 1000) for e in "ABC"])])
    got = pick(score_utilization(frame, program))
    assert got.xs(2, level="budget_period")["quartile"].tolist() == [1, 2, 3, 4]
    assert got.xs(3, level="budget_period")["quartile"].tolist() == [1, 2, 3]


def test_target_met_is_exact_at_the_boundary(program):
    # quartile 1, BP 2 target 3%: from 1.00 baseline, 0.97 meets it exactly, 0.9701 misses
    targets = program.aco_accountability.avoidable_utilization_quartile_targets["ppa"]
    assert targets[1][2] == 0.03
    base = util([("A", 1, "ppa", 100, 100, 1), ("B", 1, "ppa", 200, 100, 1)])
    for observed, expected, meets in ((97, 100, True), (9701, 10000, False), (97, 100.00001, True), (291, 300, True)):
        frame = pd.concat([base, util([("A", 2, "ppa", observed, expected, 1), ("B", 2, "ppa", 200, 100, 1)])])
        row = pick(score_utilization(frame, program)).loc[("A", 2)]
        assert bool(row.meets_target) is meets and row.achievement_points == (2.0 if meets else 0.0), observed


def test_reporting_periods_and_reporting_measures_earn_full_points_when_reported(program):
    frame = util([("A", 1, "ppa", 5, 4, 1), ("A", 1, "readmissions", 5, 4, 1), ("A", 2, "ed_visits", 5, 4, 1)])
    got = score_utilization(frame, program).set_index(["budget_period", "measure_id"])
    assert got.loc[(1, "ppa"), "basis"] == "reporting" and got.loc[(1, "ppa"), "achievement_points"] == 2
    assert pd.isna(got.loc[(1, "ppa"), "meets_target"]) and np.isnan(got.loc[(1, "ppa"), "target"])
    assert got.loc[(2, "ed_visits"), "achievement_points"] == 2  # Appendix D: reporting in every period
    # BP 1 unreported ed_visits (reporting): eligible, 0 points; BP 2 unreported ppa (performance): ineligible
    assert got.loc[(1, "ed_visits"), "eligible"] and got.loc[(1, "ed_visits"), "achievement_points"] == 0
    assert not got.loc[(2, "ppa"), "eligible"]


def test_default_baseline_is_each_acos_first_period_and_a_frame_overrides_it(program):
    frame = util([("A", 2, "ppa", 90, 100, 1), ("A", 3, "ppa", 80, 100, 1)])  # a late joiner
    got = pick(score_utilization(frame, program))
    assert_allclose(got["baseline_oe"], [0.9, 0.9])
    assert_allclose(got.loc[("A", 3), "reduction"], 1 - 0.8 / 0.9)
    given = pd.DataFrame({"entity_id": ["A"], "measure_id": ["ppa"], "observed": [100.0], "expected": [100.0]})
    got = pick(score_utilization(frame, program, baseline=given))
    assert_allclose(got["reduction"], [0.1, 0.2])


def test_a_scored_aco_without_baseline_is_refused(program):
    given = pd.DataFrame({"entity_id": ["B"], "measure_id": ["ppa"], "observed": [1.0], "expected": [1.0]})
    with pytest.raises(InputValidationError, match="baseline"):
        score_utilization(util([("A", 2, "ppa", 90, 100, 1)]), program, baseline=given)


def test_intervals_are_exact_poisson_and_absent_for_weighted_sums(program):
    got = pick(score_utilization(util([("A", 1, "ppa", 7, 5, 1), ("A", 2, "ppa", 7.5, 5, 1)]), program))
    ref = oe_ratio_interval(7, 5, alpha=0.05)
    assert_allclose(got.loc[("A", 1), ["oe_ratio", "ci_low", "ci_high"]].astype(float), [ref.ratio, ref.low, ref.high])
    assert got.loc[("A", 1), "ci_method"] == EXACT_POISSON
    assert got.loc[("A", 2), "ci_method"] == NOT_A_COUNT and np.isnan(got.loc[("A", 2), "ci_low"])


def test_zero_baseline_decides_exactly(program):
    frame = util([("A", 1, "ppa", 0, 5, 1), ("A", 2, "ppa", 0, 5, 1), ("B", 1, "ppa", 0, 5, 1), ("B", 2, "ppa", 1, 5, 1)])
    got = pick(score_utilization(frame, program))
    assert bool(got.loc[("A", 2), "meets_target"]) and not bool(got.loc[("B", 2), "meets_target"])
    assert np.isnan(got.loc[("B", 2), "reduction"])


@pytest.mark.parametrize("row, match", [(("A", 2, "ppa", -1, 5, 1), "observed >= 0"),
                                        (("A", 2, "ppa", 1, 0, 1), "expected > 0"),
                                        (("A", 2, "controlling_bp", 1, 5, 1), "utilisation measure")])
def test_bad_rows_are_refused(program, row, match):
    with pytest.raises(InputValidationError, match=match):
        score_utilization(util([row]), program)


def test_reordering_changes_nothing(program):
    rng = np.random.default_rng(2)
    frame = util([(f"A{i}", bp, m, float(rng.poisson(50)), 50.0, 1000.0) for i in range(9) for bp in (1, 2, 3, 4)
                  for m in ("ppa", "readmissions")])
    assert_frame_equal(score_utilization(frame, program), score_utilization(frame.sample(frac=1, random_state=1),
                                                                            program))
