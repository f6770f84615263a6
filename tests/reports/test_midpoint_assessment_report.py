"""The midpoint assessment: the planted effects of truth.json, numbers from the tables, the appendix, end to end."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import papermill
import pytest
import yaml

from dsrip_lib.errors import ParameterError
from dsrip_lib.params import params_dir
from dsrip_lib.evaluation.ratings import DEFAULT_RULES
from dsrip_lib.reports import midpoint_appendix, midpoint_assessment as report
from dsrip_lib.reports.impact import OUTCOME_LABELS
from dsrip_lib.reports.midpoint_impact import BELOW_DETECTION, DETECTED
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
            if float(value).is_integer():  # a year or a period number, written without a separator
                found.add(str(int(value)))
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
    assert set(summary.table["status"]) <= {ON_TRACK, OFF_TRACK, "not assessable", DETECTED, BELOW_DETECTION}
    layers = summary.table.drop_duplicates("layer")["layer"].tolist()
    assert layers == [report.COMPLIANCE, report.PERFORMANCE, report.IMPACT]
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
    assert "impact" in models and options.loc[options["option"] == "alpha", "value"].tolist() == ["0.05"]


def test_the_appendix_prints_the_rating_rules_in_order(midpoint):
    run, _ = midpoint
    rules = report.appendix(run)["rating rules"]
    assert rules["text"].tolist() == [r.text() for r in DEFAULT_RULES.rules]
    assert "at risk if domain_score < 0.6" in rules["text"].tolist()
    listed = report.appendix(run)["options"].set_index(["report", "option"]).at[("impact", "rating_rules"), "value"]
    assert "3. at risk if domain_score < 0.6" in listed


def test_the_three_layers_and_the_impact_sections_appear(midpoint, bp3):
    run, parts = midpoint
    keys = list(parts)
    assert keys[0] == "compliance"
    assert keys.index("investments") < keys.index("impact estimates") < keys.index("ratings")
    for key in ("impact estimates", "event study", "observed to expected", "selection", "comparison group",
                "attribution churn", "ratings"):
        assert len(parts[key].table) and parts[key].sentences, key
    # the impact layer reads the data through the period assessed: 2020 (COVID) only from BP 3 on
    assert run.impact.shares["year"].max() == run.through.end.year
    assert parts["covid sensitivity"].table.empty and "no year" in parts["covid sensitivity"].prose
    assert len(bp3[1]["covid sensitivity"].table) == 4 and "2020" in bp3[1]["covid sensitivity"].prose
    compliance = parts["compliance"].table
    early = run.payments.gating[run.payments.gating["paid_on"] <= pd.Timestamp(run.through.end)]
    assert compliance.loc[compliance["gate"] == "Total", "payments"].item() == len(early) > 0
    assert parts["compliance"].findings[0].status == OFF_TRACK
    # every rating shows the rule and the numbers that decided it (a missing score: that it is missing)
    ratings = parts["ratings"].table
    decided = ratings[ratings["rating"].isin(["at risk", "on track with recommendations"])]
    assert len(decided) and decided["because"].str.contains(r"= -?\d", regex=True).all()
    assert ratings.loc[ratings["rating"] == "insufficient data", "because"].str.contains("missing").all()


def test_the_planted_program_effects_have_the_right_direction_and_their_mde(midpoint, small_state):
    run, parts = midpoint
    planted = json.loads((small_state / "truth.json").read_text())["effects"]["program_effect"]["outcomes"]
    section = parts["impact estimates"]
    table = section.table.set_index("outcome")
    values = report.headline(report.executive_summary(run, parts))
    for effect in planted:
        outcome = effect["outcome"]
        label = OUTCOME_LABELS[outcome]
        row = table.loc[label]
        assert np.sign(row["relative"]) == np.sign(effect["relative_effect"]) != 0, outcome
        assert row["relative_low"] < row["relative"] < row["relative_high"] and row["mde_relative"] > 0
        said = next(t for t in section.sentences if t.startswith(label[0].upper() + label[1:]))
        assert f"interval {row['relative_low']:.2%} to {row['relative_high']:.2%}" in said
        assert f"{row['mde_relative']:.2%}" in said
        covers_zero = row["relative_low"] <= 0 <= row["relative_high"]
        assert ("below what the data can detect" in said) == covers_zero == (row["finding"] == BELOW_DETECTION)
        assert not covers_zero or abs(row["relative"]) < row["mde_relative"]
        assert values[f"impact.{outcome}.relative_effect"][0] == row["relative"]
        assert values[f"impact.{outcome}.ci_low"][0] == row["relative_low"]
        assert values[f"impact.{outcome}.ci_high"][0] == row["relative_high"]
    # the executive summary carries the impact findings, each with its interval
    summary = report.executive_summary(run, parts).table
    impact_rows = summary[summary["layer"] == report.IMPACT]
    assert len(impact_rows) == 4 and impact_rows["finding"].str.contains("interval").all()


def test_a_register_with_a_repeated_id_is_refused(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "protocol_discrepancies.md").write_text("## D1. one\n\n## D1. two\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="D1"):
        midpoint_appendix.register(tmp_path)


def test_unknown_options_are_refused(tiny_data):
    with pytest.raises(ParameterError, match="investment_floor"):
        _context(tiny_data, investment_floor=0.5)
    with pytest.raises(ParameterError, match=r"impact\.alpha"):  # one level for the report: its confidence
        _context(tiny_data, impact={"alpha": 0.1})


@pytest.mark.parametrize("rules, named", [
    ([{"rating": "at_risk", "when": [{"metric": "domain_score", "op": "<"}]}, {"rating": "on_track"}],
     "needs a threshold"),
    ([{"rating": "at_risk", "when": [{"metric": "domain_score", "op": "<", "threshold": 0.6}]}], "last rating rule"),
    ([{"rating": "doomed"}], "rating"),
])
def test_a_bad_rating_rule_is_refused_before_anything_runs(tiny_data, tmp_path, monkeypatch, rules, named):
    def refuse(*args, **kwargs):
        pytest.fail("a kernel was started for options that should have been refused")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)
    params = tmp_path / "m.yaml"
    options = {"midpoint_assessment": {"impact": {"rating_rules": {"rules": rules}}}}
    params.write_text(yaml.safe_dump({"run_id": "m", "data_dir": str(tiny_data), "reports_dir": str(tmp_path / "r"),
                                      "options": options}))
    with pytest.raises(ParameterError, match=rf"options\.midpoint_assessment\.impact\.rating_rules(?s:.*){named}"):
        runner.run_notebook("midpoint_assessment", params, {})
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_report_end_to_end_publishes_every_section(tiny_data, tmp_path):
    params = tmp_path / "m.yaml"
    params.write_text(yaml.safe_dump({"run_id": "m", "data_dir": str(tiny_data), "reports_dir": str(tmp_path / "r"),
                                      "options": {"midpoint_assessment": {"missing_domain": "reweight"}}}))
    html = runner.run_notebook("midpoint_assessment", params, {})
    values = json.loads(html.with_name("midpoint_assessment.results.json").read_text())
    assert 0 <= values["adoption_rate"]["value"] <= 1 and "findings_on_track" in values
    text = html.read_text()
    assert "impact.primary_care_visits.relative_effect" in values and "impact.inpatient_admissions.ci_high" in values
    for heading in ("Executive summary", "Implementation and compliance", "Performance against targets",
                    "ACO/APM adoption", "Spending growth", "Quality domains", "Avoidable utilisation", "CP engagement",
                    "Payments made and withheld", "Statewide investments", "Estimated impact",
                    "Threats to the estimates", "Ratings by the evaluator", "Methodology appendix", "D10"):
        assert heading in text, heading
