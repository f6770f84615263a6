"""TCOC component (Sec 5.3.2): edges of the corridor, monotonicity, frame checks."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.spending.tcoc_component import tcoc_component, tcoc_components

CORRIDOR = 0.05


def test_break_even_and_the_corridor_edge_are_exact():
    assert tcoc_component(500, 500, CORRIDOR) == 1.0
    assert tcoc_component(500, 525, CORRIDOR) == 0.0  # losses of exactly 5%: the formula gives 0
    assert tcoc_component(300, 301.5, CORRIDOR) == 0.9  # a 0.5% loss: 1 - 0.5/5, no float noise


def test_just_inside_the_corridor_scores_above_zero():
    assert 0 < tcoc_component(500, 524.99, CORRIDOR) < 0.001


@given(benchmark=st.floats(1, 1e4), a=st.floats(0, 2e4), b=st.floats(0, 2e4))
def test_in_unit_interval_and_nonincreasing_in_performance(benchmark, a, b):
    low, high = sorted((a, b))
    x, y = tcoc_component(benchmark, low, CORRIDOR), tcoc_component(benchmark, high, CORRIDOR)
    assert 0 <= y <= x <= 1


@pytest.mark.parametrize("corridor", [0, -0.05, 1.5, float("nan")])
def test_bad_corridor_is_a_parameter_error(corridor):
    with pytest.raises(ParameterError, match="corridor"):
        tcoc_component(500, 510, corridor)


@pytest.mark.parametrize("benchmark, performance", [(0, 10), (-5, 10), (float("nan"), 10), (500, float("inf"))])
def test_bad_amounts_are_input_errors(benchmark, performance):
    with pytest.raises(InputValidationError):
        tcoc_component(benchmark, performance, CORRIDOR)


def _frame(**overrides):
    frame = pd.DataFrame({"entity_id": ["A", "B", "C"], "budget_period": [2, 2, 2],
                          "reference_pmpm": [400.0, 500.0, 600.0], "actual_pmpm": [390.0, 510.0, 700.0],
                          "aco_model": ["B", "A", "C"]})
    return frame.assign(**overrides)


def test_frame_keeps_other_columns_and_reordering_changes_nothing(program):
    out = tcoc_components(_frame(), program)
    assert out["aco_model"].tolist() == ["B", "A", "C"]
    assert out["tcoc_component"].tolist() == pytest.approx([1.0, 0.6, 0.0])
    shuffled = tcoc_components(_frame().iloc[[2, 0, 1]], program).sort_values("entity_id")
    pd.testing.assert_frame_equal(shuffled, out)


def test_frame_errors_name_the_rows(program):
    with pytest.raises(InputValidationError, match="reference_pmpm.*entity_id=.B."):
        tcoc_components(_frame(reference_pmpm=[400.0, 0.0, 600.0]), program)
    with pytest.raises(InputValidationError, match="actual_pmpm.*entity_id=.C."):
        tcoc_components(_frame(actual_pmpm=[390.0, 510.0, None]), program)
    with pytest.raises(InputValidationError, match="one row per key"):
        tcoc_components(_frame(entity_id=["A", "A", "C"]), program)
    with pytest.raises(InputValidationError, match="missing column"):
        tcoc_components(_frame().drop(columns="actual_pmpm"), program)


def test_empty_frame_gives_an_empty_result(program):
    out = tcoc_components(_frame().iloc[:0], program)
    assert out.empty and {"savings_pmpm", "savings_share", "tcoc_component"} <= set(out.columns)
