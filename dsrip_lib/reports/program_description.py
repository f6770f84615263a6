"""The program description report (notebooks/program_description.ipynb): reads no data.

Each program definition of the run is written as the Program Description of CMS,
"Integrated Care Models in Medicaid: Proposal Planning Toolkit", Part 2 (program design,
quality strategy, payment methodology, the shared-savings questions included), answered
from the definition alone (:mod:`dsrip_lib.description`); the questions a definition leaves
unanswered are listed per program and counted per section, which makes the report a
completeness check of a program definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from dsrip_lib.description import Toolkit, completeness, describe, load_toolkit
from dsrip_lib.errors import ParameterError
from dsrip_lib.program import Program, load_program
from dsrip_lib.publishing.publisher import Publisher
from dsrip_lib.reports.context import validate_options


class DescriptionOptions(BaseModel):
    """Options of the program_description report (validated on entry; unknown keys rejected).

    Attributes
    ----------
    programs
        Program definitions to describe, names (``params/program/<name>.yaml``) or YAML paths;
        default: the run's program.
    """

    model_config = ConfigDict(extra="forbid")

    programs: list[str] | None = Field(None, min_length=1)


HEADERS = {
    "topic": "Topic", "question": "Question", "section": "Section", "reason": "Why unanswered",
    "questions": "Questions", "answered": "Answered", "unanswered": "Unanswered", "answered_share": "Share answered",
    "program": "Program",
}


@dataclass(frozen=True)
class DescriptionContext:
    """What the report opens: the programs to describe, the toolkit's questions, options and publisher."""

    programs: list[Program]
    toolkit: Toolkit
    options: DescriptionOptions
    publisher: Publisher


@dataclass(frozen=True)
class DescriptionRun:
    """Every program's answers (``dsrip_lib.description.answers.COLUMNS``), in the options' order."""

    toolkit: Toolkit
    programs: list[Program]
    answers: dict[str, pd.DataFrame]


def open_description_report(*, program: str, data_dir: Any = None, backend: str = "duckdb",
                            options: dict[str, Any] | None = None, output_dir: Any = None,
                            data_validated: bool = False, stage_cache: Any = None,
                            **unexpected: Any) -> DescriptionContext:
    """The report's context from its parameters cell. ``data_dir``, ``backend``, ``data_validated`` and
    ``stage_cache`` are accepted as every report's parameters and not read: the report reads no data.

    Raises
    ------
    ParameterError
        A refused option, an unknown parameter, a program that does not load, or two programs of one name or title.
    """
    opts = validate_options(DescriptionOptions, options, unexpected)
    programs = [load_program(p) for p in (opts.programs or [program])]
    for attribute in ("name", "title"):
        seen = [getattr(p, attribute) for p in programs]
        if len(set(seen)) != len(seen):
            raise ParameterError(f"options.program_description.programs: two programs share a {attribute} ({seen})")
    headers = HEADERS | {p.name: p.title for p in programs}
    return DescriptionContext(programs, load_toolkit(), opts, Publisher(output_dir, headers=headers))


def describe_all(ctx: DescriptionContext) -> DescriptionRun:
    """Every toolkit question answered for every program of the context."""
    return DescriptionRun(ctx.toolkit, ctx.programs, {p.name: describe(p, ctx.toolkit) for p in ctx.programs})


def section_table(run: DescriptionRun, section: str) -> pd.DataFrame:
    """One row per question of ``section``: "topic: question", and each program's answer (or UNANSWERED).

    Topic and question share a column so the answers get the page's width.
    """
    first = run.answers[run.programs[0].name]
    asked = first.loc[first["section"] == section]
    out = pd.DataFrame({"question": (asked["topic"] + ": " + asked["question"]).to_list()})
    for program in run.programs:
        answers = run.answers[program.name]
        out[program.name] = answers.loc[answers["section"] == section, "answer"].to_list()
    return out


def unanswered_table(run: DescriptionRun, program: str) -> pd.DataFrame:
    """The questions ``program``'s definition leaves unanswered, with the section's title and why."""
    answers = run.answers[program]
    out = answers.loc[~answers["answered"], ["section", "topic", "question", "reason"]].reset_index(drop=True)
    out["section"] = [run.toolkit.section(key).title for key in out["section"]]
    return out


def completeness_table(run: DescriptionRun) -> pd.DataFrame:
    """Questions, answered and unanswered per program and section (a total row per program)."""
    frames = []
    for program in run.programs:
        counts = completeness(run.answers[program.name], run.toolkit)
        counts["section"] = [run.toolkit.section(k).title if k != "total" else "All sections"
                             for k in counts["section"]]
        frames.append(counts.assign(program=program.title))
    out = pd.concat(frames, ignore_index=True)
    out["answered_share"] = out["answered"] / out["questions"]
    return out[["program", "section", "questions", "answered", "unanswered", "answered_share"]]


def completeness_values(run: DescriptionRun) -> dict[str, tuple[int, str]]:
    """Headline counts per program: ``<program>.unanswered_count`` and the like, per section too."""
    values = {}
    for program in run.programs:
        for row in completeness(run.answers[program.name], run.toolkit).itertuples():
            where = "" if row.section == "total" else f"{row.section}."
            about = "all sections" if row.section == "total" else run.toolkit.section(row.section).title.lower()
            for kind in ("answered", "unanswered"):
                values[f"{program.name}.{where}{kind}_count"] = (
                    getattr(row, kind), f"{program.title}: toolkit questions {kind}, {about}")
    return values


def sheet_name(prefix: str, program: Program) -> str:
    """A workbook sheet name for a per-program table (at most 31 characters)."""
    return f"{prefix} {program.name}"[:31]


def intro_text(run: DescriptionRun) -> str:
    """Opening prose: the source of the questions and each program's completeness, from the counts."""
    lines = [f"Questions: {run.toolkit.source}.", ""]
    for program in run.programs:
        total = completeness(run.answers[program.name], run.toolkit).iloc[-1]
        lines.append(f"- **{program.title}** (`{program.name}`): {total['answered']} of {total['questions']} "
                     f"questions answered, {total['unanswered']} unanswered. Source: {program.source}.")
    return "\n".join(lines)
