"""Checking a table of actuals against the targets it reports on.

The data contract checks ``target_actuals`` on its own (columns, a period in PIP-PY3, one row
per measure, period and date); whether each measure is in the run's driver diagram can only be
checked once the diagram is known, when the report opens (docs/methodology/targets.md).
"""

from __future__ import annotations

import pandas as pd

from dsrip_lib.inputs.frame_checks import reject_rows, require_columns, require_finite, require_unique
from dsrip_lib.tracking.status import ACTUAL_COLUMNS
from dsrip_lib.tracking.table import TargetTable


def check_actuals(actuals: pd.DataFrame, table: TargetTable, source: str) -> None:
    """Refuse actuals that do not fit ``table``: a measure not in it, a period not among its
    periods, a missing or non-finite value, two values for one measure, period and date.

    Parameters
    ----------
    actuals : DataFrame
        ``measure_id, period, value, as_of``.
    table : TargetTable
        The targets (a driver diagram or a goal table).
    source : str
        The actuals' file or table, named in every message.

    Raises
    ------
    InputValidationError
        Naming ``source``, the column, the rule and the offending rows.
    """
    require_columns(actuals, source, ACTUAL_COLUMNS)
    show = list(ACTUAL_COLUMNS)
    known = set(table.measures["measure_id"])
    reject_rows(actuals, source, ~actuals["measure_id"].isin(known), "measure_id",
                f"a measure of the driver diagram {table.name}", show)
    reject_rows(actuals, source, ~actuals["period"].isin(table.period_order), "period",
                f"one of {', '.join(table.period_order)}", show)
    require_finite(actuals, source, "value", ["measure_id", "period"])
    require_unique(actuals, source, ["measure_id", "period", "as_of"])
