"""Publication checks of every registered report, run twice on the tiny synthetic state with the default
run's options: PDF pages drawn and not blank or cut at the right edge, HTML fetching nothing from the
network, and the workbook repeating its cell values with a sheet per published table and number formats.

Parametrised over ``registry.REPORTS``, so a newly registered report is checked without a line here.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import openpyxl
import pypdfium2 as pdfium
import pytest
import yaml

from dsrip_lib.run import registry, runner

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "dsrip_lib" / "run" / "templates" / "dsrip" / "index.html.j2"
SCALE = 2  # pixels per PDF point: 144 dpi, about 5.7 pixels a millimetre
INK = 200  # a grey level below this (of 255) is ink
TOLERANCE_MM = 1.0  # antialiasing of a box that ends exactly on the margin
PX_PER_MM = 72 / 25.4 * SCALE
EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
CSS_EXTERNAL = re.compile(r"""(url\(\s*['"]?\s*|@import\s+['"]?)(https?:)?//""", re.IGNORECASE)
# Elements whose src/href/data the browser fetches on its own; <a href> is followed only by a reader (allowed).
LOADING_TAGS = {"script", "link", "img", "style", "iframe", "frame", "source", "video", "audio", "track", "object",
                "embed", "input", "image", "use"}
LOADING_ATTRS = {"src", "href", "data", "srcset", "poster", "xlink:href", "background"}


def page_margins_mm() -> dict[str, float]:
    """The ``@page`` margins of the report template (top, right, bottom, left), as the PDF uses them."""
    found = re.search(r"@page\s*\{[^}]*?margin:\s*([\d.]+)mm\s+([\d.]+)mm\s+([\d.]+)mm\s+([\d.]+)mm",
                      TEMPLATE.read_text(encoding="utf-8"))
    assert found, f"no @page margin in mm in {TEMPLATE}"
    return dict(zip(("top", "right", "bottom", "left"), map(float, found.groups())))


@pytest.fixture(scope="module")
def runs(tiny_data, tmp_path_factory):
    """Every registered report run twice with the same parameters (two reports directories); both run directories."""
    default = yaml.safe_load((REPO / "params" / "runs" / "default.yaml").read_text(encoding="utf-8"))
    options = {name: value for name, value in (default.get("options") or {}).items() if name in registry.REPORTS}
    directories = []
    for attempt in ("first", "second"):
        base = tmp_path_factory.mktemp(f"publication-{attempt}")
        params = base / "run.yaml"
        params.write_text(yaml.safe_dump({"run_id": "pub", "data_dir": str(tiny_data), "options": options,
                                          "reports_dir": str(base / "reports")}), encoding="utf-8")
        directories.append(runner.run_all(params, {})[0].parent)
    return directories


REPORTS = sorted(registry.REPORTS)


# -- PDF --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("report", REPORTS)
def test_pdf_pages_are_drawn_none_blank_and_nothing_cut_at_the_right_edge(runs, report):
    margins = page_margins_mm()
    pdf = pdfium.PdfDocument(runs[0] / f"{report}.pdf")
    assert len(pdf) > 0
    problems = []
    for number in range(len(pdf)):
        bitmap = pdf[number].render(scale=SCALE, grayscale=True)
        ink = np.asarray(bitmap.to_numpy()).reshape(bitmap.height, -1) < INK
        height, width = ink.shape
        body = ink[round(margins["top"] * PX_PER_MM): height - round(margins["bottom"] * PX_PER_MM)]
        if not body.any():
            problems.append(f"page {number + 1} is blank")
        strip = ink[:, width - round((margins["right"] - TOLERANCE_MM) * PX_PER_MM):]
        if strip.any():
            problems.append(f"page {number + 1} has ink in its right margin (cut or overflowing content)")
    assert problems == [], f"{report}.pdf: {problems}"


# -- HTML -------------------------------------------------------------------------------------


class Fetches(HTMLParser):
    """Every URL a page would fetch from the network by itself (an <a href> is not fetched)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._style = False

    def handle_starttag(self, tag, attrs):
        self._style = tag == "style"
        for name, value in attrs:
            if not value:
                continue
            if tag in LOADING_TAGS and name in LOADING_ATTRS and EXTERNAL.match(value):
                self.found.append(f"<{tag} {name}={value}>")
            if name == "style" and CSS_EXTERNAL.search(value):
                self.found.append(f"<{tag} style={value}>")

    def handle_endtag(self, tag):
        self._style = self._style and tag != "style"

    def handle_data(self, data):
        if self._style and CSS_EXTERNAL.search(data):
            self.found.append(f"<style>{CSS_EXTERNAL.search(data).group(0)}")


def network_fetches(page: str) -> list[str]:
    parser = Fetches()
    parser.feed(page)
    parser.close()
    return parser.found


def test_the_html_check_sees_scripts_styles_images_and_css_urls_but_not_links():
    page = ('<script src="https://cdn.example/x.js"></script><link rel="stylesheet" href="//cdn.example/s.css">'
            '<img src="http://x/y.png"><style>@import "https://fonts.example/f.css";</style>'
            '<div style="background: url(//x/b.png)"></div><a href="https://protocol.example/">text</a>'
            '<img src="data:image/png;base64,AAAA">')
    assert len(network_fetches(page)) == 5


@pytest.mark.slow
@pytest.mark.parametrize("page", [*(f"{name}.html" for name in REPORTS), "index.html"])
def test_html_fetches_nothing_from_the_network(runs, page):
    text = (runs[0] / page).read_text(encoding="utf-8")
    assert network_fetches(text) == []


# -- workbook ---------------------------------------------------------------------------------


def cell_values(path: Path) -> dict[str, list[tuple]]:
    workbook = openpyxl.load_workbook(path)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook}


def same(a: object, b: object) -> bool:
    """Equal cells, of the same type: a float must repeat to its last bit (sums on the engine are exact,
    dsrip_lib.exact.exact_sum)."""
    return type(a) is type(b) and a == b


@pytest.mark.slow
@pytest.mark.parametrize("report", REPORTS)
def test_two_runs_give_identical_workbook_cell_values(runs, report):
    first, second = (cell_values(directory / f"{report}.xlsx") for directory in runs)
    assert list(first) == list(second)
    for sheet in first:
        assert [len(row) for row in first[sheet]] == [len(row) for row in second[sheet]], sheet
        differing = [(r + 1, c + 1, a, b) for r, (row_a, row_b) in enumerate(zip(first[sheet], second[sheet]))
                     for c, (a, b) in enumerate(zip(row_a, row_b)) if not same(a, b)]
        assert differing == [], f"{report}.xlsx, sheet {sheet!r}: (row, column, first, second) {differing[:5]}"


def test_the_workbook_comparison_is_exact():
    assert same(332.98, 332.98) and same("on track", "on track") and same(None, None)
    assert not same(332.9857578125003, 332.9857578125001) and not same(1, 1.0) and not same("*", 3)


@pytest.mark.slow
@pytest.mark.parametrize("report", REPORTS)
def test_two_runs_give_byte_identical_results(runs, report):
    first, second = (directory / f"{report}.results.json" for directory in runs)
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("report", REPORTS)
def test_every_published_table_is_a_sheet_with_number_formats(runs, report):
    page = (runs[0] / f"{report}.html").read_text(encoding="utf-8")
    captions = [" ".join(html.unescape(c).split())
                for c in re.findall(r'<table class="dsrip-table[^"]*"><caption>(.*?)</caption>', page, re.S)]
    workbook = openpyxl.load_workbook(runs[0] / f"{report}.xlsx")
    if not captions:
        assert workbook.sheetnames == ["no tables"]
        return
    assert [" ".join(str(sheet["A1"].value).split()) for sheet in workbook] == captions
    unformatted = [f"{sheet.title}!{cell.coordinate}" for sheet in workbook for row in sheet.iter_rows(min_row=4)
                   for cell in row if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool)
                   and cell.number_format == "General"]
    assert unformatted == [], f"{report}.xlsx: numeric cells without a number format: {unformatted[:5]}"
