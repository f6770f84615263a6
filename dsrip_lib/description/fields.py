"""Dotted paths into the ``Program`` model: checked against the model's classes, read from a program.

A path that names no field of the model (``settlement.sharing_rates``) is an error in the
toolkit's questions; a path that exists but is empty in one program (no ``settlement`` block,
``cap_share_of_benchmark: null``, an empty list) leaves its question unanswered there.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, RootModel

from dsrip_lib.program import Program


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a field holds (through ``X | None`` and ``Annotated``), else None."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _model_of(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [m for arg in typing.get_args(annotation) if (m := _model_of(arg)) is not None]
        return models[0] if len(models) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and not issubclass(annotation, RootModel):
        return annotation
    return None


def path_problem(path: str, model: type[BaseModel] = Program) -> str | None:
    """Why ``path`` names no field of ``model`` (None when it does)."""
    current: type[BaseModel] | None = model
    walked = []
    for part in path.split("."):
        if current is None:
            return f"{'.'.join(walked)} holds no fields, so it has no {part!r}"
        if part not in current.model_fields:
            where = ".".join(walked) or model.__name__
            return f"{where} has no field {part!r} (fields: {', '.join(current.model_fields)})"
        current = _model_of(current.model_fields[part].annotation)
        walked.append(part)
    return None


def value_at(program: Program, path: str) -> Any:
    """The value at ``path`` in ``program``; None when a block on the way is absent."""
    value: Any = program
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def is_stated(value: Any) -> bool:
    """Whether a program states a value: not None and not an empty list, mapping or list model."""
    if value is None:
        return False
    if isinstance(value, RootModel):
        value = value.root
    return not (isinstance(value, (list, dict, tuple, set)) and len(value) == 0)
