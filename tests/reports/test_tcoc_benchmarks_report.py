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
    plans = truth["effects"]["partnership_capitation"]["plans"]
    for plan, by_bp in plans.items():
        for bp, planted in by_bp.items():
            key = f"{plan}_bp{bp}"
            assert values[f"{key}_medical_capitation_usd"]["value"] == planted["medical_capitation_usd"]
            gain = values[f"{key}_medical_gain_usd"]["value"]
            expense = values[f"{key}_medical_expense_usd"]["value"]
            assert gain == pytest.approx(planted["medical_capitation_usd"] - expense, abs=0.01)
            assert values[f"{key}_corridor_state_usd"]["value"] + values[f"{key}_corridor_plan_usd"]["value"] == \
                pytest.approx(gain, abs=1e-6)
    text = html.read_text()
    for heading in ("spending-growth chain", "TCOC benchmarks", "Partnership Plans: total medical expense",
                    "Corridor band", "Settlement under MassHealth", "Methodology notes"):
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


def test_partnership_plans_are_compared_with_their_capitation_and_split_by_band(tiny_data, tmp_path):
    """The tiny state's model A ACOs are paid a medical capitation (truth.json): the report's tables
    compare them with it; without the table every ACO keeps its benchmark and the notes say so."""
    from dsrip_lib.reports import tcoc_benchmarks as report

    truth = json.loads((tiny_data / "truth.json").read_text())["effects"]["partnership_capitation"]["plans"]
    ctx = report.open_tcoc_report(program="masshealth_dsrip", data_dir=str(tiny_data))
    spending = report.compute(ctx)
    entities = ctx.data.to_pandas("entities")
    model_a = set(entities.loc[entities["aco_model"] == "A", "entity_id"])
    assert set(truth) == model_a and len(model_a) == 2

    plans = report.partnership_table(spending.plans, spending.acos)
    assert {(r.entity_id, r.budget_period) for r in plans.itertuples()} == {
        (plan, int(bp)) for plan, by_bp in truth.items() for bp in by_bp}
    for r in plans.itertuples():
        assert r.medical_capitation_usd == truth[r.entity_id][str(r.budget_period)]["medical_capitation_usd"]
        assert r.gain_usd == pytest.approx(r.medical_capitation_usd - r.medical_expense_usd, abs=0.01)
        assert r.state_usd + r.plan_usd == pytest.approx(r.gain_usd, abs=1e-6)
        assert isinstance(r.name, str) and 0 <= r.tcoc_component <= 1
    bands = report.corridor_table(spending.plans, spending.acos)
    assert len(bands) == 3 * len(plans)  # the program's three illustrative bands
    by_plan = bands.groupby(["entity_id", "budget_period"])["in_band_usd"].sum()
    assert by_plan.to_numpy() == pytest.approx(plans.set_index(["entity_id", "budget_period"]).loc[
        by_plan.index, "gain_usd"].to_numpy(), abs=0.02)

    table = report.benchmarks_table(spending.benchmarks, spending.acos)
    marked = table.groupby("entity_id")["comparison"].unique()
    assert all(list(marked[a]) == ["Medical capitation"] for a in model_a)
    assert all(list(marked[a]) == ["Final TCOC benchmark"] for a in set(marked.index) - model_a)
    notes = report.methodology_notes(ctx.program, ctx.options, spending.growth, spending)
    assert f"{len(plans)} plan-period(s)" in notes and "ILLUSTRATIVE" in notes

    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    (data / "medical_capitation.parquet").unlink()
    bare = report.open_tcoc_report(program="masshealth_dsrip", data_dir=str(data))
    without = report.compute(bare)
    assert without.plans.plans.empty and (without.benchmarks["comparison"] == "final_benchmark").all()
    assert "no `medical_capitation` table (D51)" in report.methodology_notes(bare.program, bare.options,
                                                                             without.growth, without)
