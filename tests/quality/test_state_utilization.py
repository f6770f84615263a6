"""The State's avoidable-utilisation domain (Sec 5.2.1.3, Exhibit 29; Appendix C step 3(b))."""

from __future__ import annotations

import pandas as pd
import pytest
from pytest import approx

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.quality.state_utilization import state_utilization


def rows(bp: int, ppa: tuple[float, float], readmissions: tuple[float, float], acos=("A", "B")) -> pd.DataFrame:
    """(observed, expected) per measure, split evenly over the ACOs."""
    out = []
    for measure, (observed, expected) in (("ppa", ppa), ("readmissions", readmissions)):
        for aco in acos:
            out.append((aco, bp, measure, observed / len(acos), expected / len(acos), 100.0))
    return pd.DataFrame(out, columns=["entity_id", "budget_period", "measure_id", "observed", "expected",
                                      "member_months"])


def test_statewide_ratio_pools_acos_before_dividing(program):
    # ACO A: 30/20, ACO B: 10/80 -> statewide 40/100 (not the mean of 1.5 and 0.125).
    current = pd.DataFrame({"entity_id": ["A", "B", "A", "B"], "budget_period": 3,
                            "measure_id": ["ppa", "ppa", "readmissions", "readmissions"],
                            "observed": [30.0, 10.0, 45.0, 45.0], "expected": [20.0, 80.0, 50.0, 50.0],
                            "member_months": 1.0})
    base = rows(1, (50.0, 100.0), (100.0, 100.0))
    result = state_utilization(pd.concat([base, current]), 3, program, baseline_bp=1)
    table = result.table().set_index("measure_id")
    assert table.at["ppa", "oe_ratio"] == approx(0.4) and table.at["ppa", "reduction"] == approx(0.2)
    assert table.at["ppa", "score"] == 1.0  # 20% >= 7% (BP 3)
    assert table.at["readmissions", "reduction"] == approx(0.1) and table.at["readmissions", "score"] == 1.0
    assert result.score == 1.0


def test_gap_to_goal_per_measure_and_mean(program):
    # BP 4 targets 12% / 15%: 9% PPA -> (9 - 6) / 6 = 50%; 5% readmissions (< 7.5%) -> 0.
    data = pd.concat([rows(1, (100.0, 100.0), (100.0, 100.0)), rows(4, (91.0, 100.0), (95.0, 100.0))])
    result = state_utilization(data, 4, program, baseline_bp=1)
    assert result.table().set_index("measure_id")["score"].to_dict() == approx({"ppa": 0.5, "readmissions": 0.0})
    assert result.score == approx(0.25)
    assert "BP 4" in result.summary()


def test_target_met_exactly(program):
    # O/E 0.255 / 0.3 = 0.85 against 1.0 is a 15% reduction exactly (BP 4 readmissions target 15%);
    # in floats 1 - 0.255 / 0.3 is 0.1499999999999999 and would miss it. Computed in fractions.
    assert 1 - 0.255 / 0.3 < 0.15
    data = pd.concat([rows(1, (100.0, 100.0), (0.3, 0.3), acos=("A",)), rows(4, (88.0, 100.0), (0.255, 0.3),
                                                                              acos=("A",))])
    assert state_utilization(data, 4, program, baseline_bp=1).table().set_index("measure_id").at[
        "readmissions", "score"] == 1.0


def test_worse_than_baseline_scores_zero_and_order_does_not_matter(program):
    data = pd.concat([rows(1, (100.0, 100.0), (100.0, 100.0)), rows(5, (120.0, 100.0), (101.0, 100.0),
                                                                     acos=("A", "B", "C"))])
    result = state_utilization(data, 5, program, baseline_bp=1)
    assert result.score == 0.0
    shuffled = state_utilization(data.sample(frac=1, random_state=3), 5, program, baseline_bp=1)
    pd.testing.assert_frame_equal(shuffled.table(), result.table())


def test_bad_input(program):
    data = pd.concat([rows(1, (100.0, 100.0), (100.0, 100.0)), rows(4, (90.0, 100.0), (90.0, 100.0))])
    with pytest.raises(ParameterError, match="exactly one"):
        state_utilization(data, 4, program)
    with pytest.raises(ParameterError, match="exactly one"):
        state_utilization(data, 4, program, baseline=data, baseline_bp=1)
    with pytest.raises(ParameterError, match="Exhibit 29"):  # BP 1 is "Reporting Only"
        state_utilization(data, 1, program, baseline_bp=1)
    with pytest.raises(InputValidationError, match="readmissions"):
        state_utilization(data.loc[data["measure_id"] != "readmissions"], 4, program, baseline_bp=1)
    with pytest.raises(InputValidationError, match="expected"):
        state_utilization(data.assign(expected=0.0), 4, program, baseline_bp=1)
    with pytest.raises(InputValidationError, match="observed >= 0"):
        state_utilization(data.assign(observed=-1.0), 4, program, baseline_bp=1)
    with pytest.raises(InputValidationError, match="no observed"):
        state_utilization(data, 4, program, baseline=pd.DataFrame({"measure_id": ["ppa", "readmissions"],
                                                                   "observed": 0.0, "expected": 1.0}))
