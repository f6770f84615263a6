"""The tcoc_benchmarks report end to end on the tiny synthetic state, and its refusal of bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from dsrip_lib.errors import DsripError
from dsrip_lib.run import runner


def run(data_dir: Path, tmp: Path, run_id: str) -> Path:
    params = tmp / f"{run_id}.yaml"
    params.write_text(yaml.safe_dump({"run_id": run_id, "data_dir": str(data_dir), "reports_dir": str(tmp / "reports"),
                                      "options": {"tcoc_benchmarks": {"duckdb_memory_limit": "1GB"}}}))
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
