"""The attribution report on the partial data a state analyst normally has.

A quarterly run ends mid-year; a first extract may cover one budget period. The report must
run on any data directory that validates: a partly covered period is labelled with its
months and counted over them, a table that needs two periods says why it is absent.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest
import yaml

from dsrip_lib.accountability.adoption import AdoptionResult
from dsrip_lib.reports import attribution as ar
from dsrip_lib.run import runner

DATED = {"enrollment": "month", "claims": "service_date", "cp_engagement": "month"}


def cut(source: Path, target: Path, first: str, last: str) -> Path:
    """A copy of a data directory keeping the enrollment, claims and CP engagement rows of first..last."""
    shutil.copytree(source, target)
    for table, column in DATED.items():
        path = target / f"{table}.parquet"
        duckdb.sql(f"COPY (SELECT * FROM read_parquet('{source / f'{table}.parquet'}') "
                   f"WHERE {column} BETWEEN DATE '{first}' AND DATE '{last}') TO '{path}' (FORMAT parquet)")
    return target


def run(data_dir: Path, tmp: Path, count_method: str) -> Path:
    params = tmp / f"{count_method}.yaml"
    params.write_text(yaml.safe_dump({"run_id": count_method, "data_dir": str(data_dir), "reports_dir": str(tmp),
                                      "options": {"attribution": {"count_method": count_method}}}))
    return runner.run_notebook("attribution", params, {})


def sheet(html: Path, name: str) -> pd.DataFrame:
    rows = list(openpyxl.load_workbook(html.with_suffix(".xlsx"))[name].values)
    return pd.DataFrame(rows[3:], columns=rows[2])  # a caption, a blank row, the header


@pytest.fixture(scope="module")
def one_period(tiny_data, tmp_path_factory):
    return cut(tiny_data, tmp_path_factory.mktemp("partial") / "bp1", "2018-01-01", "2018-12-31")


@pytest.fixture(scope="module")
def mid_period(tiny_data, tmp_path_factory):
    return cut(tiny_data, tmp_path_factory.mktemp("partial") / "to-jun-2019", "2018-01-01", "2019-06-30")


@pytest.mark.slow
@pytest.mark.parametrize("count_method", ["average", "snapshot"])
def test_data_covering_one_budget_period(one_period, tmp_path, count_method):
    html = run(one_period, tmp_path, count_method)
    page = html.read_text()
    assert ar.FLOWS_NEED_TWO_PERIODS.format(label="BP 1").replace("**", "") in page.replace("<strong>", "").replace(
        "</strong>", "")
    names = openpyxl.load_workbook(html.with_suffix(".xlsx")).sheetnames
    assert "flows" not in names and "ACO flows" not in names
    assert list(sheet(html, "adoption")["Budget period"]) == ["BP 1"]
    assert "adoption_rate_bp1" in json.loads(html.with_suffix(".results.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("count_method", ["average", "snapshot"])
def test_data_ending_mid_period_counts_over_the_covered_months(mid_period, tmp_path, count_method):
    html = run(mid_period, tmp_path, count_method)
    members = sheet(html, "attributed members").set_index("ACO")
    assert "BP 2 (Jan-Jun 2019)" in members.columns  # labelled partial, with its months
    monthly = duckdb.sql(f"""
        SELECT e.aco_id, e.month, count(*) AS n FROM read_parquet('{mid_period / 'enrollment.parquet'}') e
        WHERE e.plan_type IN ('aco_a', 'aco_b') AND e.month >= DATE '2019-01-01' GROUP BY ALL""").df()
    # enrollment-attributed ACOs (models A and B) are counted over exactly the months covered
    compared = 0
    for aco, rows in monthly.groupby("aco_id"):
        if aco not in members.index or members.at[aco, "Model"] == "C":
            continue
        expected = rows.n.mean() if count_method == "average" else rows.loc[rows.month == rows.month.max(), "n"].sum()
        shown = members.at[aco, "BP 2 (Jan-Jun 2019)"]
        if shown != "*":  # suppressed small cells aside
            assert float(shown) == pytest.approx(expected)
            compared += 1
    assert compared >= 3
    assert "only in part" in html.read_text()


def test_a_period_without_eligible_members_is_shown_not_raised():
    results = [AdoptionResult(1, 40, 12, 0.3, 0.25, True, {"path_aco": 12, "path_apm_pcp": 0, "path_apm_spending": 0}),
               AdoptionResult(2, 0, 0, None, 0.30, None, dict.fromkeys(("path_aco", "path_apm_pcp",
                                                                          "path_apm_spending"), 0))]
    table = ar.adoption_table(results, {1: "BP 1", 2: "BP 2"})
    assert list(table.result) == ["pass", ar.NO_ELIGIBLE]
    assert pd.isna(table.rate.iloc[1])
    assert ar.adoption_tally(results, {1: "BP 1", 2: "BP 2"}) == (["BP 1"], [])
