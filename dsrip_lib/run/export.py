"""Turn an executed notebook and its published sidecars into HTML, PDF, XLSX and JSON.

Every writer here is deterministic: the same notebook and tables give the same bytes
(no timestamps, no random ids), so a rerun on the same inputs can be compared with ``cmp``.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd

from dsrip_lib.publishing.fonts import font_bytes, pdf_stylesheet

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "dsrip"
# Fixed stamp for dates written into outputs (zip's earliest date: 1980-01-01 00:00 UTC).
FIXED_STAMP = (1980, 1, 1, 0, 0, 0)
FIXED_EPOCH = 315532800
_FIXED_W3CDTF = "1980-01-01T00:00:00Z"
_CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:https?:)?//[^'")\s]+)""", re.IGNORECASE)
_PY_FORMAT = re.compile(r"^(?P<prefix>[^{}]*)\{:(?P<comma>,?)(?:\.(?P<digits>\d+))?(?P<kind>[f%])\}(?P<suffix>[^{}]*)$")
_LOADING_ATTRS = {"src", "href", "data", "poster", "srcset", "xlink:href"}
# A numeric cell without a declared format, as the HTML table shows it: {False: integer, True: float}.
_DEFAULT_NUMBER_FORMAT = {False: "#,##0", True: "#,##0.00"}


def export_html(nb: nbformat.NotebookNode, title: str, provenance: str = "") -> str:
    """Self-contained HTML of an executed notebook: code hidden, images inline, nothing from the network.

    ``provenance`` is printed at the foot of the page (code version, inputs fingerprint).

    Raises
    ------
    ValueError
        If the page would still load an external resource.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    nb = nbformat.from_dict(nb)
    nb.metadata.pop("title", None)  # the title is ours, stable across runs
    resources = {"metadata": {"name": title}, "dsrip_provenance": provenance}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    external = external_resources(body)
    if external:
        raise ValueError(f"HTML of {title!r} would load external resources: {external[:5]}")
    return body


class _ResourceFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        if tag == "a":  # a hyperlink is followed by the reader, not loaded by the page
            return
        for name, value in attrs:
            if name in _LOADING_ATTRS and value and re.match(r"\s*(https?:)?//", value, re.IGNORECASE):
                self.found.append(value.strip())
            if name == "style" and value:
                self.found.extend(_CSS_URL.findall(value))

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found.extend(_CSS_URL.findall(data))


def external_resources(html: str) -> list[str]:
    """URLs a page would fetch from the network (scripts, styles, images, CSS ``url()``/``@import``)."""
    finder = _ResourceFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def export_pdf(html: str, path: Path) -> None:
    """Render the HTML to a tagged PDF (PDF/UA-1, keeps image alt text) with WeasyPrint.

    The PDF is deterministic: no creation date (the HTML carries none), a fixed document
    identifier, embedded font subsets stamped with ``SOURCE_DATE_EPOCH`` (fontTools
    otherwise writes the current time into each font's ``head`` table), and every text set
    in the fonts matplotlib ships (:mod:`dsrip_lib.publishing.fonts`), whatever fonts the
    system has. Only ``data:`` URLs and those fonts may be fetched.

    Raises
    ------
    ValueError
        If the HTML refers to anything but inline (``data:``) resources.
    """
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    # WeasyPrint warns about every lab-theme CSS property it does not implement.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    class ReportFetcher(URLFetcher):  # inline data, and the packaged fonts by their own scheme
        def fetch(self, url, headers=None):
            font = font_bytes(url)
            if font is not None:
                return URLFetcherResponse(url, font, {"Content-Type": "font/ttf"})
            return super().fetch(url, headers)

    fetcher = ReportFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = epoch or str(FIXED_EPOCH)
    try:
        font_config = FontConfiguration()  # @font-face rules take effect only through one
        fonts = weasyprint.CSS(string=pdf_stylesheet(), url_fetcher=fetcher, font_config=font_config)
        weasyprint.HTML(string=html, base_url=path.parent.as_uri(), url_fetcher=fetcher).write_pdf(
            path, stylesheets=[fonts], font_config=font_config, pdf_variant="pdf/ua-1",
            pdf_identifier=b"dsrip-report"
        )
    except FatalURLFetchingError as exc:
        raise ValueError(f"{path.name}: {exc}: reports are self-contained") from None
    finally:
        if epoch is None:
            del os.environ["SOURCE_DATE_EPOCH"]


def _deterministic_zip(data: bytes) -> bytes:
    """Rewrite an OOXML zip with fixed entry dates and a fixed ``dcterms:modified``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + _FIXED_W3CDTF.encode() + rb"\g<2>",
                    content,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_STAMP)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, content)
    return out.getvalue()


def excel_number_format(fmt: str) -> str | None:
    """The spreadsheet number format of a display format: ``{:.1%}`` -> ``0.0%``, ``${:,.2f}`` -> ``$#,##0.00``.

    None for a format without a spreadsheet equivalent (the cell then shows the value as stored).
    """
    match = _PY_FORMAT.match(fmt)
    if not match:
        return None
    digits = int(match["digits"] or 0)
    number = ("#,##0" if match["comma"] else "0") + ("." + "0" * digits if digits else "")
    return f'{match["prefix"]}{number}{"%" if match["kind"] == "%" else ""}{match["suffix"]}'


def write_workbook(tables: list, path: Path, source: str = "") -> None:
    """One sheet per published table: caption in A1, ``source`` in A2, header in row 3, values below.

    ``tables`` are :class:`~dsrip_lib.publishing.publisher.PublishedTable`. Header rows are
    frozen; numeric cells get the number format of the table's display format (rates as
    percentages, counts with thousands separators, money in dollars), else the HTML table's
    default (integers with thousands separators, other numbers to 2 decimals). Suppressed cells are the
    text ``"*"``; other cells keep their type. Byte-identical for identical tables.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    if not tables:
        workbook.create_sheet("no tables")["A1"] = "This report published no tables."
    for name, caption, frame, formats in tables:
        sheet = workbook.create_sheet(name)
        sheet["A1"] = caption
        sheet["A1"].font = Font(bold=True)
        sheet.append([f"Source: {source}" if source else None])
        sheet.append([str(col) for col in frame.columns])
        for cell in sheet[3]:
            cell.font = Font(bold=True)
        for row in frame.itertuples(index=False):
            sheet.append([_excel_value(v) for v in row])
        for idx, col in enumerate(frame.columns, start=1):
            declared = excel_number_format(formats.get(str(col), ""))
            for (cell,) in sheet.iter_rows(min_row=4, min_col=idx, max_col=idx):
                if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                    cell.number_format = declared or _DEFAULT_NUMBER_FORMAT[isinstance(cell.value, float)]
        sheet.freeze_panes = "A4"
        for idx, col in enumerate(frame.columns, start=1):
            width = max([len(str(col))] + [len(str(v)) for v in frame[col].head(200)])
            sheet.column_dimensions[sheet.cell(3, idx).column_letter].width = min(max(width + 2, 8), 60)
    workbook.properties.creator = "dsrip"
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(_deterministic_zip(buffer.getvalue()))


def _excel_value(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:  # NaN: an empty cell, not a #NUM!
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):  # numpy scalar -> Python scalar
        return value.item()
    return value


def write_results(values: dict[str, dict], path: Path) -> None:
    """The headline numbers as JSON (``{name: {value, description}}``); NaN and inf are refused."""
    path.write_text(json.dumps(values, indent=2, allow_nan=False, ensure_ascii=False) + "\n", encoding="utf-8")
