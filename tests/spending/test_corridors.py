"""Partnership-Plan risk corridors (dsrip_lib/spending/corridors.py): banded splits computed by hand.

The bands are built here (0-3%: plan keeps all; 3-5%: half; over 5%: State 90% of gains, 80% of
losses), not read from the illustrative bands of masshealth_dsrip.yaml, except where a test is
about that file.
"""

from __future__ import annotations

import pandas as pd
import pytest

from dsrip_lib.errors import InputValidationError
from dsrip_lib.program import load_program
from dsrip_lib.program.settlement import RiskCorridors
from dsrip_lib.spending.corridors import apply_corridors

CORRIDORS = RiskCorridors.model_validate({"bands": [
    {"up_to_share": 0.03, "state_share_of_gains": 0.0, "state_share_of_losses": 0.0},
    {"up_to_share": 0.05, "state_share_of_gains": 0.5, "state_share_of_losses": 0.5},
    {"up_to_share": None, "state_share_of_gains": 0.9, "state_share_of_losses": 0.8},
]})


def plans(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["entity_id", "medical_capitation_usd", "medical_expense_usd"])


def test_hand_computed_gain_and_loss():
    result = apply_corridors(plans(("gain", 1_000_000.0, 900_000.0), ("loss", 2_000_000.0, 2_140_000.0)), CORRIDORS)
    out = result.plans.set_index("entity_id")
    # gain $100,000 = 10%: 0-3% ($30,000) plan; 3-5% ($20,000) half = $10,000 State; 5-10% ($50,000) 90% = $45,000.
    assert out.loc["gain", ["gain_usd", "gain_share", "state_usd", "plan_usd"]].tolist() == [
        100_000.0, 0.1, 55_000.0, 45_000.0]
    # loss $140,000 = 7%: 0-3% ($60,000) plan; 3-5% ($40,000) half; 5-7% ($40,000) State bears 80% = $32,000.
    assert out.loc["loss", ["gain_usd", "state_usd", "plan_usd"]].tolist() == [-140_000.0, -52_000.0, -88_000.0]
    bands = result.bands[result.bands["entity_id"] == "loss"]
    assert bands["in_band_usd"].tolist() == [-60_000.0, -40_000.0, -40_000.0]
    assert bands["state_usd"].tolist() == [0.0, -20_000.0, -32_000.0]
    assert bands["band"].tolist() == ["0.0% to 3.0%", "3.0% to 5.0%", "5.0% and over"]
    assert "1 with medical gains ($100,000.00), 1 with losses ($140,000.00)" in result.summary()


def test_band_edges_and_break_even():
    out = apply_corridors(plans(("edge", 1_000_000.0, 970_000.0), ("even", 500_000.0, 500_000.0),
                                ("cent", 1_000_000.0, 969_999.99)), CORRIDORS).plans.set_index("entity_id")
    assert out.loc["edge", "state_usd"] == 0.0 and out.loc["edge", "plan_usd"] == 30_000.0  # exactly 3%: all plan
    assert out.loc["cent", "state_usd"] == 0.0  # half of one cent over the edge rounds (half-even) to 0
    assert out.loc["even", ["gain_usd", "state_usd", "plan_usd"]].tolist() == [0.0, 0.0, 0.0]


def test_shares_always_add_up_and_scale_with_the_money():
    frame = plans(("a", 1_234_567.89, 1_100_000.01), ("b", 987_654.32, 1_050_000.00), ("c", 50_000.0, 49_000.0))
    base = apply_corridors(frame, CORRIDORS).plans
    assert (base["state_usd"] + base["plan_usd"]).round(2).tolist() == base["gain_usd"].tolist()
    scaled = apply_corridors(frame.assign(medical_capitation_usd=frame["medical_capitation_usd"] * 10,
                                          medical_expense_usd=frame["medical_expense_usd"] * 10), CORRIDORS).plans
    assert scaled["gain_share"].tolist() == pytest.approx(base["gain_share"].tolist())
    assert scaled["state_usd"].to_numpy() == pytest.approx(10 * base["state_usd"].to_numpy(), abs=0.05)


def test_the_masshealth_definition_supplies_its_illustrative_bands():
    program = load_program("masshealth_dsrip")
    result = apply_corridors(plans(("p", 1_000_000.0, 1_000_000.0)), program)
    assert len(result.bands) == len(program.partnership_plan_risk_corridors.bands)


@pytest.mark.parametrize("row, message", [
    (("p", 0.0, 10.0), "medical_capitation_usd: must be a positive number"),
    (("p", float("nan"), 10.0), "medical_capitation_usd: must be a positive number"),
    (("p", 100.0, -1.0), "medical_expense_usd: must be a number >= 0"),
])
def test_bad_plans_are_named(row, message):
    with pytest.raises(InputValidationError, match=message):
        apply_corridors(plans(("ok", 100.0, 90.0), row), CORRIDORS)


def test_duplicates_and_missing_columns():
    with pytest.raises(InputValidationError, match="must be unique"):
        apply_corridors(plans(("p", 100.0, 90.0), ("p", 100.0, 90.0)), CORRIDORS)
    with pytest.raises(InputValidationError, match="missing column"):
        apply_corridors(plans(("p", 100.0, 90.0)).drop(columns="medical_expense_usd"), CORRIDORS)
