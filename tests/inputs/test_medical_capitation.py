"""The optional ``medical_capitation`` table: Partnership Plans only, positive amounts, one row per plan and period."""

from __future__ import annotations

import pandas as pd
import pytest
from extracts import valid_frames, write

from dsrip_lib.errors import InputValidationError
from dsrip_lib.inputs.validation import validate_dir


def capitation(*rows):
    return pd.DataFrame(rows, columns=["entity_id", "budget_period", "medical_capitation_usd"])


def problems_of(data_dir) -> str:
    with pytest.raises(InputValidationError) as info:
        validate_dir(data_dir)
    return str(info.value)


def test_a_partnership_plans_capitation_passes(tmp_path):
    frames = valid_frames() | {"medical_capitation": capitation(("ACO1", 1, 1_200_000.0), ("ACO1", 2, 1_250_000.5))}
    line = next(x for x in validate_dir(write(tmp_path, frames)).splitlines() if "medical_capitation" in x)
    assert "2 rows" in line


def test_a_capitation_row_for_an_aco_that_is_not_model_a_is_refused(tmp_path):
    """ACO2 is a model C (MCO-administered) ACO: it has a TCOC benchmark, no capitation (Sec 5.3.2)."""
    frames = valid_frames() | {"medical_capitation": capitation(("ACO1", 1, 1.0e6), ("ACO2", 1, 1.0e6))}
    message = problems_of(write(tmp_path, frames))
    assert "medical_capitation.parquet:" in message
    assert "entity_id is an ACO of model A (an Accountable Care Partnership Plan)" in message
    assert "entity_id='ACO2', budget_period=1: aco_model='C'" in message and "ACO1" not in message


def test_a_capitation_row_for_an_entity_that_is_not_an_aco_is_refused(tmp_path):
    frames = valid_frames() | {"medical_capitation": capitation(("MCO1", 1, 1.0e6))}
    message = problems_of(write(tmp_path, frames))
    assert "in entities.entity_id with entity_type aco" in message and "aco_model=null" in message


@pytest.mark.parametrize("amount", [0.0, -5.0, float("nan")])
def test_a_capitation_that_is_not_positive_is_refused(tmp_path, amount):
    frames = valid_frames() | {"medical_capitation": capitation(("ACO1", 1, 1.0e6), ("ACO1", 2, amount))}
    message = problems_of(write(tmp_path, frames))
    assert "medical_capitation.parquet:" in message and "medical_capitation_usd" in message and "1 row" in message


def test_a_duplicate_plan_and_period_is_refused(tmp_path):
    frames = valid_frames() | {"medical_capitation": capitation(("ACO1", 1, 1.0e6), ("ACO1", 1, 1.1e6))}
    message = problems_of(write(tmp_path, frames))
    assert "medical_capitation.parquet:" in message and "2 rows" in message


def test_the_preparation_period_has_no_capitation(tmp_path):
    frames = valid_frames() | {"medical_capitation": capitation(("ACO1", 0, 1.0e6))}
    assert "budget_period" in problems_of(write(tmp_path, frames))
