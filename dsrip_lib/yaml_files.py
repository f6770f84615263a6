"""Reading the project's YAML files: program definitions, run parameters, synthetic profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dsrip_lib.errors import ParameterError


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
