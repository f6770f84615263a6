"""The project's parameter files: where ``params/`` is, reading its YAML, explaining its errors.

One place for what program definitions, run parameter files and synthetic profiles share:
finding the ``params/`` directory, a YAML reader that refuses duplicate keys, and turning a
pydantic ``ValidationError`` into lines that name the file and the key of each problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dsrip_lib.credentials import mask
from dsrip_lib.errors import ParameterError


def params_dir() -> Path:
    """The first ``params/`` directory found walking up from this package (the checkout's)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "params").is_dir():
            return parent / "params"
    raise ParameterError(f"cannot find params/ above {Path(__file__).resolve().parent}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys (PyYAML silently keeps the last)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict:
    keys = [loader.construct_object(key_node) for key_node, _ in node.value]
    duplicates = sorted({str(k) for k in keys if keys.count(k) > 1})
    if duplicates:
        raise yaml.constructor.ConstructorError(None, None, f"duplicate key(s) {duplicates}", node.start_mark)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def read_mapping(path: str | Path, what: str) -> dict[str, Any]:
    """Parse ``path`` as a YAML mapping, refusing duplicate keys.

    Parameters
    ----------
    path
        The YAML file.
    what
        What the file is, for messages ("program definition", "run parameter file").

    Raises
    ------
    ParameterError
        If the file is missing, is not YAML, repeats a key or is not a mapping; the
        message names the file.
    """
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except FileNotFoundError:
        raise ParameterError(f"{what} not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ParameterError(f"{path}: a {what} must be a mapping, got {type(raw).__name__}")
    return raw


def describe_errors(source: str, what: str, error: ValidationError, prefix: tuple = ()) -> str:
    """A pydantic error as a message: ``source: invalid <what>`` and one line per problem with its key path.

    A string field given a number or a boolean gets a hint about YAML quoting; credentials
    in a quoted value are masked.
    """
    lines = [f"{source}: invalid {what} ({error.error_count()} problem{'s' * (error.error_count() != 1)})"]
    for problem in error.errors():
        key = ".".join(str(part) for part in (*prefix, *problem["loc"])) or "<top level>"
        line = f"  {key}: {problem['msg']}"
        if "input" in problem and problem["type"] != "missing" and not isinstance(problem["input"], (dict, list)):
            line += f", got {problem['input']!r}"
        if problem["type"] == "string_type" and isinstance(problem.get("input"), (int, float, bool)):
            line += " (quote it in YAML: 01060 reads as 1060 and yes as true)"
        lines.append(line)
    return mask("\n".join(lines))
