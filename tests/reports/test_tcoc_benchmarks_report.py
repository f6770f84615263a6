"""The tcoc_benchmarks report end to end on the tiny synthetic state, and its refusal of bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from dsrip_lib.errors import DsripError
from dsrip_lib.run import runner


def run(data_dir: Path, tmp: Path, run_id: str) -> Path:
    params = tmp / f"{run_id}.yaml"
    params.write_text(yaml.safe_dump({"run_id": run_id, "data_dir": str(data_dir), "reports_dir": str(tmp / "reports"),
                                      "backend": "duckdb://?memory_limit=1GB",
                                      "options": {"tcoc_benchmarks": {"missing_domain": "reweight"}}}))
    return runner.run_notebook("tcoc_benchmarks", params, {})


@pytest.mark.slow
def test_report_publishes_the_chain_and_every_acos_benchmark(tiny_data, tmp_path):
    html = run(tiny_data, tmp_path, "tcoc")
    values = json.loads(html.with_name("tcoc_benchmarks.results.json").read_text())
    truth = json.loads((tiny_data / "truth.json").read_text())
    acos = sorted(truth["aco_member_months"])
    for year in range(2018, 2023):
        assert f"percent_reduction_{year}" in values
    assert {f"gap_to_goal_score_bp{bp}" for bp in (3, 4, 5)} <= set(values)
    for aco in acos:
        for item in ("final_benchmark_pmpm", "performance_pmpm", "savings_usd", "tcoc_component"):
            assert f"{aco}_bp5_{item}" in values
    assert 0 <= values[f"{acos[0]}_bp5_tcoc_component"]["value"] <= 1
    text = html.read_text()
    for heading in ("spending-growth chain", "TCOC benchmarks", "Settlement under MassHealth", "Methodology notes"):
        assert heading in text


@pytest.mark.slow
def test_a_member_year_with_spending_and_no_risk_score_stops_the_report_and_nothing_is_written(tiny_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    scores = data / "risk_scores.parquet"
    member = duckdb.sql(f"SELECT member_id FROM read_parquet('{tiny_data / 'claims.parquet'}') "
                        "WHERE exclusion_category IS NULL AND year(service_date) = 2019 LIMIT 1").fetchall()[0][0]
    duckdb.sql(f"COPY (SELECT * FROM read_parquet('{tiny_data / 'risk_scores.parquet'}') WHERE member_id <> "
               f"'{member}') TO '{scores}' (FORMAT parquet)")
    with pytest.raises(DsripError, match="no risk score"):
        run(data, tmp_path, "broken")
    assert not (tmp_path / "reports" / "broken").exists()


def test_the_settlements_quality_gate_reads_each_acos_quality_score_unless_fixed(tiny_data):
    from dsrip_lib.quality.aco_quality import score_aco_quality
    from dsrip_lib.reports import tcoc_benchmarks as report

    ctx = report.open_tcoc_report(program="masshealth_dsrip", data_dir=str(tiny_data),
                                  options={"missing_domain": "reweight"})
    tables = [ctx.data.to_pandas(n) for n in ("measure_results", "utilization", "survey_scores", "entities")]
    quality = score_aco_quality(*tables, ctx.program, missing_domain="reweight").quality
    bp5 = quality[quality["budget_period"] == 5]
    got = report.settlement_quality(ctx, bp5["entity_id"], 5)
    assert got.tolist() == pytest.approx(bp5["quality_score"].tolist())
    assert got.nunique() > 1  # ACOs differ: no constant stands in for the scores
    fixed = report.open_tcoc_report(program="masshealth_dsrip", data_dir=str(tiny_data),
                                    options={"settlement_quality_score": 0.4})
    assert report.settlement_quality(fixed, bp5["entity_id"], 5).eq(0.4).all()
    with pytest.raises(DsripError, match="no MassHealth Quality Score"):
        report.settlement_quality(ctx, pd.Series(["NOT_AN_ACO"]), 5)
