"""What an ad hoc notebook (``notebooks/adhoc/``, docs/adhoc.md) opens: the run's context, as a report's.

An ad hoc notebook is not registered, so the runner gives it no options (any
``-p options.<name>.key`` is refused, ``registry.NoOptions``) and assumes it reads the
contract tables: it validates ``data_dir`` once and passes ``data_validated=True``.
:func:`open_adhoc` takes exactly the same seven notebook parameters as a report and
opens the same :class:`~dsrip_lib.reports.context.ReportContext`; the analyst's choices
(a count method, a budget period) are constants in a cell of the notebook, committed with
it and hashed into the run's manifest. To reuse a registered report's functions, give the
context that report's typed options with :func:`with_options`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from dsrip_lib.errors import ParameterError
from dsrip_lib.params import describe_errors, params_dir
from dsrip_lib.program import program_path
from dsrip_lib.reports import attribution
from dsrip_lib.reports.context import ReportContext, open_report

Options = TypeVar("Options", bound=BaseModel)


class AdhocOptions(BaseModel):
    """Options of an ad hoc notebook: none (what the runner gives an unregistered notebook).

    A key here would be accepted when the notebook is run by hand and refused by
    ``dsrip run``; so every key is refused in both. A choice the analyst makes goes in a
    cell of the notebook; a question worth a parameter becomes a registered report with its
    own options model (docs/running_reports.md, Writing a report notebook).
    """

    model_config = ConfigDict(extra="forbid")


# Plain-word headers for the code names ad hoc tables most often carry (a published header
# holding "_" is refused); a table's own ``headers=`` adds to or overrides these.
HEADERS = {
    **attribution.HEADERS,
    "budget_period": "Budget period",
    "member_months": "Member-months",
    "chc_member_months": "CHC member-months",
    "eligibility_group": "Eligibility group",
    "plan_type": "Plan type",
    "month": "Month",
}


def repository_root() -> Path:
    """The checkout this package runs from (the directory holding ``params/``)."""
    return params_dir().parent


def _from_root(path: str | Path) -> Path:
    path = Path(path).expanduser()
    return path if path.is_absolute() else repository_root() / path


def open_adhoc(*, program: str, data_dir: str | Path, backend: str = "duckdb",
               options: dict[str, Any] | None = None, output_dir: str | Path | None = None,
               data_validated: bool = False, stage_cache: str | Path | None = None,
               **unexpected: Any) -> ReportContext[AdhocOptions]:
    """The context of an ad hoc notebook from its parameters cell (``registry.NOTEBOOK_PARAMETERS``).

    As :func:`~dsrip_lib.reports.context.open_report` with :class:`AdhocOptions` and the
    :data:`HEADERS` vocabulary. A relative ``data_dir`` or program path is taken from the
    repository root, as in a run parameter file: JupyterLab starts a notebook's kernel in
    the notebook's own folder (``notebooks/adhoc/``), the runner at the root.
    ``run_id`` is accepted and not needed.

    Raises
    ------
    ParameterError
        A non-empty ``options``, or a parameter no notebook takes.
    InputValidationError
        The data directory breaks the data contract (only when not already validated).
    """
    unexpected.pop("run_id", None)
    if program_path(program) == Path(program):  # a path, not a program name
        program = str(_from_root(program))
    return open_report(AdhocOptions, program=program, data_dir=_from_root(data_dir), backend=backend,
                       options=options, output_dir=output_dir, data_validated=data_validated,
                       stage_cache=stage_cache, headers=HEADERS, **unexpected)


def with_options(ctx: ReportContext[Any], model: type[Options], **options: Any) -> ReportContext[Options]:
    """``ctx`` with a report's typed options, to call that report's functions from an ad hoc notebook.

    ``with_options(ctx, attribution.AttributionOptions, count_method="snapshot")``: the
    options are validated by the report's model (an unknown key or a bad value is refused);
    the program, data and publisher stay those of ``ctx``.

    Raises
    ------
    ParameterError
        Options the model refuses, each named with its key.
    """
    try:
        typed = model.model_validate(options)
    except ValidationError as exc:
        raise ParameterError(describe_errors(model.__name__, "options", exc)) from None
    return dataclasses.replace(ctx, options=typed)
