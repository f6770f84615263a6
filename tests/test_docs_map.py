"""The docs point at things that exist: docs/protocol_map.md and every path the docs cite.

docs/protocol_map.md maps each protocol section and exhibit to its program-definition key,
its code, its test and the report table that shows it. The map, README.md and every page
under docs/ write repository paths in backticks (``dsrip_lib/program/at_risk.py``), a
function, class or test as ``path::name``, a YAML key as ``params/....yaml:key.sub`` and a
module as ``dsrip_lib.package.module``. These tests resolve every one of them, so a renamed
file, test or key fails here instead of leaving the docs pointing at nothing. They also
check that the map covers every exhibit the program definition mentions and every module
that implements a protocol rule, and that no doc or params file points outside the
repository (a user's clone has no ``../shared/`` and no ``/work/``).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml

from dsrip_lib.run.registry import REPORTS

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "docs" / "protocol_map.md"
PROGRAM_YAML = ROOT / "params" / "program" / "masshealth_dsrip.yaml"
PATH_PREFIXES = ("dsrip_lib/", "tests/", "notebooks/", "params/", "benchmarks/", "docs/", "data/examples/")
# Packages whose modules implement protocol rules: each module must appear in the map.
RULE_PACKAGES = ("program", "attribution", "accountability", "stats", "spending", "quality", "payments")
# Exhibits stored in (or derived from) the MassHealth program definition; the map covers each.
REQUIRED_EXHIBITS = {str(n) for n in (1, *range(4, 16), *range(19, 23), *range(24, 30), *range(31, 38), *range(41, 47))}
# Rules and tables that are not exhibits; the map's protocol column names each.
REQUIRED_TOPICS = ("Table F", "Appendix C", "Sec 3.1.1", "Sec 3.1.2", "Sec 4.4.4", "Sec 5.2.1.1", "Sec 5.2.1.3",
                   "member-months", "CHC", "flows", "plurality", "data contract")
FORBIDDEN = re.compile(r"\.\./shared|(?<![\w.~-])/work/|\bshared/(?:reference|DESIGN)")

_FENCE = re.compile(r"^ {0,3}```.*?^ {0,3}```", re.MULTILINE | re.DOTALL)
_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
_MODULE = re.compile(r"^dsrip_lib(?:\.[A-Za-z_]\w*)+(?::[A-Za-z_]\w*)?$")
_YAML_KEY = re.compile(r"^(?P<path>.+\.ya?ml):(?P<key>[\w.-]+)$")
_EXHIBITS = re.compile(r"\bExhibits?\s+(A?\d+(?:(?:\s*,\s*|\s*-\s*|\s+and\s+)A?\d+)*)")


@dataclass(frozen=True)
class Ref:
    """One reference written in a doc: a repo path, optionally a name in it or a YAML key path."""

    text: str
    path: str
    name: str | None = None
    key: str | None = None
    module: bool = False  # written as dsrip_lib.package.module[.name]


def _ref(token: str) -> Ref | None:
    token = token.strip("'\".,;:").rstrip(".")
    if not token or any(c in token for c in "<>*{}[]$|") or "..." in token:
        return None  # a pattern (`params/program/<name>.yaml`, `bench_*.py`), not a path
    if _MODULE.match(token):
        return Ref(token, token, module=True)
    if not token.startswith(PATH_PREFIXES):
        return None
    if "::" in token:
        path, name = token.split("::", 1)
        return Ref(token, path, name=name)
    if match := _YAML_KEY.match(token):
        return Ref(token, match["path"], key=match["key"])
    return Ref(token, token)


def references(markdown: str) -> list[Ref]:
    """Every repository path, name, YAML key and module written in backticks (outside code blocks)."""
    found = []
    for span in _SPAN.findall(_FENCE.sub("", markdown)):
        for token in re.split(r"[\s=(),]+", span):
            if (ref := _ref(token)) is not None:
                found.append(ref)
    return found


def links(markdown: str) -> list[str]:
    """Targets of Markdown links that point into the repository (no URL, no bare anchor)."""
    return [t.split("#")[0] for t in _LINK.findall(_FENCE.sub("", markdown))
            if not re.match(r"^[a-z]+:", t) and not t.startswith("#")]


@cache
def _yaml(path: Path) -> object:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


@cache
def defined_names(path: Path) -> tuple[frozenset[str], frozenset[str]]:
    """Names a Python file defines at any level (def, class, assignment; ``Class.member`` too),
    and the names of its functions. A package's ``__init__.py`` also defines what it imports."""
    names, functions = set(), set()

    def visit(body, prefix: str) -> None:
        for node in body:
            for child in ast.walk(node) if not isinstance(node, ast.ClassDef) else [node]:
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    names.update({child.name, prefix + child.name})
                    if not isinstance(child, ast.ClassDef):
                        functions.add(child.name)
                elif isinstance(child, (ast.Assign, ast.AnnAssign)):
                    targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                    for target in targets:
                        for leaf in ast.walk(target):
                            if isinstance(leaf, ast.Name):
                                names.update({leaf.id, prefix + leaf.id})
                elif isinstance(child, (ast.Import, ast.ImportFrom)) and path.name == "__init__.py":
                    names.update((a.asname or a.name).split(".")[0] for a in child.names)
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")

    visit(_tree(path).body, "")
    return frozenset(names), frozenset(functions)


def _module_file(dotted: str) -> tuple[Path | None, list[str]]:
    """The file of the longest importable prefix of a dotted name, and the names left over."""
    parts = dotted.replace(":", ".").split(".")
    for end in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:end])
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate, parts[end:]
    return None, parts


def _yaml_has(data: object, key: str) -> bool:
    for part in key.split("."):
        if isinstance(data, dict):
            matches = [k for k in data if str(k) == part]
            if not matches:
                return False
            data = data[matches[0]]
        elif isinstance(data, list):
            items = [i for i in data if isinstance(i, dict) and str(i.get("key")) == part]
            if not items:
                return False
            data = items[0]
        else:
            return False
    return True


def problem(ref: Ref) -> str | None:
    """Why a reference does not resolve (None when it does)."""
    if ref.module:
        file, rest = _module_file(ref.path)
        if file is None:
            return f"`{ref.text}`: no such module"
        if rest and ".".join(rest) not in defined_names(file)[0]:
            return f"`{ref.text}`: no module or name {'.'.join(rest)} in {file.relative_to(ROOT)}"
        return None
    target = ROOT / ref.path
    if not target.exists():
        return f"`{ref.text}`: no such file or directory"
    if ref.name is not None:
        if target.suffix != ".py" or not target.is_file():
            return f"`{ref.text}`: a name can only be looked up in a .py file"
        names, functions = defined_names(target)
        if ref.path.startswith("tests/") and ref.name.split(".")[-1].startswith("test"):
            if ref.name.split(".")[-1] not in functions:
                return f"`{ref.text}`: no test function {ref.name} in {ref.path}"
        elif ref.name not in names:
            return f"`{ref.text}`: {ref.path} defines no {ref.name}"
    if ref.key is not None:
        if not _yaml_has(_yaml(target), ref.key):
            return f"`{ref.text}`: {ref.path} has no key {ref.key}"
    return None


def problems_in(markdown: str, base: Path) -> list[str]:
    """Every reference and link of a Markdown text that does not resolve (links relative to ``base``)."""
    found = [p for ref in references(markdown) if (p := problem(ref))]
    found += [f"link ({target}): no such file" for target in links(markdown) if not (base / target).exists()]
    return found


def doc_files() -> list[Path]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")),
             ROOT / "data" / "README.md", ROOT / "reports" / "README.md"]
    return [page for page in pages if page.is_file()]


def params_files() -> list[Path]:
    return sorted((ROOT / "params").rglob("*.y*ml"))


# -- the map -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    protocol: str
    program: str
    code: str
    tests: str
    report: str


def map_rows(markdown: str) -> list[Row]:
    """Rows of the map's table: protocol | program definition | code | test | report table."""
    rows = []
    for line in _FENCE.sub("", markdown).splitlines():
        if not line.startswith("|") or re.match(r"^\|[\s:|-]+\|$", line):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) != 5:
            raise AssertionError(f"a map row needs 5 cells, got {len(cells)}: {line}")
        rows.append(Row(*cells))
    assert rows and rows[0].protocol.lower().startswith("protocol"), "the map's table has a header row"
    return rows[1:]


def exhibits_in(text: str) -> set[str]:
    """Exhibit numbers cited in a text: 'Exhibit 26', 'Exhibits 12-14', 'Exhibits 43, 44 and 45', 'Exhibit A2'."""
    found = set()
    for group in _EXHIBITS.findall(text):
        for item in re.split(r"\s*,\s*|\s+and\s+", group):
            low, _, high = item.partition("-")
            low, high = low.strip(), high.strip()
            if high and low.lstrip("A").isdigit() and high.lstrip("A").isdigit():
                prefix = "A" if low.startswith("A") else ""
                found |= {f"{prefix}{n}" for n in range(int(low.lstrip("A")), int(high.lstrip("A")) + 1)}
            else:
                found.add(low)
    return found


def report_tables(cell: str) -> list[tuple[str, str]]:
    """(report, published table) pairs of a report cell: `attribution` "member-months", "flows"."""
    pairs = []
    for report, names in re.findall(r"`(\w+)`:?((?:\s*\"[^\"]+\",?)+)", cell):
        pairs += [(report, name) for name in re.findall(r"\"([^\"]+)\"", names)]
    return pairs


def _publisher_tables(tree: ast.AST) -> set[str]:
    """Names published with ``pub.table("name", ...)`` (or ``<...>.publisher.table``); a dataset's
    ``data.table("claims")`` reads a table and is not counted."""
    names = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "table"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            continue
        receiver = node.func.value
        if (isinstance(receiver, ast.Name) and receiver.id in {"pub", "publisher"}) or (
                isinstance(receiver, ast.Attribute) and receiver.attr == "publisher"):
            names.add(node.args[0].value)
    return names


def published_tables(report: str) -> set[str]:
    """Tables a registered report publishes: in its notebook's code cells and in its module
    (``dsrip_lib/reports/<report>.py``, where a notebook may delegate a section)."""
    notebook = ROOT / REPORTS[report].notebook
    names = set()
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "code":
            names |= _publisher_tables(ast.parse("".join(cell["source"])))
    module = ROOT / "dsrip_lib" / "reports" / f"{report}.py"
    if module.is_file():
        names |= _publisher_tables(_tree(module))
    return names


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return map_rows(MAP.read_text(encoding="utf-8"))


def test_every_reference_in_the_map_resolves():
    assert problems_in(MAP.read_text(encoding="utf-8"), MAP.parent) == []


def test_every_map_row_names_its_code_and_the_test_that_checks_it(rows):
    bad = []
    for row in rows:
        code, tests = references(row.code), references(row.tests)
        if row.code != "-" and (not code or any(not r.path.startswith("dsrip_lib/") or r.name is None for r in code)):
            bad.append(f"{row.protocol}: code cell must be `dsrip_lib/...py::name` entries or '-'")
        if row.tests != "-" and (not tests or any(not r.path.startswith("tests/") or r.name is None for r in tests)):
            bad.append(f"{row.protocol}: test cell must be `tests/...py::test_name` entries or '-'")
        if code and not tests:
            bad.append(f"{row.protocol}: names code but no test")
        if any(r.key is None for r in references(row.program)):
            bad.append(f"{row.protocol}: program cell must hold `params/...yaml:key.path` entries")
        if row.report != "-" and not report_tables(row.report):
            bad.append(f"{row.protocol}: report cell must be `report`: \"table\", ... or '-'")
    assert bad == []


def test_every_report_table_in_the_map_is_published_by_its_notebook(rows):
    missing = []
    for row in rows:
        for report, table in report_tables(row.report):
            if report not in REPORTS:
                missing.append(f"{report}: not a registered report")
            elif table not in published_tables(report):
                missing.append(f"{report}: its notebook publishes no table {table!r}")
    assert missing == []


def test_the_map_covers_every_exhibit_of_the_program_definition_and_every_rule(rows):
    covered = set().union(*(exhibits_in(row.protocol) for row in rows))
    comments = "\n".join(line.split("#", 1)[1] for line in PROGRAM_YAML.read_text(encoding="utf-8").splitlines()
                         if "#" in line)
    assert sorted(REQUIRED_EXHIBITS - covered, key=str) == []
    assert sorted(exhibits_in(comments) - covered, key=str) == [], "exhibits the YAML cites but the map lacks"
    protocol = " ".join(row.protocol for row in rows)
    assert [topic for topic in REQUIRED_TOPICS if topic not in protocol] == []


def test_every_module_implementing_a_rule_is_in_the_map(rows):
    mapped = {r.path for row in rows for r in references(row.code)}
    modules = sorted(str(p.relative_to(ROOT)) for package in RULE_PACKAGES
                     for p in (ROOT / "dsrip_lib" / package).glob("*.py") if not p.name.startswith("_"))
    assert [m for m in modules if m not in mapped] == []


@pytest.mark.parametrize("page", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_a_doc_cites_exists(page):
    assert problems_in(page.read_text(encoding="utf-8"), page.parent) == []


@pytest.mark.parametrize("page", doc_files() + params_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_doc_or_params_file_points_outside_the_repository(page):
    hits = [f"line {n}: {line.strip()}" for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
            if FORBIDDEN.search(line)]
    assert hits == []


def test_the_checks_catch_a_misspelt_path_name_key_module_or_link():
    good = ("`dsrip_lib/program/calendar.py::Calendar.split_sfy_amounts` "
            "`tests/program/test_calendar.py::test_sfy_boundaries` "
            "`params/program/masshealth_dsrip.yaml:state_accountability.adoption.targets` "
            "`dsrip_lib.program.loader` `dsrip run x --params params/runs/default.yaml` "
            "`params/program/<name>.yaml` [map](protocol_map.md)")
    assert len(references(good)) == 5
    assert problems_in(good, ROOT / "docs") == []
    bad = ("`dsrip_lib/program/calender.py` `dsrip_lib/program/calendar.py::Calender` "
           "`tests/program/test_calendar.py::test_sfy_boundary` "
           "`params/program/masshealth_dsrip.yaml:state_accountability.adoption.target` "
           "`dsrip_lib.contract` `dsrip_lib.program.loader.load_programme` [map](protocol_mpa.md)\n"
           "```\n`tests/in_a_code_block_is_not_checked.py`\n```\n")
    assert len(problems_in(bad, ROOT / "docs")) == 7
    table = ("| protocol | program | code | test | report |\n|---|---|---|---|---|\n"
             "| Sec 5.2.1.1, Exhibit 26 = Exhibit A2; Exhibits 12-14, 43 and 45 | - | - | - | `attribution`: \"adoption\", \"flows\" |\n")
    (row,) = map_rows(table)
    assert exhibits_in(row.protocol) == {"26", "A2", "12", "13", "14", "43", "45"}
    assert report_tables(row.report) == [("attribution", "adoption"), ("attribution", "flows")]
    assert "claims" not in published_tables("attribution")  # the notebook reads it, never publishes it
    assert FORBIDDEN.search("see ../shared/DESIGN.md") and FORBIDDEN.search("/work/main/README.md")
    assert not FORBIDDEN.search("`/usr/bin/time -v` in a shared working tree")
