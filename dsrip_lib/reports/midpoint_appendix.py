"""The midpoint assessment's methodology appendix, generated from the run and the program definition.

Four tables: every option of every options model the assessment ran with (its own and those of
the reports and stages it composes, defaults included); the rating rules in the order they apply
(:meth:`~dsrip_lib.evaluation.ratings.RatingRules.table`); the program-definition values its goals
are judged against; and every protocol discrepancy the project knows of.

The discrepancies are read from ``docs/protocol_discrepancies.md``, the project's one register of
them (each heading ``## D<n>. <where>: <what>``), found from the checkout's ``params/`` directory,
and joined with the program definition's own machine-readable records (the ``known_discrepancies``
of its published tables). The register stays in one place, with its treatments, rather than being
copied into a second file that could drift from it; a heading not in that form is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
from pydantic import BaseModel

from dsrip_lib.errors import ParameterError
from dsrip_lib.evaluation.ratings import RatingRules
from dsrip_lib.params import params_dir
from dsrip_lib.program import Program
from dsrip_lib.program.values import AmountTable
from dsrip_lib.reports.midpoint_run import MidpointRun

REGISTER = "docs/protocol_discrepancies.md"
_HEADING = re.compile(r"^## (D\d+)\. (.+)$")
# the program-definition values each goal is judged against, by key path
PROGRAM_KEYS = (
    "evaluation.midpoint_through",
    "state_accountability.adoption.targets",
    "state_accountability.spending_growth.trend_rate",
    "state_accountability.spending_growth.reduction_targets",
    "state_accountability.gap_to_goal_floor_share",
    "state_accountability.quality_utilization.alpha",
    "state_accountability.quality_utilization.avoidable_utilization_targets",
)


def _words(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, RatingRules):
        return "; ".join(f"{i}. {r.text()}" for i, r in enumerate(value.rules, start=1))
    if isinstance(value, BaseModel):
        return ", ".join(f"{k}: {_words(v)}" for k, v in value.model_dump(mode="json").items())
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_words(v)}" for k, v in value.items())
    return str(value)


def options_table(run: MidpointRun) -> pd.DataFrame:
    """Every field of every options model the run used: report (or stage), option, value, and whether it is
    the default. A field holding a composed stage's options points to that stage's rows, which list the
    values it ran with."""
    rows = []
    for report, model in {"midpoint_assessment": run.options, **run.composed}.items():
        for name, spec in type(model).model_fields.items():
            value = getattr(model, name)
            words = f"the {name} rows below" if report == "midpoint_assessment" and name in run.composed \
                else _words(value)
            rows.append({"report": report, "option": name, "value": words,
                         "source": "default" if value == spec.get_default(call_default_factory=True) else "run"})
    return pd.DataFrame(rows)


def program_table(program: Program) -> pd.DataFrame:
    """The program-definition values the goals are judged against (``PROGRAM_KEYS`` the program has)."""
    rows = []
    for key in PROGRAM_KEYS:
        node: Any = program
        for part in key.split("."):
            node = getattr(node, part, None)
        if node is not None:
            rows.append({"key": key, "value": _words(node)})
    return pd.DataFrame(rows, columns=["key", "value"])


def register(root=None) -> pd.DataFrame:
    """The discrepancy register: ``id, title`` from the headings of ``docs/protocol_discrepancies.md``.

    Raises
    ------
    ParameterError
        The register is missing, lists no discrepancy, or repeats an id.
    """
    path = (root or params_dir().parent) / REGISTER
    if not path.is_file():
        raise ParameterError(f"the discrepancy register {REGISTER} is missing from the checkout ({path})")
    rows = [m.groups() for line in path.read_text(encoding="utf-8").splitlines() if (m := _HEADING.match(line))]
    ids = [i for i, _ in rows]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if not rows or repeated:
        raise ParameterError(f"{REGISTER}: " + (f"id(s) {repeated} appear twice" if repeated else
                                               "no heading '## D<n>. <title>'"))
    return pd.DataFrame(rows, columns=["id", "title"])


def program_records(program: Program) -> dict[str, list[str]]:
    """Discrepancy id -> the program-definition totals recorded under it (``known_discrepancies``)."""
    found: dict[str, list[str]] = {}
    for path, table in _amount_tables(program, ""):
        for total, ident in table.known_discrepancies.items():
            found.setdefault(ident, []).append(f"{path} {total}")
    return found


def _amount_tables(node: BaseModel, prefix: str) -> Iterator[tuple[str, AmountTable]]:
    for name in type(node).model_fields:
        value = getattr(node, name)
        path = f"{prefix}{name}"
        if isinstance(value, AmountTable):
            yield path, value
        elif isinstance(value, BaseModel):
            yield from _amount_tables(value, f"{path}.")


def discrepancies_table(program: Program) -> pd.DataFrame:
    """Every known discrepancy: id, where and what (the register's heading), and the program
    definition's records of it.

    Raises
    ------
    ParameterError
        The program definition records an id the register does not list.
    """
    table = register()
    records = program_records(program)
    unknown = sorted(set(records) - set(table["id"]))
    if unknown:
        raise ParameterError(f"the program definition records discrepancies {unknown} that {REGISTER} does not list")
    table["recorded_in"] = table["id"].map(lambda i: "; ".join(records.get(i, [])) or "-")
    return table
