"""Run parameters: a YAML file plus ``-p key=value`` overrides, validated before any kernel starts.

See docs/running_reports.md for the file format. Validation is pydantic with
``extra="forbid"`` everywhere, so a misspelt key is an error, not a silent default.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dsrip_lib.credentials import PASSWORD_ENV, inline_secrets
from dsrip_lib.errors import ParameterError
from dsrip_lib.params import describe_errors, params_dir, read_mapping
from dsrip_lib.program import DEFAULT_PROGRAM, program_path
from dsrip_lib.run import registry

SafeName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")]


class RunParams(BaseModel):
    """One run: which program, which data, which reports, and each report's options.

    Relative paths are resolved against the repository root by :func:`load_run_params`.
    """

    model_config = ConfigDict(extra="forbid")

    run_id: SafeName
    program: str = DEFAULT_PROGRAM
    data_dir: Path
    # as dsrip_lib.inputs.backends.connect accepts: in-process DuckDB, local Spark or an Ibis connection URL
    backend: str = Field("duckdb", pattern=r"^(duckdb|pyspark|[a-z][a-z0-9+.-]*://\S*)$")
    reports: list[SafeName] | None = None
    options: dict[str, dict[str, Any]] = {}
    reports_dir: Path = Path("reports")
    execution_timeout: int = Field(600, gt=0, description="seconds one cell may run")
    max_workers: int = Field(2, ge=1, description="reports executed at once (each in its own process)")
    revalidate: bool = Field(False, description="check the data directory even when an earlier run under "
                             "reports_dir passed the same bytes (dsrip_lib.run.validation_cache)")

    @field_validator("backend")
    @classmethod
    def _no_inline_secret(cls, value: str) -> str:
        found = inline_secrets(value)
        if found:
            raise ValueError(
                f"the backend URL carries a secret ({', '.join(found)}), which would be written into the executed "
                f"notebook; remove it and set ${PASSWORD_ENV} (or use the engine's own credential file): see "
                "docs/running_reports.md, Credentials")
        return value

    @field_validator("reports", mode="before")
    @classmethod
    def _split_comma_list(cls, value: Any) -> Any:
        # `-p reports=a,b` arrives as one string
        return [item.strip() for item in value.split(",") if item.strip()] if isinstance(value, str) else value

    @field_validator("options", mode="before")
    @classmethod
    def _empty_options(cls, value: Any) -> Any:
        return {} if value is None else value  # `options:` with every entry commented out

    def selected_reports(self) -> list[str]:
        """The reports this run executes, in registry order when not given."""
        return list(self.reports) if self.reports is not None else list(registry.REPORTS)

    def report_options(self, report: str) -> BaseModel:
        """The validated options of one report (its model's defaults when none are given).

        Raises
        ------
        ParameterError
            An option named like a notebook parameter (``data_dir`` ...), or one the
            report's options model refuses; the message names ``options.<report>.<key>``.
        """
        given = self.options.get(report, {})
        clashing = sorted(set(given) & set(registry.NOTEBOOK_PARAMETERS))
        if clashing:
            keys = ", ".join(f"options.{report}.{key}" for key in clashing)
            raise ParameterError(f"{keys}: a run parameter, not an option of report {report}; "
                                 "set it at the top level of the run parameter file")
        spec = registry.REPORTS.get(report)
        model = spec.options_model() if spec else registry.NoOptions
        try:
            return model.model_validate(given)
        except ValidationError as exc:
            message = describe_errors(f"report {report}", "options", exc, prefix=("options", report))
            raise ParameterError(message) from None

    def program_file(self) -> Path:
        """The program definition YAML this run reads."""
        return program_path(self.program)


def repo_root(params_file: Path) -> Path:
    """The directory holding ``params/``: the nearest above the parameter file, else this checkout's."""
    start = Path(params_file).resolve().parent
    for parent in (start, *start.parents):
        if (parent / "params").is_dir():
            return parent
    return params_dir().parent


def _apply_override(raw: dict, dotted_key: str, value: str, source: str) -> None:
    """Set ``raw[a][b][c] = value`` for ``a.b.c``; the value stays a string for pydantic to coerce."""
    *parents, leaf = dotted_key.split(".")
    node = raw
    for depth, part in enumerate(parents):
        child = node.get(part)
        if child is None:  # absent, or an empty YAML key such as `options:`
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ParameterError(
                f"{source}: override -p {dotted_key}: {'.'.join(parents[: depth + 1])} is not a mapping"
            )
        node = child
    node[leaf] = value


def load_run_params(params_file: str | Path, overrides: dict[str, str] | None = None,
                    reports: Collection[str] | None = None) -> tuple[RunParams, Path]:
    """Read, override and validate a run parameter file.

    Parameters
    ----------
    params_file
        YAML file (see docs/running_reports.md).
    overrides
        ``{"dotted.key": "value"}`` from ``-p``; values are strings coerced by pydantic
        (``-p options.attribution.plurality_lookback_months=12``).
    reports
        The reports whose options are validated (default: every report the file gives options
        for). A run of one report checks its own only: each options model imports its report's
        library (seconds for all of them), and the run reads no other.

    Returns
    -------
    (RunParams, Path)
        The validated parameters, with ``data_dir`` and ``reports_dir`` made absolute,
        and the repository root they were resolved against.

    Raises
    ------
    ParameterError
        Missing file, bad YAML, unknown key, wrong type, unknown report or bad options;
        the message names the key.
    """
    params_file = Path(params_file)
    source = str(params_file)
    raw = read_mapping(params_file, "run parameter file")
    for key, value in (overrides or {}).items():
        _apply_override(raw, key, value, source)
    try:
        params = RunParams.model_validate(raw)
    except ValidationError as exc:
        raise ParameterError(describe_errors(source, "run parameters", exc)) from None

    unknown = sorted((set(params.selected_reports()) | set(params.options)) - set(registry.REPORTS))
    if unknown:
        raise ParameterError(f"{source}: unknown report(s) {unknown}; registered: {sorted(registry.REPORTS)}")
    for report in params.options if reports is None else reports:
        try:
            params.report_options(report)
        except ParameterError as exc:
            raise ParameterError(f"{source}: {exc}") from None

    root = repo_root(params_file)
    program = params.program
    if program_path(program) == Path(program):  # a path, not a name: resolve it like the others
        program = str(root / program)
    params = params.model_copy(
        update={"data_dir": root / params.data_dir, "reports_dir": root / params.reports_dir, "program": program}
    )
    if not params.data_dir.is_dir():
        raise ParameterError(f"{source}: data_dir {params.data_dir} is not a directory")
    if not params.program_file().is_file():
        raise ParameterError(f"{source}: program definition {params.program_file()} not found")
    return params, root
