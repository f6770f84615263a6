"""The accountability report's tables from the tiny synthetic state (library level, no notebook)."""

from __future__ import annotations

import pytest
from pytest import approx

from dsrip_lib.reports import accountability as report


@pytest.fixture(scope="module")
def run(tiny_data):
    ctx = report.open_accountability_report(program="masshealth_dsrip", data_dir=tiny_data,
                                            options={"missing_domain": "reweight"})
    return report.score(ctx)


def test_every_aco_scored_and_earned_never_exceeds_withheld(run, tiny_data):
    table = report.aco_table(run)
    acos = set(run.names.loc[run.names["entity_type"] == "aco", "entity_id"])
    assert set(table["entity_id"]) == acos
    assert table["accountability_score"].between(0, 1).all() and table["quality_score"].between(0, 1).all()
    assert (table["earned_usd"] <= table["withheld_usd"] + 1e-9).all() and (table["withheld_usd"] >= 0).all()
    assert (table["earned_usd"] + table["unearned_usd"]).to_numpy() == approx(table["withheld_usd"].to_numpy())
    assert (table["remediation_usd"] <= run.approved_share * table["unearned_usd"] + 1e-9).all()


def test_waterfall_adds_up(run):
    steps = dict(report.waterfall_steps(run, run.latest_tcoc_period))
    assert steps["Withheld"] + steps["Lost on quality"] + steps["Lost on TCOC"] == approx(steps["Earned"])
    assert steps["Earned with remediation"] == approx(steps["Earned"] + steps["Remediation scenario"])


def test_cp_and_csa_scores_in_range(run):
    cps, csas = report.cp_table(run, csa=False), report.cp_table(run, csa=True)
    assert len(cps) and len(csas)
    for table in (cps, csas):
        assert table["accountability_score"].between(0, 1).all()
    assert set(csas["entity_type"]) == {"CSA"} and "CSA" not in set(cps["entity_type"])


def test_points_left_reach_full_credit(run):
    bp = int(run.aco["budget_period"].max())
    left = report.points_left_table(run, bp)
    full = run.program.require("aco_accountability").achievement.max_points_per_measure
    assert (left["points_left"] > 0).all()
    assert (left["points_left"] + left["achievement_points"]).to_numpy() == approx(full)


def test_a_cp_result_off_its_slate_stops_the_report_naming_the_measure(tiny_data, tmp_path):
    import shutil

    import pandas as pd

    from dsrip_lib.errors import DsripError

    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    results = pd.read_parquet(data / "measure_results.parquet")
    entities = pd.read_parquet(data / "entities.parquet")
    csa = entities.loc[entities["entity_type"] == "csa", "entity_id"].iloc[0]
    extra = results[results["entity_id"] == csa].iloc[[0]].assign(measure_id="not_on_any_slate")
    pd.concat([results, extra]).to_parquet(data / "measure_results.parquet", index=False)
    ctx = report.open_accountability_report(program="masshealth_dsrip", data_dir=data,
                                            options={"missing_domain": "reweight"})
    with pytest.raises(DsripError, match="not_on_any_slate"):
        report.score(ctx)
