"""The midpoint assessment: the planted effects of truth.json, numbers from the tables, the appendix, end to end."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from dsrip_lib.errors import ParameterError
from dsrip_lib.params import params_dir
from dsrip_lib.reports import midpoint_appendix, midpoint_assessment as report
from dsrip_lib.reports.midpoint_run import OFF_TRACK, ON_TRACK, through_period
from dsrip_lib.reports.midpoint_sections import FORMATTERS
from dsrip_lib.run import runner

NUMBER = re.compile(r"-?\$?\d+(?:,\d{3})*(?:\.\d+)?%?")


def _context(data_dir, **options):
    return report.open_midpoint_report(program="masshealth_dsrip", data_dir=str(data_dir), options=options)


@pytest.fixture(scope="module")
def truth(small_state):
    return json.loads((small_state / "truth.json").read_text())["effects"]


@pytest.fixture(scope="module")
def midpoint(small_state):
    """The assessment at the program's midpoint (BP 2) and its sections."""
    run = report.assess(_context(small_state, missing_domain="reweight"))
    return run, report.sections(run)


@pytest.fixture(scope="module")
def bp3(small_state, truth):
    """The assessment through the budget period of the planted worsening domain."""
    run = report.assess(_context(small_state, missing_domain="reweight",
                                 through=truth["worsening_domain"]["budget_period"]))
    return run, report.sections(run)


def test_the_default_runs_through_the_last_budget_period_ending_by_the_program_midpoint(program):
    period = through_period(program, None)
    assert period.end <= program.evaluation.midpoint_through
    later = [p for p in program.calendar.budget_periods("aco") if p.number > period.number]
    assert later and all(p.end > program.evaluation.midpoint_through for p in later)
    with pytest.raises(ParameterError, match="through"):
        through_period(program, 9)


def test_a_program_without_a_midpoint_needs_the_option(program):
    bare = program.model_copy(update={"evaluation": None})
    with pytest.raises(ParameterError, match="options.midpoint_assessment.through"):
        through_period(bare, None)
    assert through_period(bare, 3).number == 3


def test_the_worsening_domain_is_off_track_in_its_period_and_not_before(midpoint, bp3, truth):
    planted = truth["worsening_domain"]
    run, parts = bp3
    name = run.quality.domain_names()[planted["domain"]]
    rows = parts["quality domains"].table
    tested = rows[rows["period"] == run.labels[planted["budget_period"]]]
    assert tested.loc[tested["status"] == OFF_TRACK, "domain"].tolist() == [name]
    assert tested.loc[tested["domain"] == name, "change"].item() < 0
    assert name in parts["quality domains"].findings[0].text and parts["quality domains"].findings[0].status == OFF_TRACK
    early, early_parts = midpoint
    before = early_parts["quality domains"].table
    assert before.loc[before["domain"] == name, "status"].tolist() == [ON_TRACK]


def test_the_improving_aco_shows_the_strongest_improvement(bp3, truth):
    table = bp3[1]["aco trajectories"].table
    top = table.iloc[0]
    assert top["entity_id"] == truth["improving_aco"]["aco_id"]
    assert top["change"] > 0 and top["ci_low"] > 0
    assert truth["improving_aco"]["aco_id"] in bp3[1]["aco trajectories"].prose


@pytest.mark.parametrize("which", ["midpoint", "bp3"])
def test_the_losing_aco_is_the_largest_loss_beyond_chance(which, request, truth):
    run, parts = request.getfixturevalue(which)
    planted = truth["losing_aco"]
    assert run.through.number >= planted["from_budget_period"]
    section = parts["aco spending"]
    losers = section.table[section.table["finding"] == "loss beyond chance"]
    assert losers["entity_id"].iloc[0] == planted["aco_id"]
    assert (losers["ci_high"] < 0).all() and section.findings[0].status == OFF_TRACK
    assert planted["aco_id"] in section.findings[0].text


def test_spending_is_under_the_trend_and_meets_its_target(bp3, truth):
    assert truth["spending_trend"]["direction"] == "under"
    table = bp3[1]["spending"].table
    scored = table[table["target"].notna()]
    assert len(scored) and (scored["reduction"] > 0).all() and (scored["reduction"] >= scored["target"]).all()
    assert (scored["status"] == ON_TRACK).all()
    assert (table["ci_low"] < table["reduction"]).all() and (table["reduction"] < table["ci_high"]).all()
    assert (table["mdd"] > 0).all()


def _tokens(table: pd.DataFrame) -> set[str]:
    found = set()
    for value in table.to_numpy().ravel():
        if isinstance(value, str):
            found |= set(NUMBER.findall(value))
        elif isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and pd.notna(value):
            for fmt in FORMATTERS:
                for x in (float(value), abs(float(value))):
                    found |= set(NUMBER.findall(fmt(x)))
    return found


@pytest.mark.parametrize("which", ["midpoint", "bp3"])
def test_every_number_in_the_prose_is_a_cell_of_its_table(which, request):
    _, parts = request.getfixturevalue(which)
    for key, section in parts.items():
        cells = _tokens(section.table)
        for sentence in [*section.sentences, *(f.text for f in section.findings)]:
            typed = [n for n in NUMBER.findall(sentence) if n not in cells]
            assert typed == [], f"{key}: {typed} in {sentence!r} are not in the section's table"
        assert not section.table.drop(columns=["target", "threshold"], errors="ignore").select_dtypes(
            "number").isna().any().any(), key


def test_the_number_check_would_catch_a_typed_number(midpoint):
    table = midpoint[1]["adoption"].table
    assert "30.00%" in _tokens(table) and "31.00%" not in _tokens(table)


def test_the_summary_lists_every_finding_in_order(midpoint):
    run, parts = midpoint
    summary = report.executive_summary(run, parts)
    assert summary.table["finding"].tolist() == [f.text for s in parts.values() for f in s.findings]
    assert set(summary.table["status"]) <= {ON_TRACK, OFF_TRACK, "not assessable"}
    counts = report.status_counts(summary)
    assert counts["findings"].sum() == len(summary.table)
    values = report.headline(summary)
    assert values["adoption_rate"][0] == parts["adoption"].table["rate"].iloc[-1]


def test_the_appendix_lists_every_option_of_every_model_and_every_known_discrepancy(midpoint, program):
    run, _ = midpoint
    tables = report.appendix(run)
    options = tables["options"]
    models = {"midpoint_assessment": run.options, **run.composed}
    assert set(models) >= {"midpoint_assessment", "quality_domain_tests", "accountability", "payments_quarterly"}
    for name, model in models.items():
        listed = set(options.loc[options["report"] == name, "option"])
        assert listed == set(type(model).model_fields), name
    assert options.loc[(options["report"] == "midpoint_assessment") & (options["option"] == "missing_domain"),
                       ["value", "source"]].values.tolist() == [["reweight", "run"]]
    text = (params_dir().parent / "docs" / "protocol_discrepancies.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (D\d+)\.", text, flags=re.MULTILINE)
    found = tables["discrepancies"]
    assert found["id"].tolist() == headings and {"D8", "D9", "D10"} <= set(headings)
    recorded = found.set_index("id")["recorded_in"]
    assert "funding.streams_by_dy" in recorded["D8"] and "funding.statewide_investments_by_dy" in recorded["D10"]
    assert set(tables["program values"]["key"]) == set(midpoint_appendix.PROGRAM_KEYS)


def test_a_register_with_a_repeated_id_is_refused(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "protocol_discrepancies.md").write_text("## D1. one\n\n## D1. two\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="D1"):
        midpoint_appendix.register(tmp_path)


def test_unknown_options_are_refused(tiny_data):
    with pytest.raises(ParameterError, match="investment_floor"):
        _context(tiny_data, investment_floor=0.5)


@pytest.mark.slow
def test_report_end_to_end_publishes_every_section(tiny_data, tmp_path):
    params = tmp_path / "m.yaml"
    params.write_text(yaml.safe_dump({"run_id": "m", "data_dir": str(tiny_data), "reports_dir": str(tmp_path / "r"),
                                      "options": {"midpoint_assessment": {"missing_domain": "reweight"}}}))
    html = runner.run_notebook("midpoint_assessment", params, {})
    values = json.loads(html.with_name("midpoint_assessment.results.json").read_text())
    assert 0 <= values["adoption_rate"]["value"] <= 1 and "findings_on_track" in values
    text = html.read_text()
    for heading in ("Executive summary", "ACO/APM adoption", "Spending growth", "Quality domains",
                    "Avoidable utilisation", "CP engagement", "Payments made and withheld", "Statewide investments",
                    "Methodology appendix", "D10"):
        assert heading in text, heading
