"""The state_accountability_recoupment report: scores from the stages, money to the cent, end to end."""

from __future__ import annotations

import json

import pytest
import yaml

from dsrip_lib.errors import ParameterError
from dsrip_lib.reports import state_accountability_recoupment as report
from dsrip_lib.run import runner


def _context(data_dir, **options):
    return report.open_state_report(program="masshealth_dsrip", data_dir=str(data_dir), options=options)


@pytest.fixture(scope="module")
def small_run(small_state):
    return report.score(_context(small_state, missing_domain="reweight"))


def test_every_scored_period_with_data_is_walked_through(small_run):
    assert small_run.periods == [2, 3, 4, 5]
    assert small_run.scores[2].not_scored == () and "spending_growth" not in small_run.scores[2].weights


def test_money_adds_up_and_nothing_is_negative(small_run):
    for bp, s in small_run.scores.items():
        assert 0 <= s.score <= 1
        assert s.earned_cents + s.lost_cents == s.at_risk_cents and s.lost_cents >= 0
    for bp, r in small_run.recoupments.items():
        assert int(r.rows["recouped_cents"].sum()) + int(r.classes["unallocated_cents"].sum()) == r.total_cents
        assert r.total_cents == small_run.scores[bp].lost_cents
        assert (r.rows["recouped_cents"] >= 0).all()


def test_the_quality_domain_is_the_quality_stage_score(small_state, small_run):
    from dsrip_lib.reports import quality_domain_tests

    quality = quality_domain_tests.score(quality_domain_tests.open_quality_report(
        program="masshealth_dsrip", data_dir=str(small_state), options={"missing_domain": "reweight"}))
    for bp, s in small_run.scores.items():
        by_domain = {d.domain: d for d in s.domains}
        assert by_domain["quality_utilization"].score == quality.state[bp].score


def test_only_losses_without_a_later_period_are_recouped_by_default(small_run):
    for bp in small_run.recoupments:
        assert small_run.applied[bp].applied_to is None
    assert all(small_run.applied[bp].applied_to == bp + 2 for bp in (2, 3))


def test_published_tables_hold_no_silent_blank(small_run):
    for table in (report.domains_table(small_run), report.authority_table(small_run), report.cases_table(small_run)):
        assert not table.isna().any().any(), table
    for bp in small_run.periods:
        assert not report.what_if_table(small_run, bp).isna().any().any()
        assert not report.walkthrough_table(small_run, bp).isna().any().any()
    for bp in small_run.recoupments:
        assert not report.recoupment_table(small_run, bp).drop(columns="name").isna().any().any()


def test_a_period_without_a_state_score_is_refused(tiny_data):
    with pytest.raises(ParameterError, match=r"\[1\]"):
        report.score(_context(tiny_data, missing_domain="reweight", budget_periods=[1]))


def test_an_unknown_option_is_refused(tiny_data):
    with pytest.raises(ParameterError, match="cp_method"):
        _context(tiny_data, cp_method="withheld")


@pytest.mark.slow
def test_report_end_to_end_publishes_scores_authority_and_recoupments(tiny_data, tmp_path):
    params = tmp_path / "s.yaml"
    params.write_text(yaml.safe_dump({"run_id": "s", "data_dir": str(tiny_data), "reports_dir": str(tmp_path / "r"),
                                      "options": {"state_accountability_recoupment": {"missing_domain": "reweight",
                                                                                      "recoup_all": True}}}))
    html = runner.run_notebook("state_accountability_recoupment", params, {})
    values = json.loads(html.with_name("state_accountability_recoupment.results.json").read_text())
    scored = [k for k in values if k.startswith("state_score_bp")]
    assert scored and all(0 <= values[k]["value"] <= 1 for k in scored)
    for key in scored:
        bp = key.removeprefix("state_score_bp")
        assert f"state_authority_earned_usd_bp{bp}" in values and f"state_authority_lost_usd_bp{bp}" in values
    text = html.read_text()
    for heading in ("Authority earned and lost", "Appendix C walk-through", "Recoupment", "What if"):
        assert heading in text
