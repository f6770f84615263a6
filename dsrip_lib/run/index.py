"""``index.html`` of a run directory: every report with its files and headline numbers.

The headline numbers are the keys ``ReportSpec.headline`` names, read from the report's
``results.json`` (one source: the index never recomputes or retypes a number). The page is
self-contained (inline CSS, no script, no external URL) and deterministic: the same run gives
the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from dsrip_lib.run import registry
from dsrip_lib.run.export import TEMPLATE_DIR

INDEX_FILE = "index.html"
OUTPUTS = (("html", "HTML"), ("pdf", "PDF"), ("xlsx", "Excel"), ("results.json", "results.json"))
NOT_PUBLISHED = "not published in this run"
_PAGES = Environment(loader=FileSystemLoader(TEMPLATE_DIR / "pages"), autoescape=True, trim_blocks=True,
                     lstrip_blocks=True, keep_trailing_newline=True, undefined=StrictUndefined)


@dataclass(frozen=True)
class Headline:
    """One headline number of a report: its results.json key, description and value (None: not published)."""

    key: str
    description: str
    value: object

    @property
    def published(self) -> bool:
        return self.value is not None

    @property
    def shown(self) -> str:
        return format_value(self.value)


def read_results(path: Path) -> dict[str, dict]:
    """A report's ``results.json``: ``{key: {value, description}}``."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def headline(report: str, results: dict[str, dict]) -> list[Headline]:
    """The report's declared headline keys with their values in ``results`` (None where a key is absent).

    A key absent from this run's results (a period the data does not reach) is shown as
    not published, never as a blank or a zero.
    """
    spec = registry.REPORTS.get(report)
    keys = spec.headline if spec else ()
    return [Headline(key, results.get(key, {}).get("description", ""), results.get(key, {}).get("value"))
            for key in keys]


def format_value(value: object) -> str:
    """A results value for reading: counts with thousands separators, large amounts to the cent, else 4 digits."""
    if value is None:
        return NOT_PUBLISHED
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, (int, float)):
        return str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"


def render(template: str, **context) -> str:
    """Render one of the run directory's pages (``templates/pages/<template>``)."""
    return _PAGES.get_template(template).render(**context)


def write_index(directory: Path, run_id: str, reports: list[str], provenance: str) -> Path:
    """Write ``index.html`` into a (staged) run directory holding each report's outputs; return its path."""
    rows = [
        {"name": name,
         "files": [(f"{name}.{ext}", label) for ext, label in OUTPUTS if (directory / f"{name}.{ext}").is_file()],
         "headline": headline(name, read_results(directory / f"{name}.results.json"))}
        for name in reports
    ]
    path = directory / INDEX_FILE
    path.write_text(render("index.html.j2", title=f"dsrip run {run_id}", reports=rows, provenance=provenance),
                    encoding="utf-8")
    return path
