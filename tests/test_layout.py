"""The package's layout follows the data flow: a package imports only the packages it stands on.

``LAYERS`` is the order of docs/protocol_map.md and README's layout table: each entry may
import itself and any entry listed before it, never one after. A later change that makes a
stage reach forward (say, ``inputs`` importing ``reports``) fails here, so the folders keep
answering "where is the code for Exhibit N" and never grow into a web.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dsrip_lib"
LAYERS = (
    "errors",          # the exception hierarchy
    "credentials",     # secrets kept out of parameters, notebooks and messages
    "params",          # finding params/, reading YAML, explaining pydantic errors
    "progress",        # steps of long commands reported to a callback (the CLI shows them)
    "exact",           # exact pass/fail comparisons against thresholds
    "program",         # the protocol as data
    "stats",           # statistical tests
    "inputs",          # the data contract and the dataset
    "synth",           # the synthetic state (writes contract tables)
    "attribution",     # 4.4.4
    "spending",        # 5.2.1.2, 5.3.2
    "quality",         # 5.2.1.3, 5.3.1
    "accountability",  # 5.2-5.4
    "payments",        # 4, 5.1
    "evaluation",      # impact estimates and rating rules (the evaluator's layer, 6.4)
    "tracking",        # program targets against actuals (driver diagrams, goal tables)
    "description",     # the program definition as a written program description
    "publishing",      # publisher, suppression, charts
    "reports",         # one module per registered report
    "run",             # registry, parameters, runner, manifest, export
    "cli",             # the command line
)


def unit_of(path: Path) -> str:
    """The layer a module belongs to: its top-level package or module under dsrip_lib."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def dsrip_imports(path: Path) -> set[str]:
    """Layers a module imports (``from dsrip_lib.x import``, ``import dsrip_lib.x``, ``from dsrip_lib import x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "dsrip_lib":
                found |= {parts[1]} if len(parts) > 1 else {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("dsrip_lib.")}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("dsrip_lib."):
            found.add(node.value.split(".")[1].split(":")[0])  # "dsrip_lib.reports.x:Model" loaded by name
    return found


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != "__init__.py")


def test_every_module_belongs_to_a_layer():
    strays = sorted(str(p.relative_to(PACKAGE)) for p in modules() if unit_of(p) not in LAYERS)
    assert strays == [], f"add these to LAYERS (and the docs' layout) or move them into a stage package: {strays}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_imports_only_the_layers_it_stands_on(path):
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    own = unit_of(path)
    forward = sorted(layer for layer in dsrip_imports(path) if rank.get(layer, -1) > rank[own])
    assert forward == [], f"{own} may import only {LAYERS[: rank[own] + 1]}; it imports {forward}"


def test_the_check_sees_each_form_of_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from dsrip_lib.run import runner\nimport dsrip_lib.reports.attribution\n"
                      "from dsrip_lib import publishing\nSPEC = 'dsrip_lib.quality.x:Model'\n"
                      "from . import sibling\n", encoding="utf-8")
    assert dsrip_imports(module) == {"run", "reports", "publishing", "quality"}
