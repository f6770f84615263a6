"""Finding and loading program definitions (``params/program/<name>.yaml``)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from dsrip_lib.errors import ParameterError
from dsrip_lib.params import describe_errors, params_dir, read_mapping
from dsrip_lib.program.calendar import Calendar
from dsrip_lib.program.definition import Program

PROGRAM_DIR_ENV = "DSRIP_PROGRAM_DIR"
DEFAULT_PROGRAM = "masshealth_dsrip"


def program_path(name_or_path: str | Path) -> Path:
    """Path of a program definition given its name (``masshealth_dsrip``) or a file path.

    A name is looked up in ``$DSRIP_PROGRAM_DIR`` if set, else in ``params/program/``.
    """
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.parent != Path("."):
        return path
    directory = os.environ.get(PROGRAM_DIR_ENV) or params_dir() / "program"
    return Path(directory) / f"{name_or_path}.yaml"


def load_program(name_or_path: str | Path | Program = DEFAULT_PROGRAM) -> Program:
    """Load and validate a program definition (a loaded Program is returned as it is).

    Parameters
    ----------
    name_or_path
        A program name, looked up as ``params/program/<name>.yaml`` (the directory can be
        overridden with ``$DSRIP_PROGRAM_DIR``), or a path to a YAML file.

    Raises
    ------
    ParameterError
        If the file is missing, is not YAML, or breaks a rule; the message names the
        file and the key path of every problem.
    """
    if isinstance(name_or_path, Program):
        return name_or_path
    path = program_path(name_or_path)
    raw = read_mapping(path, "program definition")
    try:
        calendar = Calendar.model_validate(raw.get("calendar"))
    except ValidationError as exc:
        raise ParameterError(describe_errors(str(path), "program definition", exc, prefix=("calendar",))) from None
    try:
        return Program.model_validate(raw, context={"budget_periods": set(calendar.period_numbers)})
    except ValidationError as exc:
        raise ParameterError(describe_errors(str(path), "program definition", exc)) from None
