"""What every report notebook starts from: the run's program, its dataset, its options, a publisher."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from dsrip_lib.errors import ParameterError
from dsrip_lib.inputs.dataset import Dataset, open_dataset
from dsrip_lib.params import describe_errors
from dsrip_lib.program import Program, load_program
from dsrip_lib.publishing.publisher import Publisher
from dsrip_lib.reports.stage_cache import StageCache

Options = TypeVar("Options", bound=BaseModel)


@dataclass(frozen=True)
class ReportContext(Generic[Options]):
    """One report's inputs: the program definition, the data on its backend, options, publisher.

    ``computed`` holds stage results already computed from this program and data
    (:mod:`dsrip_lib.reports.stages`); ``dataclasses.replace(ctx, options=...)`` shares it, so a
    report composing others' computations (the State score uses the quality, accountability and
    spending stages) computes each stage once. ``shared`` is the run's cache of stages across its
    reports (None: this context computes every stage it uses).
    """

    program: Program
    data: Dataset
    options: Options
    publisher: Publisher
    computed: dict[Hashable, Any] = field(default_factory=dict, repr=False, compare=False)
    shared: StageCache | None = field(default=None, repr=False, compare=False)


def open_report(options_model: type[Options], *, program: str, data_dir: str | Path, backend: str = "duckdb",
                options: dict[str, Any] | None = None, output_dir: str | Path | None = None,
                data_validated: bool = False, stage_cache: str | Path | None = None,
                headers: dict[str, str] | None = None, **unexpected: Any) -> ReportContext[Options]:
    """Open what a report notebook needs from its parameters cell (``registry.NOTEBOOK_PARAMETERS``).

    The dataset's tables are read with the run's program, so the contract's bounds are that
    program's. ``data_validated`` is True when the runner has already checked the directory
    once for the whole run; a notebook run by hand checks it here. ``stage_cache`` is the run's
    directory of stages shared across its reports (:mod:`dsrip_lib.reports.stage_cache`; None: none).
    ``headers`` is the report's vocabulary of plain-word column headers, given to its publisher.

    Raises
    ------
    ParameterError
        Options the report's model refuses, or a parameter no report takes.
    InputValidationError
        The data directory breaks the data contract (only when not already validated).
    """
    opts = validate_options(options_model, options, unexpected)
    prog = load_program(program)
    data = open_dataset(data_dir, backend=backend, validate=not data_validated, program=prog)
    shared = None if stage_cache is None else StageCache.open(
        stage_cache, prog.model_dump_json(), str(Path(data_dir).resolve()), backend)
    return ReportContext(prog, data, opts, Publisher(output_dir, headers=dict(headers or {})), shared=shared)


def validate_options(options_model: type[Options], options: dict[str, Any] | None,
                     unexpected: dict[str, Any] | None = None) -> Options:
    """A report's typed options from its parameters cell; ParameterError for a refused option or an
    unknown notebook parameter (``unexpected``). Shared by reports that open no dataset."""
    if unexpected:
        raise ParameterError(f"unknown notebook parameter(s) {sorted(unexpected)}")
    try:
        return options_model.model_validate(options or {})
    except ValidationError as exc:
        raise ParameterError(describe_errors("report", "options", exc, prefix=("options",))) from None
