"""The quality_domain_tests report: the planted effects found, its refusals, and end to end on the tiny state."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.reports import quality_domain_tests as report
from dsrip_lib.reports import stages
from dsrip_lib.run import runner


def _context(data_dir: Path, **options):
    return report.open_quality_report(program="masshealth_dsrip", data_dir=str(data_dir), options=options)


@pytest.fixture(scope="module")
def small_run(small_state):
    return report.score(_context(small_state, missing_domain="reweight"))


def test_planted_worse_domain_is_the_only_one_flagged_under_the_default_reading(small_state, small_run):
    planted = json.loads((small_state / "truth.json").read_text())["effects"]["worsening_domain"]
    flagged = {(bp, d) for bp in small_run.tested for d, s in small_run.tests[bp].scores().items() if s == 0}
    assert flagged == {(planted["budget_period"], planted["domain"])}
    assert small_run.reading == "aco_strata"
    # the sensitivity table carries the default decision and says, per reading, whether it agrees
    table = small_run.sensitivity[planted["budget_period"]]
    row = table[(table["domain"] == planted["domain"]) & table["default"]]
    assert row["worse"].item() and row["agrees_with_default"].item()
    assert report.sensitivity_text(small_run).startswith(("Every reading", "The readings disagree"))


def test_every_aco_has_a_quality_score_in_every_period_and_scores_stay_in_range(small_state, small_run):
    truth = json.loads((small_state / "truth.json").read_text())["aco_member_months"]
    quality = small_run.aco.quality
    for aco, months in truth.items():
        scored = set(quality.loc[quality["entity_id"] == aco, "budget_period"])
        assert scored == {int(bp) for bp, mm in months.items() if mm > 0}
    assert quality["quality_score"].between(0, 1).all()
    for bp in small_run.tested:
        assert 0 <= small_run.state[bp].score <= 1
        assert 0 <= small_run.utilization[bp].score <= 1


def test_published_tables_hold_no_silent_blank(small_run):
    for table in (report.aggregate_table(small_run), report.tests_table(small_run),
                  report.state_utilization_table(small_run), report.state_totals_table(small_run)):
        assert not table.isna().any().any(), table
    utilization = report.utilization_table(small_run)
    assert not utilization[["oe_ratio", "target", "reduction", "meets_target", "points"]].isna().any().any()


def test_the_default_refuses_an_aco_period_without_a_weighted_domain(small_state):
    with pytest.raises(InputValidationError, match="have no eligible measure"):
        report.score(_context(small_state))


def test_a_benchmarks_file_replaces_the_illustrative_cells(small_state, tmp_path, program):
    base = stages.run_benchmarks(program, None)
    cell = base.iloc[[0]].assign(attainment_threshold=base.iloc[0]["attainment_threshold"] * 0.5)
    path = tmp_path / "benchmarks.csv"
    cell.to_csv(path, index=False)
    replaced = stages.run_benchmarks(program, str(path))
    key = ["entity_type", "measure_id", "budget_period"]
    got = replaced.merge(cell[key], on=key)
    assert got["attainment_threshold"].item() == pytest.approx(cell["attainment_threshold"].item())
    assert len(replaced) == len(base)


def test_an_unknown_option_is_refused(tiny_data):
    with pytest.raises(ParameterError, match="reading"):
        _context(tiny_data, reading="member_level")


@pytest.mark.slow
def test_report_end_to_end_publishes_every_state_decision_and_entity_score(tiny_data, tmp_path):
    params = tmp_path / "q.yaml"
    params.write_text(yaml.safe_dump({"run_id": "q", "data_dir": str(tiny_data), "reports_dir": str(tmp_path / "r"),
                                      "options": {"quality_domain_tests": {"missing_domain": "reweight"}}}))
    html = runner.run_notebook("quality_domain_tests", params, {})
    values = json.loads(html.with_name("quality_domain_tests.results.json").read_text())
    entities = pd.read_parquet(tiny_data / "entities.parquet")
    acos = entities.loc[entities["entity_type"] == "aco", "entity_id"]
    for bp in (2, 3, 4, 5):
        assert f"state_quality_score_bp{bp}" in values and f"state_utilization_score_bp{bp}" in values
        assert any(k.startswith("state_domain_") and k.endswith(f"_bp{bp}") for k in values)
    for aco in acos:
        assert any(k.startswith(f"aco_quality_score_{aco}_bp") for k in values)
    assert all(0 <= v["value"] <= 1 for v in values.values())
    text = html.read_text()
    for heading in ("ACO Quality Scores", "each budget period against all earlier ones", "Avoidable utilisation",
                    "quality and utilisation domain score"):
        assert heading in text


def test_the_ad_hoc_example_in_the_docs_runs(small_state):
    """docs/adhoc.md's plain-frames example, on the small state the default run uses."""
    import re

    doc = (Path(__file__).resolve().parents[2] / "docs" / "adhoc.md").read_text(encoding="utf-8")
    block = re.search(r"### Quality and accountability.*?```python\n(.*?)```", doc, re.S).group(1)
    assert "data/synthetic/small/" in block
    scope: dict = {}
    exec(compile(block.replace("data/synthetic/small/", f"{small_state}/"), "docs/adhoc.md", "exec"), scope)
    assert scope["aco"].quality["quality_score"].between(0, 1).all()
    assert scope["tests"].scores()["behavioral_health"] == 0.0  # the planted worse domain
