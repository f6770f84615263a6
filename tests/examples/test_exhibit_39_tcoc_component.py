"""Exhibit 39: the three worked scenarios of the TCOC component (Sec 5.3.2).

MassHealth DSRIP Protocol, Sec 5.3.2, Exhibit 39: Final TCOC Benchmark $500 PMPM; performance
$490 (savings of $10, 2%: 100%), $550 (losses of $50, 10%: 0%), $520 (losses of $20, 4%:
($25 - $20) / $25 = 20%). Inputs and published figures: data/examples/exhibit_39_tcoc_component.csv.
"""

from __future__ import annotations

import pandas as pd
import pytest
from pytest import approx

from dsrip_lib.spending.tcoc_component import partnership_tcoc_component, tcoc_component, tcoc_components


@pytest.fixture
def scenarios(example):
    return example("exhibit_39_tcoc_component")


def test_each_scenario_at_the_published_precision(scenarios, program):
    corridor = program.aco_accountability.tcoc_loss_corridor_share
    for row in scenarios.itertuples():
        got = tcoc_component(row.benchmark_pmpm, row.performance_pmpm, corridor)
        assert got == approx(row.published_component, abs=1e-12), row.scenario


def test_scenario_3_is_exactly_twenty_percent(program):
    # ($25 - $20) / $25: the exact decimal arithmetic gives 0.2 itself, not 0.19999...
    assert tcoc_component(500, 520, program.aco_accountability.tcoc_loss_corridor_share) == 0.2


def test_frame_form_reproduces_savings_and_components(scenarios, program):
    frame = pd.DataFrame({"entity_id": [f"S{s}" for s in scenarios["scenario"]], "budget_period": 4,
                          "reference_pmpm": scenarios["benchmark_pmpm"], "actual_pmpm": scenarios["performance_pmpm"]})
    out = tcoc_components(frame, program)
    assert out["savings_pmpm"].tolist() == approx(scenarios["published_savings_pmpm"].tolist())
    assert out["savings_share"].tolist() == approx(scenarios["published_savings_share"].tolist())
    assert out["tcoc_component"].tolist() == approx(scenarios["published_component"].tolist())


def test_partnership_plan_variant_is_the_same_formula_on_capitation(scenarios, program):
    corridor = program.aco_accountability.tcoc_loss_corridor_share
    for row in scenarios.itertuples():
        assert partnership_tcoc_component(row.benchmark_pmpm, row.performance_pmpm, corridor) == approx(
            row.published_component, abs=1e-12)
