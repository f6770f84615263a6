"""What report notebooks call to publish tables, headline numbers, figures and prose.

``pub = Publisher(output_dir)`` in a notebook; every call displays its content in the
notebook (and so in the HTML and PDF) and, when ``output_dir`` is set (the runner sets
it), records it in sidecar files that the runner turns into ``<report>.xlsx`` and
``<report>.results.json``.

Small-cell suppression (CMS cell size suppression policy): in every column named in
``counts``, a value greater than 0 and below 11 (counts 1-10, and averages that could
be one) is replaced by ``"*"`` in both the displayed table and the workbook.
Zero is shown. Complementary suppression (``dsrip_lib.suppression``) then hides more
counts, shown the same way, wherever a declared additive relation (``margins``,
``total_row``, ``column_totals``, ``equal_sums``, ``parts_elsewhere``) would give a suppressed count back by
subtraction. A column declared in ``derived`` (a share or a rate computed from count
columns of the same row) is withheld (``"suppressed"``) wherever one of its counts is
suppressed. Charts are drawn from the published frame (``Publisher.published``,
``plot_values``). What is not covered: docs/running_reports.md.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import numbers
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from dsrip_lib.publishing import suppression

# One neutral marker for primary and complementary cells: a reader must not tell them apart, and
# a complementary cell may hold more than 10 (so "1-10" would be false for it).
SUPPRESSED = "*"
WITHHELD = "suppressed"  # a derived cell that would reveal a suppressed count
SUPPRESSION_NOTE = (f"{SUPPRESSED}: suppressed (CMS cell size policy): a count of 1 to 10, or another count "
                    f"that would reveal one by subtraction; {WITHHELD}: a share, rate or total computed from "
                    "a suppressed count.")
INDEX_FILE = "published.json"
COUNT_FORMAT = "{:,.0f}"  # counts (and averages of counts) show whole, with thousands separators
YEAR_FORMAT = "{:.0f}"  # a year is a label: 2017, never "2,017"
_YEAR_COLUMN = re.compile(r"(^|_)(?<!per_)year$")  # year, calendar_year, baseline_year (not members_per_year)
WIDE_TABLE_COLUMNS = 7  # wider tables are laid out to the page width in print (template CSS)
IDENTIFIER_COLUMNS = frozenset({"member_id"})  # member-level identifiers are never published

_SHEET_NAME = re.compile(r"^[A-Za-z0-9_ -]{1,31}$")  # Excel's sheet-name limits
_MISSING_WORD = re.compile(r"\b(nan|inf|-inf|NaT)\b|<NA>", re.IGNORECASE)


def suppress_small_cells(
    df: pd.DataFrame,
    counts: list[str],
    derived: dict[str, str | list[str]] | None = None,
    margins: dict[str, list[str]] | None = None,
    total_row: bool = False,
    column_totals: dict[str, object] | None = None,
    equal_sums: list[tuple[str, str]] = (),
    parts_elsewhere: dict[str, list[list[object]]] | None = None,
    name: str = "table",
) -> pd.DataFrame:
    """The table as published: small counts suppressed, complementary cells too, derived cells withheld.

    Parameters
    ----------
    df
        The table.
    counts
        Columns of counts: values greater than 0 and below 11 become ``"*"``.
    derived
        ``{column: count column(s)}`` for columns computed from counts of the same row
        (``{"chc_share": ["chc_members", "members"]}``): the cell becomes ``"suppressed"``
        wherever any of its count columns is suppressed (primary or complementary).
    margins
        ``{total: [parts]}``: in every row the count column ``total`` is the sum of the
        count columns ``parts`` (``{"Dec 2021": ["kept", "to other ACO", "to non-ACO"]}``).
    total_row
        The last row is the sum of the rows above it in every count column.
    column_totals
        ``{column: published total}``: the column sums to a cell of a table published
        earlier, as published there (a number, or a marker where it is hidden).
    equal_sums
        Pairs of count columns with equal sums.
    parts_elsewhere
        ``{column: [parts of row 0, parts of row 1, ...]}``: each cell of the column is
        the sum of cells of a table published earlier, as published there (an all-ACO
        row of the per-ACO column of an earlier table).
    name
        The table's name, for error messages.

    Returns
    -------
    A copy; other columns are untouched. Complementary cells show the same ``"*"``
    as primary ones, so a reader cannot tell them apart (``suppression.complementary``).
    """
    derived = {col: [src] if isinstance(src, str) else list(src) for col, src in (derived or {}).items()}
    margins = {total: list(parts) for total, parts in (margins or {}).items()}
    equal_sums = [tuple(pair) for pair in equal_sums]
    related = [*margins, *(p for parts in margins.values() for p in parts), *(column_totals or {}),
               *(c for pair in equal_sums for c in pair), *(parts_elsewhere or {})]
    named = [*counts, *derived, *(src for sources in derived.values() for src in sources), *related]
    missing = [col for col in dict.fromkeys(named) if col not in df.columns]
    if missing:
        raise KeyError(f"column(s) {missing} not in table columns {list(df.columns)}")
    undeclared = sorted({src for sources in derived.values() for src in sources} - set(counts))
    if undeclared:
        raise ValueError(f"derived columns are computed from {undeclared}, which are not declared as counts")
    not_counts = sorted(set(related) - set(counts))
    if not_counts:
        raise ValueError(f"margins and column sums name {not_counts}, which are not declared as counts")
    values = df[list(counts)].apply(pd.to_numeric, errors="raise").reset_index(drop=True)  # cells by position
    relations = [
        *suppression.margin_relations(values, margins),
        *(suppression.total_row_relations(values, counts) if total_row else []),
        *suppression.column_total_relations(values, column_totals or {}),
        *suppression.equal_sum_relations(values, equal_sums),
        *suppression.parts_elsewhere_relations(values, parts_elsewhere or {}),
    ]
    hidden = suppression.complementary(values, suppression.small_cells(values, counts), relations, name)
    values.index = hidden.index = df.index
    out = df.copy()
    for col in counts:
        out[col] = values[col].astype(object).where(~hidden[col], SUPPRESSED)
    for col, sources in derived.items():
        withheld = hidden[sources].any(axis=1)
        if col in hidden:  # a derived count that is itself suppressed keeps the "*" it already shows
            withheld &= ~hidden[col]
        out[col] = out[col].astype(object).where(~withheld, WITHHELD)
    return out


def plot_values(published: pd.DataFrame) -> pd.DataFrame:
    """A published frame with suppressed and withheld cells as NaN, for charts.

    A chart drawn from this shows a suppressed cell as a gap, never its value.
    """
    return published.mask(published.isin([SUPPRESSED, WITHHELD])).infer_objects()


def _display_value(value: object, fmt: str | None) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return ""
    if fmt is not None:
        return fmt.format(value)
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.date().isoformat()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{value:,}"
    if isinstance(value, numbers.Real):
        return f"{value:,.2f}"
    return str(value)


def _table_html(df: pd.DataFrame, caption: str, formats: dict[str, str], counts: list[str]) -> str:
    numeric = [pd.api.types.is_numeric_dtype(df[col]) or col in formats or col in counts for col in df.columns]

    def cell(tag: str, text: str, is_numeric: bool) -> str:
        attrs = ' class="num"' if is_numeric else ""
        return f"<{tag}{attrs}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", str(col), num) for col, num in zip(df.columns, numeric))
    rows = "".join(
        "<tr>"
        + "".join(cell("td", _display_value(v, formats.get(col)), num) for col, v, num in zip(df.columns, row, numeric))
        + "</tr>"
        for row in df.itertuples(index=False)
    )
    width = " wide" if len(df.columns) > WIDE_TABLE_COLUMNS else ""
    return (
        f'<table class="dsrip-table{width}"><caption>{html.escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )


def _finite_number(name: str, value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"published value {name!r} must be a number, got {type(value).__name__}")
    number = int(value) if isinstance(value, numbers.Integral) else float(value)
    if not math.isfinite(number):
        raise ValueError(f"published value {name!r} is {number}: a headline number must be finite")
    return number


@dataclass
class Publisher:
    """Publish a report's content from its notebook.

    Parameters
    ----------
    output_dir
        Where the sidecar files go (the runner's ``output_dir`` parameter); None
        displays without recording (interactive use).
    """

    output_dir: str | Path | None = None
    headers: dict[str, str] = field(default_factory=dict)  # code name -> the header a reader sees
    figure_dpi: int = 110
    _tables: list[dict] = field(default_factory=list, init=False, repr=False)
    _values: dict[str, dict] = field(default_factory=dict, init=False, repr=False)
    _published: dict[str, pd.DataFrame] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.output_dir is not None:
            self.output_dir = Path(self.output_dir)
            (self.output_dir / "tables").mkdir(parents=True, exist_ok=True)

    def table(
        self,
        name: str,
        df: pd.DataFrame,
        caption: str,
        counts: list[str] = (),
        formats: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        **suppression,
    ) -> None:
        """Display a table and record it as sheet ``name`` of the workbook.

        Parameters
        ----------
        name
            Sheet name: letters, digits, space, ``_`` or ``-``, at most 31 characters.
        df
            The table; a named index becomes leading columns, an unnamed one is dropped.
        caption
            One sentence saying what the table shows.
        counts
            Columns holding counts of people or events: small cells are suppressed.
        formats
            Display format per column (``{"rate": "{:.1%}"}``); the workbook keeps the values
            and shows them in the matching number format.
        headers
            Plain-word headers for code-named columns, over the publisher's own ``headers``.
            Readers see these in the HTML, PDF and workbook; ``published(name)`` and the
            values keep the code names. A header that is still a code name (with ``_``) is
            refused.
        **suppression
            ``derived``, ``margins``, ``total_row``, ``column_totals``, ``equal_sums``,
            ``parts_elsewhere``: columns withheld with the counts they are computed from,
            and the table's additive structure for complementary suppression, as documented
            in ``suppress_small_cells``.
        """
        if not _SHEET_NAME.match(name):
            raise ValueError(f"table name {name!r}: use 1-31 letters, digits, spaces, '_' or '-'")
        # Excel sheet names ignore case
        if self.output_dir is not None and name.lower() in {entry["name"].lower() for entry in self._tables}:
            raise ValueError(f"table name {name!r} is already published in this report")
        if any(level is not None for level in df.index.names):  # a named index is data; a row number is not
            df = df.reset_index()
        identifiers = sorted(IDENTIFIER_COLUMNS & {str(col) for col in df.columns})
        if identifiers:
            raise ValueError(f"table {name!r} holds member-level identifier column(s) {identifiers}")
        published = suppress_small_cells(df, list(counts), name=name, **suppression)
        if published.isin([SUPPRESSED, WITHHELD]).any().any():
            caption = f"{caption.rstrip('.')}. {SUPPRESSION_NOTE}"
        words = {**self.headers, **(headers or {})}
        shown = published.rename(columns=lambda col: words.get(str(col), str(col)))
        code_names = [str(col) for col in shown.columns if "_" in str(col)]
        if code_names:
            raise ValueError(f"table {name!r}: header(s) {code_names} are code names; give them plain words "
                             "in headers=")
        numeric = [*counts, *(suppression.get("derived") or {})]
        shown_formats = {words.get(col, col): fmt for col, fmt in (formats or {}).items()}
        shown_formats |= {words.get(col, col): COUNT_FORMAT for col in counts if col not in (formats or {})}
        shown_formats |= {words.get(str(col), str(col)): YEAR_FORMAT for col in published.columns
                          if _YEAR_COLUMN.search(str(col)) and str(col) not in (formats or {})
                          and pd.api.types.is_numeric_dtype(published[col])}
        table_html = _table_html(shown, caption, shown_formats, [words.get(col, col) for col in numeric])
        self._display({"text/html": table_html, "text/plain": caption})
        self._published[name] = published
        if self.output_dir is not None:
            path = self.output_dir / "tables" / f"{name}.pkl"
            shown.to_pickle(path)
            self._tables.append({"name": name, "caption": caption, "formats": shown_formats,
                                 "file": str(path.relative_to(self.output_dir))})
            self._save_index()

    def published(self, name: str) -> pd.DataFrame:
        """The table ``name`` as published (suppressed): what charts and prose may use.

        ``plot_values(pub.published(name))`` gives numbers with NaN for suppressed cells.
        """
        if name not in self._published:
            raise KeyError(f"no table {name!r} published yet; published: {sorted(self._published)}")
        return self._published[name].copy()

    def value(self, name: str, value: object, description: str) -> None:
        """Record a headline number for ``results.json``; NaN, inf and non-numbers are refused."""
        number = _finite_number(name, value)
        if self.output_dir is not None:
            if name in self._values:
                raise ValueError(f"value {name!r} is already published in this report")
            self._values[name] = {"value": number, "description": description}
            self._save_index()

    def figure(self, fig, name: str, alt: str, caption: str | None = None) -> None:
        """Show a matplotlib figure inline as a PNG with alt text, then close it.

        The PNG carries no metadata (no software or date stamps), so reruns are byte-identical.
        """
        if not alt.strip():
            raise ValueError(f"figure {name!r} needs alt text describing what it shows")
        import matplotlib.pyplot as plt

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=self.figure_dpi, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        figcaption = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self._display(
            {
                "text/html": f'<figure class="dsrip-figure" id="figure-{html.escape(name)}">'
                f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"/>{figcaption}</figure>',
                "text/plain": alt,
            }
        )

    def text(self, markdown: str) -> None:
        """Show prose (Markdown); text holding ``nan``, ``inf`` or ``<NA>`` is refused."""
        found = _MISSING_WORD.search(markdown)
        if found:
            raise ValueError(f"text holds a missing or infinite number ({found.group(0)!r}): {markdown[:200]!r}")
        self._display({"text/markdown": markdown, "text/plain": markdown})

    @staticmethod
    def _display(bundle: dict[str, str]) -> None:
        from IPython.display import display

        display(bundle, raw=True)

    def _save_index(self) -> None:
        index = {"tables": self._tables, "values": self._values}
        text = json.dumps(index, indent=2, allow_nan=False)
        (self.output_dir / INDEX_FILE).write_text(text, encoding="utf-8")


class PublishedTable(NamedTuple):
    """A table as readers see it: sheet name, caption, the frame with plain-word headers, display formats."""

    name: str
    caption: str
    frame: pd.DataFrame
    formats: dict[str, str]


def read_published(output_dir: Path) -> tuple[list[PublishedTable], dict[str, dict]]:
    """The tables and values a notebook published into ``output_dir``."""
    index_file = Path(output_dir) / INDEX_FILE
    if not index_file.exists():
        return [], {}
    index = json.loads(index_file.read_text(encoding="utf-8"))
    tables = [PublishedTable(t["name"], t["caption"], pd.read_pickle(Path(output_dir) / t["file"]), t["formats"])
              for t in index["tables"]]
    return tables, index["values"]
