"""Presentation tables of the attribution report, on hand-built inputs."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from dsrip_lib.accountability.adoption import AdoptionResult
from dsrip_lib.program import BudgetPeriod
from dsrip_lib.publishing.publisher import plot_values, suppress_small_cells
from dsrip_lib.reports import attribution as ar

ACOS = pd.DataFrame({"aco_id": ["A1", "C1"], "name": ["Alpha", "Charlie"], "model": ["A", "C"]})
BP = {1: "BP 1", 2: "BP 2"}


def _period(number, start, end):
    return BudgetPeriod(number=number, label=f"BP {number}", start=dt.date.fromisoformat(start),
                        end=dt.date.fromisoformat(end))


def _counts(rows):
    """Monthly counts: (aco, month, members, chc_members)."""
    df = pd.DataFrame(rows, columns=["aco_id", "month", "members", "chc_members"])
    df["month"] = pd.to_datetime(df["month"])
    return df


def test_aco_directory_keeps_acos_only_with_name_and_model():
    entities = pd.DataFrame({
        "entity_id": ["A1", "MCO1", "C1"], "entity_type": ["aco", "mco", "aco"],
        "name": ["Alpha", "Plan", "Charlie"], "aco_model": ["A", None, "C"],
    })
    out = ar.aco_directory(entities)
    assert out.to_dict("list") == {"aco_id": ["A1", "C1"], "name": ["Alpha", "Charlie"], "model": ["A", "C"]}


def test_periods_in_data_keeps_overlapping_periods_only():
    periods = [_period(0, "2017-07-01", "2017-12-31"), _period(1, "2018-01-01", "2018-12-31"),
               _period(2, "2019-01-01", "2019-12-31")]
    kept = ar.periods_in_data(periods, dt.date(2017, 12, 1), dt.date(2018, 3, 1))
    assert [p.number for p in kept] == [0, 1]
    # both are covered in part: cut to the covered months, labelled with them, the whole period kept
    assert [(p.start, p.end, p.label, p.partial) for p in kept] == [
        (dt.date(2017, 12, 1), dt.date(2017, 12, 31), "BP 0 (Dec 2017)", True),
        (dt.date(2018, 1, 1), dt.date(2018, 3, 31), "BP 1 (Jan-Mar 2018)", True)]
    assert kept[1].whole.end == dt.date(2018, 12, 31)
    whole = ar.periods_in_data(periods, dt.date(2017, 1, 1), dt.date(2019, 12, 1))
    assert whole == periods and not any(p.partial for p in whole)


def test_per_period_wide_fills_a_missing_period_with_zero_and_names_acos():
    by_period = pd.DataFrame({"aco_id": ["A1", "A1", "C1"], "budget_period": [1, 2, 2],
                              "member_months": [120, 130, 40]})
    out = ar.per_period_wide(by_period, "member_months", ACOS, BP)
    assert list(out.columns) == ["aco_id", "name", "model", "BP 1", "BP 2"]
    assert out["BP 1"].dtype == "int64"  # integers stay integers after the gaps are filled
    assert out.set_index("aco_id")[["BP 1", "BP 2"]].to_dict("index") == {
        "A1": {"BP 1": 120, "BP 2": 130}, "C1": {"BP 1": 0, "BP 2": 40}}


def test_attributed_members_and_chc_share_by_period_average_the_months():
    # BP 1 is two months: A1 has 30 and 10 members (20 on average), 15 and 5 of them CHC
    counts = _counts([("A1", "2018-01-01", 30, 15), ("A1", "2018-02-01", 10, 5),
                      ("C1", "2018-02-01", 40, 0), ("A1", "2018-03-01", 50, 10)])
    periods = [_period(1, "2018-01-01", "2018-02-28"), _period(2, "2018-03-01", "2018-03-31")]
    members = ar.attributed_members_by_period(counts, periods, "average")
    got = members.set_index(["budget_period", "aco_id"])
    assert got.loc[(1, "A1"), "members"] == 20 and got.loc[(1, "C1"), "members"] == 20
    assert got.loc[(2, "A1"), "chc_members"] == 10

    chc = ar.chc_share_by_period(members, BP)
    assert chc["period"].tolist() == ["BP 1", "BP 2"]
    assert chc["members"].tolist() == [40, 50] and chc["chc_members"].tolist() == [10, 10]
    assert chc["chc_share"].tolist() == [10 / 40, 10 / 50]

    by_aco = ar.chc_share_by_aco(members, ACOS, 1)
    assert by_aco["name"].tolist() == ["Alpha", "Charlie"] and by_aco["chc_share"].tolist() == [0.5, 0.0]


def test_members_by_model_sums_acos_of_a_model_per_month():
    acos = pd.concat([ACOS, pd.DataFrame({"aco_id": ["A2"], "name": ["Able"], "model": ["A"]})])
    counts = _counts([("A1", "2018-01-01", 30, 0), ("A2", "2018-01-01", 12, 0), ("C1", "2018-02-01", 40, 0)])
    out = ar.members_by_model(counts, acos)
    assert list(out.columns) == ["Model A", "Model C"]
    assert out.loc[pd.Timestamp("2018-01-01")].tolist() == [42, 0]
    assert out.loc[pd.Timestamp("2018-02-01")].tolist() == [0, 40]


def test_row_shares_of_a_published_matrix_do_not_give_back_a_suppressed_cell():
    matrix = pd.DataFrame({"ACO (same)": [90, 20], "MCO": [4, 60], "FFS": [6, 0]}, index=["ACO", "MCO"])
    published = plot_values(suppress_small_cells(matrix, list(matrix.columns)))
    shares = ar.row_shares(published)
    assert math.isnan(shares.loc["ACO", "MCO"]) and math.isnan(shares.loc["ACO", "FFS"])
    # the denominator is the shown 90, not the true 100 (which would reveal 4 + 6 = 10)
    assert shares.loc["ACO", "ACO (same)"] == 1.0
    assert shares.loc["MCO"].tolist() == [20 / 80, 60 / 80, 0.0]


def test_row_shares_of_an_all_suppressed_row_are_missing():
    shares = ar.row_shares(pd.DataFrame({"x": [float("nan"), 5.0], "y": [float("nan"), 0.0]}))
    assert shares.iloc[0].isna().all() and shares.iloc[1].tolist() == [1.0, 0.0]


def test_aco_flows_table_labels_months_and_keeps_counts():
    summary = pd.DataFrame({"aco_id": ["A1"], "members_before": [100], "kept": [80], "lost_to_other_aco": [15],
                            "lost_to_non_aco": [5], "gained_from_other_aco": [12], "gained_from_non_aco": [8],
                            "members_after": [100]})
    out = ar.aco_flows_table(summary, ACOS, dt.date(2018, 12, 1), dt.date(2019, 12, 1))
    assert list(out.columns) == ["aco_id", "name", "Dec 2018", "kept", "to other ACO", "to non-ACO",
                                 "from other ACO", "from non-ACO", "Dec 2019"]
    assert out.iloc[0].tolist() == ["A1", "Alpha", 100, 80, 15, 5, 12, 8, 100]


def test_plurality_agreement_counts_members_in_both_and_the_agreeing_fraction():
    plurality = pd.DataFrame({"member_id": ["m1", "m2", "m3", "m4"], "aco_id": ["A1", "A1", "C1", "C1"]})
    rule = pd.DataFrame({"member_id": ["m1", "m2", "m3", "m9"], "aco_id": ["A1", "C1", "C1", "A1"]})
    assert ar.plurality_agreement(plurality, rule) == (3, 2 / 3)
    assert ar.plurality_agreement(plurality, rule.iloc[0:0]) == (0, 0.0)


def test_adoption_table_one_row_per_period_with_result():
    results = [
        AdoptionResult(1, 1000, 600, 0.6, None, None, {"path_aco": 500, "path_apm_pcp": 150, "path_apm_spending": 20}),
        AdoptionResult(2, 1000, 700, 0.7, 0.75, False, {"path_aco": 650, "path_apm_pcp": 90, "path_apm_spending": 0}),
    ]
    out = ar.adoption_table(results, BP)
    assert list(out.columns) == ["period", "ACO-eligible", "via ACO", "via APM PCP", "via APM spending", "adopted",
                                 "rate", "target", "result"]
    assert out["result"].tolist() == ["n/a", "fail"]
    assert out.iloc[1][["ACO-eligible", "via ACO", "adopted"]].tolist() == [1000, 650, 700]
    assert math.isnan(out["target"].iloc[0]) and out["target"].iloc[1] == pytest.approx(0.75)


def test_with_names_puts_the_name_beside_the_id_and_keeps_unknown_acos():
    out = ar.with_names(pd.DataFrame({"aco_id": ["C1", "X9"], "n": [5, 7]}), ACOS)
    assert list(out.columns) == ["aco_id", "name", "n"] and out["n"].tolist() == [5, 7]
    assert out["name"].iloc[0] == "Charlie" and pd.isna(out["name"].iloc[1])


@pytest.fixture(scope="module")
def tiny_report(tiny_data, tmp_path_factory):
    """The registered attribution report run once on the tiny synthetic state; its HTML path."""
    import yaml

    from dsrip_lib.run import runner

    tmp = tmp_path_factory.mktemp("attribution-report")
    params = tmp / "run.yaml"
    params.write_text(yaml.safe_dump({"run_id": "tiny", "data_dir": str(tiny_data),
                                      "reports_dir": str(tmp / "reports")}), encoding="utf-8")
    return runner.run_notebook("attribution", params, {})


@pytest.mark.slow
def test_report_publishes_the_adoption_rates_planted_in_truth_json(tiny_report, tiny_data):
    """End to end: the headline adoption rates equal the generator's by-construction values."""
    import json

    truth = json.loads((tiny_data / "truth.json").read_text())["adoption"]
    results = json.loads(tiny_report.with_suffix(".results.json").read_text())
    assert len(truth) == 6
    for bp, expected in truth.items():
        assert results[f"adoption_rate_bp{bp}"]["value"] == pytest.approx(expected["rate"], rel=1e-12)
    assert {p.name for p in tiny_report.parent.iterdir()} == {
        "attribution.ipynb", "attribution.html", "attribution.pdf", "attribution.xlsx",
        "attribution.results.json", "manifest.json", "index.html"}


@pytest.mark.slow
def test_the_run_validates_the_data_once_and_the_notebook_trusts_it(tiny_report):
    import json

    manifest = json.loads((tiny_report.parent / "manifest.json").read_text())
    assert manifest["validation"]["program"] == "masshealth_dsrip"
    assert "conforms to the data contract" in manifest["validation"]["summary"]
    assert manifest["data_dir"] in manifest["validation"]["summary"]
    assert manifest["reports"]["attribution"]["parameters"]["data_validated"] is True
    assert "reused_from" not in manifest["validation"]
    # the published run keeps its verdict for later runs on the same bytes (dsrip_lib.run.validation_cache)
    assert len(list((tiny_report.parents[1] / ".validated").glob("*.json"))) == 1


@pytest.mark.slow
def test_report_on_tiny_data_withholds_every_cell_that_would_reveal_a_suppressed_count(tiny_report):
    """The notebook declares its derived columns: on the tiny state (with small cells) none leaks."""
    import json

    import openpyxl

    from dsrip_lib.publishing.publisher import SUPPRESSED, WITHHELD

    html = tiny_report
    book = openpyxl.load_workbook(html.with_suffix(".xlsx"))

    def rows(sheet):  # keyed by the code names: the workbook shows the report's plain-word headers
        header, *body = book[sheet].iter_rows(min_row=3, values_only=True)
        code = {shown: name for name, shown in ar.HEADERS.items()}
        return [dict(zip([code.get(h, h) for h in header], row)) for row in body]

    chc = rows("CHC share by ACO")
    assert any(SUPPRESSED in (r["members"], r["chc_members"]) for r in chc)  # the case is exercised
    for r in chc:
        hidden = SUPPRESSED in (r["members"], r["chc_members"])
        assert (r["chc_share"] == WITHHELD) == hidden
    flows = rows("ACO flows")
    before, after = list(flows[0])[2], list(flows[0])[-1]
    assert any(SUPPRESSED in r.values() for r in flows)  # the case is exercised
    for r in flows:  # complementary suppression: no row total gives back a single suppressed part
        for group in ((before, "kept", "to other ACO", "to non-ACO"),
                      (after, "kept", "from other ACO", "from non-ACO")):
            assert [r[c] for c in group].count(SUPPRESSED) != 1
    matrix = {r["from"]: r for r in rows("flows")}
    for col, cell in (("kept", "ACO (same)"), ("to other ACO", "ACO (other)"), ("from other ACO", "ACO (other)")):
        if isinstance(matrix["ACO"].get(cell, 0), int):  # the matrix shows the column's sum
            assert [r[col] for r in flows].count(SUPPRESSED) != 1
    for r in rows("adoption"):
        assert (r["rate"] == WITHHELD) == (SUPPRESSED in (r["adopted"], r["ACO-eligible"]))
    results = json.loads(html.with_suffix(".results.json").read_text())
    assert all(isinstance(v["value"], (int, float)) for v in results.values())


def test_a_period_without_members_by_design_is_not_applicable_not_zero():
    by_period = pd.DataFrame({"aco_id": ["A1"], "budget_period": [1], "members": [120]})
    out = ar.per_period_wide(by_period, "members", ACOS, {0: "Prep", 1: "BP 1"}, not_applicable=[0])
    assert out[["Prep", "BP 1"]].values.tolist() == [[ar.NOT_APPLICABLE, 120]]


@pytest.mark.slow
def test_prep_shows_as_not_applicable_in_the_member_tables(tiny_report):
    import openpyxl

    book = openpyxl.load_workbook(tiny_report.with_suffix(".xlsx"))
    for name in ("member-months", "attributed members"):
        header, *rows = book[name].iter_rows(min_row=3, values_only=True)
        prep = header.index("Prep")
        assert {row[prep] for row in rows} == {ar.NOT_APPLICABLE}
        assert "by design" in book[name]["A1"].value


@pytest.mark.slow
def test_every_published_header_is_plain_words_and_rates_show_as_percentages(tiny_report):
    import re

    import openpyxl

    headers = re.findall(r"<th[^>]*>(.*?)</th>", tiny_report.read_text())
    assert headers and not [h for h in headers if "_" in h]
    coverage = openpyxl.load_workbook(tiny_report.with_suffix(".xlsx"))["coverage"]
    assert [c.value for c in coverage[3]] == ["Table", "Rows", "From", "To", "Months with rows", "Months spanned"]
    book = openpyxl.load_workbook(tiny_report.with_suffix(".xlsx"))
    sheet = book["CHC share"]
    header = [c.value for c in sheet[3]]
    share = sheet.cell(4, header.index(ar.HEADERS["chc_share"]) + 1)
    assert isinstance(share.value, float) and share.number_format == "0.0%"
    assert sheet.cell(4, header.index(ar.HEADERS["members"]) + 1).number_format == "#,##0"
