"""Actuals against a driver diagram, and the contract's target_actuals table."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from dsrip_lib.errors import InputValidationError
from dsrip_lib.inputs.validation import validate_dir
from dsrip_lib.tracking.actuals import check_actuals
from dsrip_lib.tracking.diagram import load_diagram


@pytest.fixture(scope="module")
def sim():
    return load_diagram("ct_sim_driver_diagram")


def _actuals(*rows):
    return pd.DataFrame(rows, columns=["measure_id", "period", "value", "as_of"])


def test_an_actual_for_a_measure_not_in_the_diagram_is_named(sim):
    actuals = _actuals(("1.1.1", "PIP", 3.0, None), ("9.9.9", "PY1", 1.0, None), ("9.9.8", "PY2", 2.0, None))
    with pytest.raises(InputValidationError, match=r"target_actuals\.csv, column measure_id: rule \"a measure of the "
                                                   r"driver diagram ct_sim_driver_diagram\": 2 row\(s\), "
                                                   r"e\.g\. measure_id='9\.9\.9'"):
        check_actuals(actuals, sim, "target_actuals.csv")


@pytest.mark.parametrize(("row", "column"), [
    (("1.1.1", "PY4", 3.0, None), "period"),
    (("1.1.1", "PIP", float("nan"), None), "value"),
])
def test_a_bad_period_or_value_is_named(sim, row, column):
    with pytest.raises(InputValidationError, match=f"column {column}"):
        check_actuals(_actuals(row), sim, "target_actuals.csv")


def test_two_values_for_one_measure_period_and_date_are_refused(sim):
    rows = [("1.1.1", "PIP", 3.0, "2016-03-31"), ("1.1.1", "PIP", 4.0, "2016-03-31")]
    with pytest.raises(InputValidationError, match="one row per key"):
        check_actuals(_actuals(*rows), sim, "target_actuals.csv")
    check_actuals(_actuals(rows[0], ("1.1.1", "PIP", 4.0, "2016-04-30")), sim, "target_actuals.csv")  # a revision


def test_the_synthetic_actuals_fit_the_diagram_and_say_they_are_illustrative(tiny_data, sim):
    actuals = pd.read_parquet(tiny_data / "target_actuals.parquet")
    check_actuals(actuals, sim, "target_actuals.parquet")
    truth = json.loads((tiny_data / "truth.json").read_text())["effects"]["target_actuals"]
    assert truth["illustrative"] is True and truth["diagram"] == "ct_sim_driver_diagram"
    assert actuals["as_of"].max().isoformat() == truth["as_of"]


@pytest.mark.parametrize(("period", "value", "rule"), [("PY4", "3", "period"), ("PY1", "inf", "value")])
def test_the_contract_refuses_a_period_outside_pip_py3_and_a_non_finite_value(tiny_data, tmp_path, period, value,
                                                                              rule):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    (data / "target_actuals.parquet").unlink()
    (data / "target_actuals.csv").write_text(f"measure_id,period,value,as_of\n1.1.1,PIP,3,2016-03-31\n"
                                             f"1.1.1,{period},{value},2017-03-31\n")
    with pytest.raises(InputValidationError, match=rf"(?s)target_actuals.*{rule}"):
        validate_dir(data)
