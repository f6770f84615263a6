"""The targets report: the program's goals from the stages, the driver diagram against actuals, end to end."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import yaml

from dsrip_lib.accountability.adoption import adoption_rates
from dsrip_lib.errors import InputValidationError, ParameterError, ReportError
from dsrip_lib.reports import targets as report
from dsrip_lib.run import runner
from dsrip_lib.tracking.diagram import diagram_path
from dsrip_lib.tracking.status import STATUSES

SIM = "ct_sim_driver_diagram"


def _context(data_dir, **options):
    return report.open_targets_report(program="masshealth_dsrip", data_dir=str(data_dir), options=options)


@pytest.fixture(scope="module")
def tiny_context(tiny_data):
    return _context(tiny_data, missing_domain="reweight", driver_diagram=SIM)


@pytest.fixture(scope="module")
def goals(tiny_context):
    return report.goal_tracker(tiny_context)


@pytest.fixture(scope="module")
def diagram(tiny_context):
    return report.diagram_tracker(tiny_context)


def _cell(tracker, measure_id, period):
    s = tracker.statuses
    return s[(s["measure_id"] == measure_id) & (s["period"] == period)].iloc[0]


def test_goal_actuals_are_the_adoption_stage_rates(tiny_context, goals):
    ctx = tiny_context
    rates = adoption_rates(ctx.program, [p.number for p in ctx.program.calendar.budget_periods("aco")],
                           *(ctx.data.table(n) for n in ("enrollment", "pcp_assignments", "providers", "entities",
                                                         "claims")), if_empty="report")
    labels = {p.number: p.label for p in ctx.program.calendar.budget_periods("aco")}
    for r in rates:
        cell = _cell(goals, "adoption_rate", labels[r.budget_period])
        if r.rate is not None:
            assert cell["actual"] == r.rate
        if r.passed is not None:
            assert cell["status"] == ("on track" if r.passed else "off track")  # the same exact decision


def test_goal_statuses_cover_every_cell_and_periods_end_with_the_data(goals):
    assert set(goals.statuses["status"]) <= set(STATUSES)
    assert len(goals.statuses) == len(goals.table.targets)
    assert goals.as_of == pd.Timestamp("2022-12-31").date()  # the last enrollment month's last day


def test_the_planted_actuals_get_their_statuses(tiny_data, diagram):
    truth = json.loads((tiny_data / "truth.json").read_text())["effects"]["target_actuals"]
    assert diagram.as_of.isoformat() == truth["as_of"]
    missed, unreported, revised = (_cell(diagram, *truth[k]) for k in ("missed", "unreported", "revised"))
    assert (missed["status"], missed["reason"]) == ("off track", "missed")
    assert (unreported["status"], unreported["reason"]) == ("off track", "no actual reported")
    assert (revised["status"], revised["reason"]) == ("on track", "met")  # the revision, not the first report
    py3 = diagram.statuses[diagram.statuses["period"] == "PY3"]
    assert set(py3["status"]) <= {"not yet due", "no target", "target to be determined"}
    off = diagram.statuses[diagram.statuses["status"] == "off track"]
    assert sorted(zip(off["measure_id"], off["period"])) == sorted([tuple(truth["missed"]),
                                                                   tuple(truth["unreported"])])


def test_published_tables_hold_no_silent_blank(goals, diagram):
    for tracker in (goals, diagram):
        tables = [report.status_table(tracker), report.status_matrix(tracker), report.periods_table(tracker)]
        tables += [report.rollup_table(tracker, level) for level in ("secondary_driver", "primary_driver", "aim")]
        for table in tables:
            assert not table.isna().any().any(), table
    shown = report.status_table(diagram).set_index(["measure_id", "period"])
    assert shown.loc[("1.1.2", "PY2"), "target_text"] == "-" and shown.loc[("2.3.4", "PIP"), "target_text"] == "TBD"
    assert shown.loc[("1.2.4", "PIP"), "target_text"] == "(blank)"
    assert shown.loc[("2.1.5", "PY3"), "target_text"] == "75%"


def test_no_driver_diagram_without_the_option(tiny_data):
    assert report.diagram_tracker(_context(tiny_data)) is None


def _copy(tiny_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    return data


def test_the_option_without_the_actuals_table_is_an_error(tiny_data, tmp_path):
    data = _copy(tiny_data, tmp_path)
    (data / "target_actuals.parquet").unlink()
    with pytest.raises(InputValidationError, match="needs the table 'target_actuals'"):
        report.diagram_tracker(_context(data, driver_diagram=SIM))


def test_an_actuals_row_for_an_unknown_measure_names_file_column_and_row(tiny_data, tmp_path):
    data = _copy(tiny_data, tmp_path)
    actuals = pd.read_parquet(data / "target_actuals.parquet")
    extra = pd.DataFrame({"measure_id": ["5.1.1"], "period": ["PY1"], "value": [1.0], "as_of": [actuals["as_of"][0]]})
    pd.concat([actuals, extra]).to_parquet(data / "target_actuals.parquet", index=False)
    with pytest.raises(InputValidationError, match=r"target_actuals\.parquet, column measure_id.*measure_id='5\.1\.1'"):
        report.diagram_tracker(_context(data, driver_diagram=SIM))


def test_a_bad_driver_diagram_option_is_refused_on_entry(tiny_data, tmp_path):
    with pytest.raises(ParameterError, match="options.driver_diagram.*driver diagram not found"):
        _context(tiny_data, driver_diagram="no_such_diagram")
    bad = tmp_path / "bad.yaml"
    raw = yaml.safe_load(diagram_path(SIM).read_text())
    raw["primary_drivers"][0]["secondary_drivers"][0]["measures"][0]["targets"]["PY4"] = 1
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(ParameterError, match=r"target period\(s\) \['PY4'\]"):
        _context(tiny_data, driver_diagram=str(bad))


def _params(tmp_path, data_dir, **options):
    params = tmp_path / "t.yaml"
    params.write_text(yaml.safe_dump({"run_id": "t", "data_dir": str(data_dir), "reports_dir": str(tmp_path / "r"),
                                      "options": {"targets": {"missing_domain": "reweight", **options}}}))
    return params


def test_a_bad_option_stops_the_run_before_anything_is_written(tiny_data, tmp_path):
    with pytest.raises(ParameterError, match="options.targets.driver_diagram"):
        runner.run_notebook("targets", _params(tmp_path, tiny_data, driver_diagram="no_such_diagram"), {})
    assert not (tmp_path / "r" / "t").exists()


def test_an_unknown_measure_fails_the_run_and_writes_nothing(tiny_data, tmp_path):
    data = _copy(tiny_data, tmp_path)
    actuals = pd.read_parquet(data / "target_actuals.parquet")
    actuals.loc[0, "measure_id"] = "5.1.1"
    actuals.to_parquet(data / "target_actuals.parquet", index=False)
    with pytest.raises(ReportError, match="a measure of the driver diagram"):
        runner.run_notebook("targets", _params(tmp_path, data, driver_diagram=SIM), {})
    assert not (tmp_path / "r" / "t").exists()


@pytest.mark.slow
def test_report_end_to_end_publishes_goals_and_the_driver_diagram(tiny_data, tmp_path):
    html = runner.run_notebook("targets", _params(tmp_path, tiny_data, driver_diagram=SIM), {})
    values = json.loads(html.with_name("targets.results.json").read_text())
    assert values["diagram_off_track"]["value"] == 2  # the two planted misses
    assert values["diagram_target_to_be_determined"]["value"] == 35
    assert values["goals_on_track"]["value"] + values["goals_off_track"]["value"] > 0
    text = html.read_text()
    for heading in ("Program target tracker", "Program goals", "Driver diagram", "not yet due"):
        assert heading in text
