"""A target table in the shape of a driver diagram: aims, primary and secondary drivers, measures,
and one target cell per measure and period.

Both trackers fill it: a driver-diagram params file (:mod:`dsrip_lib.tracking.diagram`) and a
program definition's goals (:mod:`dsrip_lib.tracking.goals`); the status logic
(:mod:`dsrip_lib.tracking.status`) reads only this shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

# A target cell as the source gives it: a number, the source's dash (no target in that period),
# "TBD" (to be determined) or an empty cell. None of the last three is ever read as zero.
NUMBER, NO_TARGET, TBD, BLANK = "number", "-", "TBD", "blank"
CELL_KINDS = (NUMBER, NO_TARGET, TBD, BLANK)
# A measure meets its target at or above it (a count or share to reach), or at or below it.
AT_LEAST, AT_MOST = "at_least", "at_most"
DIRECTIONS = (AT_LEAST, AT_MOST)
UNITS = ("count", "share")
LEVELS = ("secondary_driver", "primary_driver", "aim")  # roll-up levels, finest first


@dataclass(frozen=True)
class TargetTable:
    """Targets of one tracker.

    Attributes
    ----------
    name, title : str
        The tracker's file or program name, and its title.
    periods : DataFrame
        ``period, start, end`` in order; a period is due once its ``end`` has passed.
    measures : DataFrame
        ``measure_id, measure, unit, direction, secondary_driver_id, secondary_driver,
        primary_driver_id, primary_driver``, one row per measure.
    aims : DataFrame
        ``primary_driver_id, aim_id, aim``: which aims each primary driver serves.
    targets : DataFrame
        ``measure_id, period, cell, target``: one row per measure and period; ``target`` is the
        number where ``cell`` is ``"number"`` and missing otherwise.
    notes : tuple of str
        What a reader must know about the targets (assumed dates, illustrative values).
    """

    name: str
    title: str
    periods: pd.DataFrame = field(repr=False)
    measures: pd.DataFrame = field(repr=False)
    aims: pd.DataFrame = field(repr=False)
    targets: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()

    @property
    def period_order(self) -> list[str]:
        return list(self.periods["period"])

    def counts_per_driver(self) -> pd.DataFrame:
        """Measures per primary and secondary driver: ``primary_driver_id, secondary_driver_id, measures``."""
        return (self.measures.groupby(["primary_driver_id", "secondary_driver_id"], sort=False)
                .size().rename("measures").reset_index())
