"""Publisher (what notebooks call) and the exporters, without a kernel."""

from __future__ import annotations

import json
import math
import zipfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import openpyxl  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dsrip_lib.publishing import publisher as publish  # noqa: E402
from dsrip_lib.publishing.publisher import (  # noqa: E402
    SUPPRESSED,
    PublishedTable,
    Publisher,
    read_published,
    suppress_small_cells,
)
from dsrip_lib.run import export


@pytest.fixture
def shown(monkeypatch):
    """The display bundles a Publisher emits, in order."""
    bundles: list[dict] = []
    monkeypatch.setattr(Publisher, "_display", staticmethod(bundles.append))
    return bundles


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=40))
def test_exactly_counts_one_to_ten_are_suppressed(values):
    df = pd.DataFrame({"n": values, "other": values})
    out = suppress_small_cells(df, ["n"])
    for raw, published in zip(values, out["n"]):
        assert published == (SUPPRESSED if 1 <= raw <= 10 else raw)
    assert out["other"].tolist() == values  # only the named count columns


def test_missing_counts_stay_missing():
    df = pd.DataFrame({"n": pd.array([3, None, 50], dtype="Int64"), "f": [float("nan"), 3.0, 20.0]})
    out = suppress_small_cells(df, ["n", "f"])
    assert out["n"][0] == SUPPRESSED and out["n"][1] is pd.NA and out["n"][2] == 50
    assert math.isnan(out["f"][0]) and out["f"][1] == SUPPRESSED and out["f"][2] == 20.0


def test_fractional_counts_below_eleven_are_suppressed_and_negatives_refused():
    out = suppress_small_cells(pd.DataFrame({"avg": [0.0, 0.4, 10.6, 11.0]}), ["avg"])
    assert out["avg"].tolist() == [0.0, SUPPRESSED, SUPPRESSED, 11.0]
    with pytest.raises(ValueError, match="negative"):
        suppress_small_cells(pd.DataFrame({"n": [-1]}), ["n"])
    with pytest.raises(KeyError, match="missing_col"):
        suppress_small_cells(pd.DataFrame({"n": [1]}), ["missing_col"])


def test_table_displays_and_records_the_suppressed_table(tmp_path, shown):
    pub = Publisher(tmp_path, headers={"aco_id": "ACO"})
    df = pd.DataFrame({"aco_id": ["01060", "02108"], "members": [4, 1234], "pmpm": [512.25, 498.0]})
    pub.table("by aco", df, caption="Members by ACO", counts=["members"], headers={"pmpm": "PMPM ($)"})

    html = shown[0]["text/html"]
    assert f"<caption>Members by ACO. {publish.SUPPRESSION_NOTE}</caption>" in html  # the marker explained
    assert f'<td class="num">{SUPPRESSED}</td>' in html and '<td class="num">1,234</td>' in html
    assert '<td class="num">4</td>' not in html
    assert "<td>01060</td>" in html  # identifiers stay text, leading zero kept
    Publisher().table("months", pd.DataFrame({"month": pd.to_datetime(["2018-01-01"])}), caption="m")
    assert "<td>2018-01-01</td>" in shown[1]["text/html"]

    tables, values = read_published(tmp_path)
    assert values == {}
    [(name, caption, frame, formats)] = tables
    assert (name, caption) == ("by aco", f"Members by ACO. {publish.SUPPRESSION_NOTE}")
    assert list(frame.columns) == ["ACO", "members", "PMPM ($)"]  # the headers readers see
    assert frame["members"].tolist() == [SUPPRESSED, 1234]
    assert frame["PMPM ($)"].tolist() == [512.25, 498.0]
    assert formats == {"members": publish.COUNT_FORMAT}  # counts are formatted as counts
    assert list(pub.published("by aco").columns) == ["aco_id", "members", "pmpm"]  # values keep code names


def test_years_show_as_labels_without_thousands_separators(tmp_path, shown):
    df = pd.DataFrame({"year": [2017, 2018], "baseline_year": [2017.0, float("nan")], "members_per_year": [1234, 5]})
    Publisher(tmp_path).table("years", df, caption="y", headers={"baseline_year": "baseline", "members_per_year": "n"})
    html = shown[0]["text/html"]
    assert '<td class="num">2017</td>' in html and "2,017" not in html and '<td class="num">1,234</td>' in html
    [(_, _, _, formats)] = read_published(tmp_path)[0]
    assert formats == {"year": publish.YEAR_FORMAT, "baseline": publish.YEAR_FORMAT}
    assert export.excel_number_format(publish.YEAR_FORMAT) == "0"


def test_a_header_left_as_a_code_name_is_refused(tmp_path, shown):
    with pytest.raises(ValueError, match=r"\['chc_share'\] are code names"):
        Publisher(tmp_path).table("t", pd.DataFrame({"chc_share": [0.5]}), caption="x")
    assert shown == []


def test_table_refuses_member_identifiers_and_bad_sheet_names(tmp_path, shown):
    pub = Publisher(tmp_path)
    with pytest.raises(ValueError, match="member_id"):
        pub.table("members", pd.DataFrame({"member_id": ["M1"], "n": [20]}), caption="x")
    with pytest.raises(ValueError, match="table name"):
        pub.table("a/b", pd.DataFrame({"n": [20]}), caption="x")
    assert shown == []


def test_named_index_becomes_a_column_and_row_numbers_are_dropped(tmp_path, shown):
    pub = Publisher(tmp_path)
    pub.table("named", pd.DataFrame({"n": [20, 30]}, index=pd.Index(["a", "b"], name="aco")), caption="x")
    filtered = pd.DataFrame({"n": [5, 20, 30]}).query("n > 10")  # index [1, 2]: row numbers, not data
    pub.table("filtered", filtered, caption="y")
    (_, _, named, _), (_, _, unnamed, _) = read_published(tmp_path)[0]
    assert list(named.columns) == ["aco", "n"] and named["aco"].tolist() == ["a", "b"]
    assert list(unnamed.columns) == ["n"] and unnamed["n"].tolist() == [20, 30]


def test_a_name_is_published_once(tmp_path, shown):
    pub = Publisher(tmp_path)
    pub.table("Members", pd.DataFrame({"n": [20]}), caption="x")
    with pytest.raises(ValueError, match="already published"):
        pub.table("members", pd.DataFrame({"n": [30]}), caption="y")
    pub.value("total", 1, description="d")
    with pytest.raises(ValueError, match="already published"):
        pub.value("total", 2, description="d")
    assert len(shown) == 1


@pytest.mark.parametrize("bad", [float("nan"), math.inf, -math.inf, np.float64("nan"), pd.NA])
def test_value_refuses_non_finite_numbers(tmp_path, bad):
    with pytest.raises((ValueError, TypeError), match="total"):
        Publisher(tmp_path).value("total", bad, description="d")
    assert read_published(tmp_path) == ([], {})


@pytest.mark.parametrize("bad", ["12", True, None])
def test_value_refuses_non_numbers(tmp_path, bad):
    with pytest.raises(TypeError, match="must be a number"):
        Publisher(tmp_path).value("total", bad, description="d")


def test_values_are_recorded_as_plain_json_numbers(tmp_path):
    pub = Publisher(tmp_path)
    pub.value("members", np.int64(12), description="members")
    pub.value("rate", np.float32(0.25), description="a rate")
    assert read_published(tmp_path)[1] == {
        "members": {"value": 12, "description": "members"},
        "rate": {"value": 0.25, "description": "a rate"},
    }


def test_results_json_refuses_nan(tmp_path):
    with pytest.raises(ValueError):
        export.write_results({"x": {"value": float("nan"), "description": "d"}}, tmp_path / "r.json")


@pytest.mark.parametrize("prose", ["The rate was nan%.", "Growth: inf", "Savings of <NA> dollars", "On NaT"])
def test_text_refuses_missing_numbers(prose, shown):
    with pytest.raises(ValueError, match="missing or infinite"):
        Publisher().text(prose)
    assert shown == []


def test_text_allows_words_containing_nan(shown):
    Publisher().text("Financial performance and maintenance of information.")
    assert shown[0]["text/markdown"].startswith("Financial")


def _figure():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([1, 2, 3], [2, 1, 3])
    return fig


def test_figure_is_inline_png_with_alt_text_and_identical_on_rerun(shown):
    pub = Publisher()
    pub.figure(_figure(), "trend", alt="Line chart of a trend", caption="A trend")
    pub.figure(_figure(), "trend", alt="Line chart of a trend", caption="A trend")
    first, second = shown[0]["text/html"], shown[1]["text/html"]
    assert first == second
    assert 'alt="Line chart of a trend"' in first and "data:image/png;base64," in first
    assert "<figcaption>A trend</figcaption>" in first
    assert plt.get_fignums() == []  # closed, so the inline backend does not show it twice
    with pytest.raises(ValueError, match="alt text"):
        pub.figure(_figure(), "x", alt=" ")
    plt.close("all")


def test_workbook_is_deterministic_and_keeps_types(tmp_path):
    tables = [
        PublishedTable("counts", "Members by group", pd.DataFrame({"group": ["a", "b"], "members": [SUPPRESSED, 40]}),
                       {"members": "{:,.0f}"}),
        PublishedTable("money", "PMPM", pd.DataFrame({"pmpm": [1.5, float("nan")],
                                                      "month": pd.to_datetime(["2018-01-01"] * 2)}), {}),
    ]
    export.write_workbook(tables, tmp_path / "a.xlsx")
    export.write_workbook(tables, tmp_path / "b.xlsx")
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.xlsx") as archive:
        assert {info.date_time for info in archive.infolist()} == {export.FIXED_STAMP}
        core = archive.read("docProps/core.xml").decode()
    assert "1980-01-01T00:00:00Z" in core

    book = openpyxl.load_workbook(tmp_path / "a.xlsx")
    assert book.sheetnames == ["counts", "money"]
    rows = list(book["counts"].iter_rows(min_row=3, values_only=True))
    assert rows == [("group", "members"), ("a", SUPPRESSED), ("b", 40)]
    money = list(book["money"].iter_rows(min_row=4, values_only=True))
    assert money[0][0] == 1.5 and money[1][0] is None  # NaN is an empty cell
    assert money[0][1].year == 2018
    assert book["counts"].freeze_panes == "A4"  # caption, source and header stay in view


def test_workbook_shows_rates_as_percentages_counts_and_money_in_their_formats(tmp_path):
    frame = pd.DataFrame({"Members": [1200, SUPPRESSED], "Share": [0.125, 0.5], "PMPM": [512.5, 498.0]})
    table = PublishedTable("t", "caption", frame, {"Members": "{:,.0f}", "Share": "{:.1%}", "PMPM": "${:,.2f}"})
    export.write_workbook([table], tmp_path / "t.xlsx", source="dsrip 0.1.0, run r")
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx")["t"]
    assert sheet["A2"].value == "Source: dsrip 0.1.0, run r"
    assert [sheet.cell(4, col).number_format for col in (1, 2, 3)] == ["#,##0", "0.0%", "$#,##0.00"]
    assert sheet["A5"].value == SUPPRESSED and sheet["A5"].number_format == "General"  # the marker stays text
    assert export.excel_number_format("{:,}") is None


@pytest.mark.parametrize(
    "html",
    [
        '<script src="https://cdn.example.org/require.js"></script>',
        '<link rel="stylesheet" href="//cdn.example.org/a.css">',
        '<img src="http://example.org/x.png" alt="x">',
        '<style>body { background: url("https://example.org/bg.png"); }</style>',
        '<style>@import "https://example.org/a.css";</style>',
        '<div style="background-image: url(https://example.org/a.png)"></div>',
    ],
)
def test_external_resources_are_found(html):
    assert len(export.external_resources(html)) == 1


def test_links_and_inline_data_are_not_external_resources():
    page = '<a href="https://www.mass.gov/">MassHealth</a><img src="data:image/png;base64,AAAA" alt="x">'
    assert export.external_resources(page) == []


def test_pdf_refuses_to_fetch_from_the_network(tmp_path):
    with pytest.raises(ValueError, match="self-contained"):
        export.export_pdf('<img src="https://example.org/x.png" alt="x">', tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


def test_display_only_publisher_writes_nothing(tmp_path, shown, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pub = Publisher()
    pub.table("t", pd.DataFrame({"n": [20]}), caption="x", counts=["n"])
    pub.value("v", 1, description="d")
    assert list(tmp_path.iterdir()) == [] and len(shown) == 1


def test_index_file_is_valid_json_after_each_call(tmp_path, shown):
    pub = Publisher(tmp_path)
    pub.value("a", 1, description="d")
    pub.table("t", pd.DataFrame({"n": [20]}), caption="x")
    index = json.loads((tmp_path / publish.INDEX_FILE).read_text())
    assert [t["name"] for t in index["tables"]] == ["t"] and list(index["values"]) == ["a"]


@given(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 40)), min_size=1, max_size=30))
def test_a_share_is_withheld_exactly_where_one_of_its_counts_is_suppressed(rows):
    df = pd.DataFrame([(min(part, whole), whole) for part, whole in rows], columns=["chc", "members"])
    df["share"] = df.chc / df.members
    out = suppress_small_cells(df, ["chc", "members"], derived={"share": ["chc", "members"]})
    for (chc, members, share), shown_share in zip(df.itertuples(index=False), out["share"]):
        small = any(1 <= n <= 10 for n in (chc, members))
        assert shown_share == (publish.WITHHELD if small else share)


def test_a_total_is_withheld_when_one_of_its_parts_is_suppressed_unless_itself_small():
    df = pd.DataFrame({"kept": [100, 100, 4], "lost": [7, 30, 2], "before": [107, 130, 6]})
    out = suppress_small_cells(df, ["kept", "lost", "before"], derived={"before": ["kept", "lost"]})
    assert out["before"].tolist() == [publish.WITHHELD, 130, SUPPRESSED]
    assert out["lost"].tolist() == [SUPPRESSED, 30, SUPPRESSED]


def test_derived_columns_must_come_from_declared_counts():
    df = pd.DataFrame({"n": [5], "d": [20], "share": [0.25]})
    with pytest.raises(ValueError, match=r"\['d'\].*not declared as counts"):
        suppress_small_cells(df, ["n"], derived={"share": ["n", "d"]})
    with pytest.raises(KeyError, match="rate"):
        suppress_small_cells(df, ["n"], derived={"rate": "n"})


def test_table_withholds_the_share_beside_a_suppressed_count(tmp_path, shown):
    pub = Publisher(tmp_path, headers={"chc_members": "CHC members", "chc_share": "CHC share"})
    df = pd.DataFrame({"aco": ["a", "b"], "members": [400, 900], "chc_members": [8, 300]})
    df["chc_share"] = df.chc_members / df.members
    pub.table("chc", df, caption="CHC", counts=["members", "chc_members"],
              derived={"chc_share": ["chc_members", "members"]}, formats={"chc_share": "{:.1%}"})
    html = shown[0]["text/html"]
    assert f'<td class="num">{publish.WITHHELD}</td>' in html and "2.0%" not in html
    assert "33.3%" in html
    [(_, _, frame, formats)] = read_published(tmp_path)[0]
    assert frame["CHC share"].tolist() == [publish.WITHHELD, 300 / 900]
    assert formats["CHC share"] == "{:.1%}"


def test_published_gives_the_suppressed_frame_and_plot_values_blanks_it(shown):
    pub = Publisher()  # display-only publishing keeps the frame too, for the notebook's charts
    matrix = pd.DataFrame({"ACO": [500, 3], "MCO": [9, 200]}, index=pd.Index(["ACO", "MCO"], name="from"))
    pub.table("flows", matrix, caption="x", counts=["ACO", "MCO"])
    published = pub.published("flows")
    assert published["MCO"].tolist() == [SUPPRESSED, 200]
    published.loc[0, "ACO"] = -1  # a copy: the record is not changed by the caller
    assert pub.published("flows")["ACO"].tolist() == [500, SUPPRESSED]
    values = publish.plot_values(pub.published("flows"))
    assert values["from"].tolist() == ["ACO", "MCO"]
    assert values["ACO"].iloc[0] == 500 and math.isnan(values["ACO"].iloc[1])
    assert values["MCO"].dtype == float and math.isnan(values["MCO"].iloc[0])
    with pytest.raises(KeyError, match="no table 'other'"):
        pub.published("other")


def test_table_with_margins_shows_complementary_cells_as_suppressed_and_says_so(tmp_path, shown):
    pub = Publisher(tmp_path)
    # 120 - 112 would give the 8 back
    df = pd.DataFrame({"aco": ["a", "b"], "before": [120, 300], "kept": [112, 250], "lost": [8, 50]})
    pub.table("flows", df, caption="Flows", counts=["before", "kept", "lost"], margins={"before": ["kept", "lost"]})
    pub.table("plain", df, caption="Flows", counts=["before", "kept", "lost"])
    [(_, caption, frame, _), (_, plain_caption, plain, _)] = read_published(tmp_path)[0]
    assert frame.loc[0].tolist() == ["a", 120, SUPPRESSED, SUPPRESSED]
    assert frame.loc[1].tolist() == ["b", 300, 250, 50]
    assert shown[0]["text/html"].count(f'<td class="num">{SUPPRESSED}</td>') == 2
    assert caption == plain_caption == f"Flows. {publish.SUPPRESSION_NOTE}"
    assert plain.loc[0, "kept"] == 112  # without the margin declared, nothing more is hidden
