"""The toolkit's Part 2 questions as data: sections, questions and the fields that answer them.

``params/toolkit/icm_program_description.yaml`` holds, for each question of CMS, "Integrated
Care Models in Medicaid: Proposal Planning Toolkit", Part 2 (Program Description), its section
and topic, the question paraphrased, and the ways a program definition can answer it: each
way names the fields it needs (``fields``, dotted paths into the ``Program`` model), fields it
reads when stated (``optional``) and its renderer. Loading checks every path against the model
and every renderer against :data:`dsrip_lib.description.renderers.RENDERERS`, so a typo is an
error here and never a silently unanswered question.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, model_validator

from dsrip_lib.description.fields import path_problem
from dsrip_lib.description.renderers import RENDERERS
from dsrip_lib.errors import ParameterError
from dsrip_lib.params import describe_errors, params_dir, read_mapping
from dsrip_lib.program.values import FrozenModel

DEFAULT_TOOLKIT = "icm_program_description"
Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class Section(FrozenModel):
    key: Key
    title: str
    toolkit: str  # where in the toolkit: "Part 2, I"


class Answer(FrozenModel):
    """One way a program definition answers a question: all of ``fields`` stated, then ``renderer``."""

    fields: Annotated[list[str], Field(min_length=1)]
    optional: list[str] = []
    renderer: str

    @property
    def paths(self) -> list[str]:
        return [*self.fields, *self.optional]


class Question(FrozenModel):
    """A toolkit question; ``answers`` are tried in order, none given: no field of the model answers it."""

    id: Key
    section: Key
    topic: str
    question: str
    answers: list[Answer] = []


class Toolkit(FrozenModel):
    """The questions of one toolkit part, in the toolkit's order."""

    source: str
    sections: Annotated[list[Section], Field(min_length=1)]
    questions: Annotated[list[Question], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self):
        problems = []
        sections = [s.key for s in self.sections]
        ids = [q.id for q in self.questions]
        problems += [f"section key {k!r} appears twice" for k in sorted({k for k in sections if sections.count(k) > 1})]
        problems += [f"question id {i!r} appears twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
        for q in self.questions:
            if q.section not in sections:
                problems.append(f"questions.{q.id}.section: {q.section!r} is not a section {sections}")
            for n, answer in enumerate(q.answers):
                if answer.renderer not in RENDERERS:
                    problems.append(f"questions.{q.id}.answers.{n}.renderer: no renderer {answer.renderer!r}")
                problems += [f"questions.{q.id}.answers.{n}: {path!r}: {problem}"
                             for path in answer.paths if (problem := path_problem(path))]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)

    def in_section(self, key: str) -> list[Question]:
        return [q for q in self.questions if q.section == key]


def toolkit_path(name_or_path: str | Path = DEFAULT_TOOLKIT) -> Path:
    """``params/toolkit/<name>.yaml`` for a name; a path with a YAML suffix or a directory part as it is."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.parent != Path("."):
        return path
    return params_dir() / "toolkit" / f"{name_or_path}.yaml"


def load_toolkit(name_or_path: str | Path = DEFAULT_TOOLKIT) -> Toolkit:
    """Load and check the toolkit's questions.

    Raises
    ------
    ParameterError
        The file is missing or breaks a rule: a dotted path naming no field of the ``Program``
        model, an unknown renderer, a repeated id, a question in no section; the message names
        the file, the question and the path.
    """
    path = toolkit_path(name_or_path)
    raw = read_mapping(path, "toolkit questions")
    try:
        return Toolkit.model_validate(raw)
    except ValidationError as exc:
        raise ParameterError(describe_errors(str(path), "toolkit questions", exc)) from None
