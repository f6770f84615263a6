"""The Connecticut SIM driver diagram as a params file: transcription spot checks and bad files."""

from __future__ import annotations

import pytest
import yaml

from dsrip_lib.errors import ParameterError
from dsrip_lib.params import params_dir
from dsrip_lib.tracking.diagram import load_diagram

SIM = "ct_sim_driver_diagram"


@pytest.fixture(scope="module")
def sim():
    return load_diagram(SIM)


def _cell(table, measure_id, period):
    row = table.targets[(table.targets["measure_id"] == measure_id) & (table.targets["period"] == period)]
    assert len(row) == 1
    row = row.iloc[0]
    return row["target"] if row["cell"] == "number" else row["cell"]


def test_measures_per_driver_as_in_the_source(sim):
    per_secondary = dict(zip(sim.counts_per_driver()["secondary_driver_id"], sim.counts_per_driver()["measures"]))
    assert per_secondary == {"1.1": 2, "1.2": 4, "1.3": 1, "1.4": 3, "2.1": 5, "2.2": 5, "2.3": 7, "2.4": 3,
                             "3.1": 4, "3.2": 2, "3.3": 2, "3.4": 1, "4.1": 5, "4.2": 3, "4.3": 6, "4.4": 1,
                             "4.5": 1, "4.6": 1}
    assert sim.measures.groupby("primary_driver_id").size().to_dict() == {"1": 10, "2": 20, "3": 9, "4": 17}
    assert len(sim.targets) == 56 * 4 and sim.period_order == ["PIP", "PY1", "PY2", "PY3"]
    assert set(sim.aims["aim_id"]) == {"healthier_people", "better_care", "reduced_costs"}


@pytest.mark.parametrize(("measure_id", "period", "expected"), [
    ("1.1.1", "PIP", 3), ("1.1.1", "PY3", 12),                     # multi-stakeholder council meetings
    ("1.1.2", "PY2", "-"),                                          # a dash stays a dash, never 0
    ("1.2.4", "PIP", "blank"), ("1.2.4", "PY2", 2),                 # empty cells in the source
    ("1.4.3", "PY3", 5),                                            # PSC demonstrations launched
    ("2.1.5", "PIP", 0.44), ("2.1.5", "PY3", 0.75),                 # 44% and 75%, as fractions
    ("2.2.2", "PIP", "blank"), ("2.2.3", "PY2", 3000),              # "3,000"
    ("2.3.3", "PIP", 5), ("2.3.3", "PY1", "TBD"),                   # TBD stays TBD
    ("3.1.1", "PY1", 215000), ("3.1.4", "PY2", 1624),               # the PCP row read from its clean line
    ("3.2.1", "PIP", 1099882), ("3.2.1", "PY3", 2595792),
    ("3.3.2", "PY1", 0.59), ("4.1.4", "PY3", 0), ("4.2.2", "PY1", "blank"),
    ("4.3.1", "PIP", "-"), ("4.5.1", "PY2", "TBD"),
])
def test_cells_match_the_source(sim, measure_id, period, expected):
    assert _cell(sim, measure_id, period) == expected


def test_no_dash_tbd_or_blank_is_stored_as_a_number(sim):
    unscored = sim.targets[sim.targets["cell"] != "number"]
    assert unscored["target"].isna().all() and not unscored.empty
    assert sim.targets["cell"].value_counts().to_dict() == {"number": 143, "-": 41, "TBD": 35, "blank": 5}
    assert sim.notes and "assumed" in sim.notes[0]  # the period dates are not the source's


def _write(tmp_path, edit):
    raw = yaml.safe_load((params_dir() / "targets" / f"{SIM}.yaml").read_text())
    edit(raw)
    path = tmp_path / "diagram.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _first_measure(raw):
    return raw["primary_drivers"][0]["secondary_drivers"][0]["measures"][0]


def test_a_target_period_outside_pip_py3_is_refused(tmp_path):
    path = _write(tmp_path, lambda raw: _first_measure(raw)["targets"].update(PY4=12))
    message = r"(?s)diagram.yaml.*measure 1\.1\.1: target period\(s\) \['PY4'\] outside PIP"
    with pytest.raises(ParameterError, match=message):
        load_diagram(path)


def test_a_period_added_to_the_calendar_is_refused(tmp_path):
    path = _write(tmp_path, lambda raw: raw["periods"].update(PY4={"start": "2019-02-01", "end": "2020-01-31"}))
    with pytest.raises(ParameterError, match="periods must be PIP, PY1, PY2, PY3"):
        load_diagram(path)


def test_a_duplicate_measure_is_refused(tmp_path):
    def duplicate(raw):
        measures = raw["primary_drivers"][0]["secondary_drivers"][0]["measures"]
        measures[1]["id"] = measures[0]["id"]
    with pytest.raises(ParameterError, match=r"duplicate measure id\(s\) \['1\.1\.1'\]"):
        load_diagram(_write(tmp_path, duplicate))


@pytest.mark.parametrize(("cell", "message"), [
    (None, "targets.PIP"), (True, "targets.PIP"), ("n/a", "targets.PIP"), (-1, "not a number >= 0"),
])
def test_a_bad_cell_is_named_with_its_measure_and_field(tmp_path, cell, message):
    path = _write(tmp_path, lambda raw: _first_measure(raw)["targets"].update(PIP=cell))
    with pytest.raises(ParameterError, match=message) as err:
        load_diagram(path)
    assert "diagram.yaml" in str(err.value)


def test_a_missing_period_cell_is_refused(tmp_path):
    path = _write(tmp_path, lambda raw: _first_measure(raw)["targets"].pop("PY2"))
    with pytest.raises(ParameterError, match=r"measure 1\.1\.1: no target cell for period\(s\) \['PY2'\]"):
        load_diagram(path)


def test_a_share_above_one_is_refused(tmp_path):
    def percent(raw):
        raw["primary_drivers"][1]["secondary_drivers"][0]["measures"][4]["targets"]["PIP"] = 44
    with pytest.raises(ParameterError, match=r"measure 2\.1\.5, period PIP: target 44 is not a fraction"):
        load_diagram(_write(tmp_path, percent))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ParameterError, match="driver diagram not found"):
        load_diagram(tmp_path / "nope.yaml")
