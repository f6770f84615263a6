"""Answer every toolkit question for one program, and count what its definition leaves unanswered.

A question is answered by the first of its ``answers`` whose ``fields`` the program all states
(not None, not empty); that answer's renderer writes the text from those values. A question
none of whose answers applies is UNANSWERED, with the reason: no field of the program model
answers it, or the fields that would are empty in this program. The report is thus a
completeness check of a program definition against CMS, "Integrated Care Models in Medicaid:
Proposal Planning Toolkit", Part 2.
"""

from __future__ import annotations

import pandas as pd

from dsrip_lib.description.fields import is_stated, value_at
from dsrip_lib.description.questions import Question, Toolkit
from dsrip_lib.description.renderers import RENDERERS
from dsrip_lib.program import Program

UNANSWERED = "UNANSWERED"
COLUMNS = ["section", "topic", "id", "question", "answered", "answer", "fields", "reason"]


def answer(program: Program, question: Question) -> dict:
    """One question's row: the first applicable answer rendered, else UNANSWERED and why.

    References
    ----------
    CMS ICM Proposal Planning Toolkit, Part 2 (the question's section and topic).
    """
    row = {"section": question.section, "topic": question.topic, "id": question.id, "question": question.question}
    if not question.answers:
        return {**row, "answered": False, "answer": UNANSWERED, "fields": "",
                "reason": "no field of the program definition model answers it"}
    missing = []
    for way in question.answers:
        values = {path: value_at(program, path) for path in way.paths}
        empty = [path for path in way.fields if not is_stated(values[path])]
        if not empty:
            text = RENDERERS[way.renderer](program, values)
            used = [p for p in way.paths if values[p] is not None]
            return {**row, "answered": True, "answer": text, "fields": ", ".join(used), "reason": ""}
        missing += [path for path in empty if path not in missing]
    return {**row, "answered": False, "answer": UNANSWERED, "fields": "",
            "reason": f"not stated in this program: {', '.join(missing)}"}


def describe(program: Program, toolkit: Toolkit) -> pd.DataFrame:
    """Every question of the toolkit answered for ``program``, in the toolkit's order (``COLUMNS``)."""
    return pd.DataFrame([answer(program, q) for q in toolkit.questions], columns=COLUMNS)


def completeness(described: pd.DataFrame, toolkit: Toolkit) -> pd.DataFrame:
    """Questions, answered and unanswered per section (toolkit order), with a total row ``section == "total"``."""
    rows = []
    for section in toolkit.sections:
        answered = described.loc[described["section"] == section.key, "answered"]
        rows.append({"section": section.key, "questions": len(answered), "answered": int(answered.sum()),
                     "unanswered": int((~answered).sum())})
    out = pd.DataFrame(rows)
    total = {"section": "total", **{c: int(out[c].sum()) for c in ("questions", "answered", "unanswered")}}
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)
