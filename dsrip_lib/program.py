"""The program definition: every protocol exhibit as data, loaded into one validated object.

``load_program("masshealth_dsrip")`` reads ``params/program/masshealth_dsrip.yaml`` and
returns a frozen :class:`Program`. Program-specific blocks are optional so that another
program (e.g. Connecticut PCMH+) can reuse the model with a calendar and its own blocks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo

from dsrip_lib.calendar import Calendar
from dsrip_lib.errors import ParameterError

PROGRAM_DIR_ENV = "DSRIP_PROGRAM_DIR"

Fraction = Annotated[float, Field(ge=0, le=1)]


def _covers_budget_periods(table: dict[int, Any], info: ValidationInfo) -> dict[int, Any]:
    """A budget-period table must have exactly the calendar's period numbers as keys."""
    expected = (info.context or {}).get("budget_periods")
    if expected is not None and set(table) != expected:
        raise ValueError(f"budget periods {sorted(table)} do not match the calendar's {sorted(expected)}")
    return table


# A value per budget period (0 = Prep); None where the protocol says "NA".
ByPeriod = Annotated[dict[int, Fraction | None], AfterValidator(_covers_budget_periods)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Adoption(_Frozen):
    """State accountability domain 1: ACO/APM adoption.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.1 and Exhibit 26.
    """

    targets: ByPeriod
    apm_non_primary_care_share_threshold: Fraction


class StateAccountability(_Frozen):
    """State accountability to CMS (Sec 5.2)."""

    adoption: Adoption


class Program(_Frozen):
    """A value-based-payment program: its calendar and its exhibit tables.

    Only ``name``, ``title`` and ``calendar`` are required; the other blocks are
    specific to a program shape and optional.
    """

    name: str
    title: str
    source: str
    calendar: Calendar
    state_accountability: StateAccountability | None = None

    def _require(self, block: str):
        value = getattr(self, block)
        if value is None:
            raise ParameterError(f"program {self.name!r} has no {block!r} block")
        return value

    def adoption_target(self, bp: int) -> float:
        """Target ACO/APM adoption rate (a fraction) for budget period ``bp``.

        Raises
        ------
        ParameterError
            If the period does not exist or has no target (Prep: "NA").

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.2.1.1 and Exhibit 26.
        """
        targets = self._require("state_accountability").adoption.targets
        if targets.get(bp) is None:
            raise ParameterError(
                f"program {self.name!r}: no ACO/APM adoption target for budget period {bp} "
                f"(Exhibit 26 has targets for {sorted(k for k, v in targets.items() if v is not None)})"
            )
        return targets[bp]

    @property
    def adoption_apm_share_threshold(self) -> float:
        """Share of non-primary-care services from APM providers a member must exceed to count.

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.2.1.1 ("more than 20%").
        """
        return self._require("state_accountability").adoption.apm_non_primary_care_share_threshold


def _program_dir() -> Path:
    """``$DSRIP_PROGRAM_DIR``, else the first ``params/program`` found walking up from this package."""
    override = os.environ.get(PROGRAM_DIR_ENV)
    if override:
        return Path(override)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "params" / "program"
        if candidate.is_dir():
            return candidate
    raise ParameterError(
        f"cannot find params/program above {Path(__file__).resolve().parent}; set {PROGRAM_DIR_ENV}"
    )


def program_path(name_or_path: str | Path) -> Path:
    """Path of a program definition given its name (``masshealth_dsrip``) or a file path."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.parent != Path("."):
        return path
    return _program_dir() / f"{name_or_path}.yaml"


def _format_errors(path: Path, error: ValidationError, prefix: tuple[str, ...] = ()) -> str:
    lines = [f"{path}: invalid program definition ({error.error_count()} problem(s))"]
    for item in error.errors():
        key = ".".join(str(part) for part in (*prefix, *item["loc"])) or "<top level>"
        lines.append(f"  {key}: {item['msg']}")
    return "\n".join(lines)


def load_program(name_or_path: str | Path = "masshealth_dsrip") -> Program:
    """Load and validate a program definition.

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
    path = program_path(name_or_path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParameterError(f"program definition not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ParameterError(f"{path}: a program definition must be a mapping, got {type(raw).__name__}")
    try:
        calendar = Calendar.model_validate(raw.get("calendar"))
    except ValidationError as exc:
        raise ParameterError(_format_errors(path, exc, prefix=("calendar",))) from None
    try:
        return Program.model_validate(raw, context={"budget_periods": set(calendar.period_numbers)})
    except ValidationError as exc:
        raise ParameterError(_format_errors(path, exc)) from None
