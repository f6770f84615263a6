"""Statuses and roll-ups on a hand-made diagram and actuals: every cell kind and every status."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import yaml

from dsrip_lib.errors import ParameterError
from dsrip_lib.tracking.diagram import load_diagram
from dsrip_lib.tracking.status import rollup, target_statuses

DIAGRAM = {
    "name": "hand", "title": "Hand-made diagram", "source": "this test", "period_dates_stated": True,
    "periods": {p: {"start": f"{year}-01-01", "end": f"{year}-12-31"}
                for p, year in zip(("PIP", "PY1", "PY2", "PY3"), range(2015, 2019))},
    "default_direction": "at_least",
    "aims": [{"id": "a1", "name": "Aim one"}, {"id": "a2", "name": "Aim two"}],
    "primary_drivers": [
        {"id": "1", "name": "Driver one", "aims": ["a1", "a2"], "secondary_drivers": [
            {"id": "1.1", "name": "Secondary 1.1", "measures": [
                {"id": "m1", "name": "Meetings held", "targets": {"PIP": 3, "PY1": 12, "PY2": 12, "PY3": 12}},
                {"id": "m2", "name": "Engagements", "targets": {"PIP": 10, "PY1": 20, "PY2": "-", "PY3": "-"}}]},
            {"id": "1.2", "name": "Secondary 1.2", "measures": [
                {"id": "m3", "name": "Documents", "targets": {"PIP": "TBD", "PY1": "TBD", "PY2": "TBD", "PY3": "TBD"}},
                {"id": "m4", "name": "Share aligned", "unit": "share",
                 "targets": {"PIP": "blank", "PY1": 0.55, "PY2": 0.65, "PY3": 0.75}}]}]},
        {"id": "2", "name": "Driver two", "aims": ["a2"], "secondary_drivers": [
            {"id": "2.1", "name": "Secondary 2.1", "measures": [
                {"id": "m5", "name": "Wait days", "direction": "at_most",
                 "targets": {"PIP": "-", "PY1": 30, "PY2": 20, "PY3": 10}}]}]},
    ],
}
AS_OF = dt.date(2017, 6, 30)  # PIP and PY1 ended; PY2 and PY3 running


def _actuals(*rows):
    return pd.DataFrame(rows, columns=["measure_id", "period", "value", "as_of"]).assign(
        as_of=lambda f: pd.to_datetime(f["as_of"]).dt.date)


ACTUALS = _actuals(
    ("m1", "PIP", 3.0, "2016-02-01"),     # exactly the target: met
    ("m1", "PY1", 11.0, "2017-02-01"),    # below: missed
    ("m1", "PY2", 20.0, "2017-05-01"),    # above, but PY2 has not ended
    ("m2", "PIP", 12.0, "2016-02-01"),
    # m2 PY1: no actual -> off track
    ("m3", "PIP", 7.0, "2016-02-01"),     # an actual against TBD is shown, never scored
    ("m4", "PY1", 0.50, "2017-02-01"),    # first report misses ...
    ("m4", "PY1", 0.55, "2017-04-01"),    # ... the revision meets exactly
    ("m4", "PY1", 0.40, "2017-09-01"),    # reported after the as-of date: not counted
    ("m5", "PY1", 30.0, "2017-02-01"),    # at most 30: met
    ("m5", "PIP", 99.0, None),            # no as_of: counts at any date; the cell is "-"
)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("diagram") / "hand.yaml"
    path.write_text(yaml.safe_dump(DIAGRAM, sort_keys=False))
    return load_diagram(path)


@pytest.fixture(scope="module")
def statuses(table):
    return target_statuses(table, ACTUALS, AS_OF)


def _status(statuses, measure_id, period):
    row = statuses[(statuses["measure_id"] == measure_id) & (statuses["period"] == period)].iloc[0]
    return row["status"], row["reason"]


@pytest.mark.parametrize(("measure_id", "period", "status", "reason"), [
    ("m1", "PIP", "on track", "met"),
    ("m1", "PY1", "off track", "missed"),
    ("m1", "PY2", "not yet due", "period not ended"),
    ("m1", "PY3", "not yet due", "period not ended"),
    ("m2", "PY1", "off track", "no actual reported"),
    ("m2", "PY2", "no target", ""),
    ("m3", "PIP", "target to be determined", ""),
    ("m4", "PIP", "no target given (blank)", ""),
    ("m4", "PY1", "on track", "met"),
    ("m5", "PIP", "no target", ""),
    ("m5", "PY1", "on track", "met"),
])
def test_status_of_each_cell(statuses, measure_id, period, status, reason):
    assert _status(statuses, measure_id, period) == (status, reason)


def test_the_latest_actual_reported_by_the_as_of_date_counts(statuses):
    row = statuses[(statuses["measure_id"] == "m4") & (statuses["period"] == "PY1")].iloc[0]
    assert row["actual"] == 0.55 and row["actual_as_of"] == dt.date(2017, 4, 1)
    m3 = statuses[(statuses["measure_id"] == "m3") & (statuses["period"] == "PIP")].iloc[0]
    assert m3["actual"] == 7.0 and pd.isna(m3["target"])  # TBD is never read as a number


def test_at_most_is_missed_above_the_target(table):
    late = target_statuses(table, _actuals(("m5", "PY1", 31.0, "2017-02-01")), AS_OF)
    assert _status(late, "m5", "PY1") == ("off track", "missed")


def test_a_later_as_of_date_makes_a_period_due(table):
    later = target_statuses(table, ACTUALS, dt.date(2017, 12, 31))  # PY2's last day: due
    assert _status(later, "m1", "PY2") == ("on track", "met")
    assert _status(later, "m4", "PY1") == ("off track", "missed")  # now the 0.40 revision counts
    assert _status(later, "m4", "PY2") == ("off track", "no actual reported")


def test_every_cell_gets_exactly_one_status(table, statuses):
    assert len(statuses) == len(table.targets) == 5 * 4
    assert statuses["status"].notna().all()


def test_rollups_count_cells_and_apply_the_rule(table, statuses):
    secondary = rollup(table, statuses, "secondary_driver").set_index("secondary_driver_id")
    assert secondary.loc["1.1", ["on track", "off track", "not yet due", "no target"]].tolist() == [2, 2, 2, 2]
    assert secondary.loc["1.1", "status"] == "off track"
    assert secondary.loc["1.2", ["on track", "not yet due", "target to be determined",
                                 "no target given (blank)"]].tolist() == [1, 2, 4, 1]
    assert secondary.loc["1.2", "status"] == "on track"       # no cell off track, one on track
    assert secondary.loc["2.1", "status"] == "on track"
    primary = rollup(table, statuses, "primary_driver").set_index("primary_driver_id")
    assert primary.loc["1", "measures"] == 4 and primary.loc["1", "status"] == "off track"
    aims = rollup(table, statuses, "aim").set_index("aim_id")
    assert aims.loc["a1", "measures"] == 4 and aims.loc["a2", "measures"] == 5  # driver 2 serves a2 only
    assert aims.loc["a1", "status"] == "off track"


def test_rollup_by_period_and_the_not_assessable_and_not_yet_due_cases(table, statuses):
    by_period = rollup(table, statuses, "secondary_driver", by_period=True).set_index(["secondary_driver_id", "period"])
    assert by_period.loc[("1.1", "PY2"), "status"] == "not yet due"
    assert by_period.loc[("1.2", "PIP"), "status"] == "not assessable"  # TBD and blank only
    assert list(by_period.loc["1.1"].index) == ["PIP", "PY1", "PY2", "PY3"]


def test_bad_arguments_are_refused(table, statuses):
    with pytest.raises(ParameterError, match="roll-up level"):
        rollup(table, statuses, "measure")
    with pytest.raises(ParameterError, match="as_of must be a date"):
        target_statuses(table, ACTUALS, "2017-06-30")
