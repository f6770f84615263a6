"""The MassHealth goal table from the program definition, and its actuals from stage results."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dsrip_lib.accountability.adoption import AdoptionResult
from dsrip_lib.errors import ParameterError
from dsrip_lib.program import load_program
from dsrip_lib.quality.state_domains import DomainTests
from dsrip_lib.quality.state_utilization import StateUtilization
from dsrip_lib.tracking.goals import goal_actuals, has_goals, program_goals
from dsrip_lib.tracking.status import target_statuses


@pytest.fixture(scope="module")
def goals(program):
    return program_goals(program)


def _targets(goals, measure_id):
    rows = goals.targets[goals.targets["measure_id"] == measure_id]
    return dict(zip(rows["period"], rows["target"].where(rows["cell"] == "number", rows["cell"])))


def test_targets_are_the_exhibits(goals, program):
    rules = program.state_accountability
    labels = {p.number: p.label for p in program.calendar.budget_periods("aco")}
    for measure_id, table in [("adoption_rate", rules.adoption.targets),
                              ("spending_reduction", rules.spending_growth.reduction_targets),
                              ("utilization.ppa", rules.quality_utilization.avoidable_utilization_targets["ppa"])]:
        assert _targets(goals, measure_id) == {labels[bp]: "-" if v is None else v for bp, v in table.items()}
    assert _targets(goals, "adoption_rate") == {"Prep": "-", "BP 1": 0.25, "BP 2": 0.30, "BP 3": 0.35, "BP 4": 0.40,
                                                "BP 5": 0.45}  # Exhibit 26


def test_each_tested_quality_domain_must_not_be_worse(goals):
    quality = goals.measures[goals.measures["secondary_driver_id"] == "quality_domains"]
    assert "quality.avoidable_utilization" not in set(quality["measure_id"])  # scored by Exhibit 29 instead
    assert len(quality) == 6
    assert _targets(goals, "quality.behavioral_health") == {"Prep": "-", "BP 1": "-", "BP 2": 1.0, "BP 3": 1.0,
                                                            "BP 4": 1.0, "BP 5": 1.0}


def test_a_program_without_state_accountability_has_no_goals():
    ct = load_program("ct_pcmh_plus")
    assert not has_goals(ct)
    with pytest.raises(ParameterError, match="defines no State accountability goals"):
        program_goals(ct)


def test_actuals_from_stage_results_get_their_statuses(goals, program):
    adoption = [AdoptionResult(1, 100, 30, 0.30, 0.25, True, {}), AdoptionResult(5, 100, 40, 0.40, 0.45, False, {}),
                AdoptionResult(2, 0, 0, None, 0.30, None, {})]
    tests = {3: DomainTests(3, "aco_strata", 0.1, pd.DataFrame({"domain": ["behavioral_health", "ltss"],
                                                                 "score": [0.0, 1.0]}))}
    used = {3: StateUtilization(3, 0.5, pd.DataFrame({"measure_id": ["ppa", "readmissions"],
                                                       "reduction": [0.08, float("nan")]}))}
    actuals = goal_actuals(program, adoption, None, tests, used)
    assert len(actuals) == 2 + 2 + 1  # no row for an empty adoption period or a missing reduction
    statuses = target_statuses(goals, actuals, dt.date(2022, 12, 31)).set_index(["measure_id", "period"])["status"]
    assert statuses[("adoption_rate", "BP 1")] == "on track"
    assert statuses[("adoption_rate", "BP 5")] == "off track"
    assert statuses[("adoption_rate", "BP 2")] == "off track"            # due, no actual
    assert statuses[("quality.behavioral_health", "BP 3")] == "off track"  # statistically worse
    assert statuses[("quality.ltss", "BP 3")] == "on track"
    assert statuses[("utilization.ppa", "BP 3")] == "on track"           # 8% >= 7% (Exhibit 29)
    assert statuses[("spending_reduction", "BP 1")] == "no target"
