"""A driver diagram's accountability targets as a params file (``params/targets/<name>.yaml``).

The file holds the diagram's aims, primary and secondary drivers, and per measure its unit,
direction and one target cell per period of :data:`~dsrip_lib.inputs.codes.TARGET_PERIODS`:
a number, ``"-"`` (the source's dash: no target), ``"TBD"`` or ``blank`` (an empty cell). A
period outside PIP-PY3, a missing period, a duplicate id or a number of the wrong kind is
refused with a message naming the file, the measure and the field.

References
----------
Connecticut State Innovation Model Driver Diagram (aims, primary and secondary drivers,
measures, accountability targets for PIP and PY1-PY3); docs/methodology/targets.md.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import Field, StrictFloat, StrictInt, ValidationError, model_validator

from dsrip_lib.errors import ParameterError
from dsrip_lib.inputs.codes import TARGET_PERIODS
from dsrip_lib.params import describe_errors, params_dir, read_mapping
from dsrip_lib.program.values import FrozenModel
from dsrip_lib.tracking.table import BLANK, NO_TARGET, NUMBER, TBD, TargetTable

Cell = StrictInt | StrictFloat | Literal["-", "TBD", "blank"]
Text = Annotated[str, Field(min_length=1)]


class Period(FrozenModel):
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self):
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class Measure(FrozenModel):
    """One measure of a secondary driver and its target cell per period."""

    id: Text
    name: Text
    unit: Literal["count", "share"] = "count"
    direction: Literal["at_least", "at_most"] | None = None  # None: the diagram's default
    targets: dict[str, Cell]

    @model_validator(mode="after")
    def _cells(self):
        unknown = [p for p in self.targets if p not in TARGET_PERIODS]
        if unknown:
            raise ValueError(f"measure {self.id}: target period(s) {unknown} outside {', '.join(TARGET_PERIODS)}")
        missing = [p for p in TARGET_PERIODS if p not in self.targets]
        if missing:
            raise ValueError(f"measure {self.id}: no target cell for period(s) {missing} (write \"-\", TBD or blank "
                             "as the source has it)")
        for period, cell in self.targets.items():
            if isinstance(cell, str):
                continue
            if cell < 0 or (self.unit == "share" and cell > 1):
                bound = "a fraction in [0, 1] (44% is 0.44)" if self.unit == "share" else "a number >= 0"
                raise ValueError(f"measure {self.id}, period {period}: target {cell} is not {bound}")
        return self


class SecondaryDriver(FrozenModel):
    id: Text
    name: Text
    measures: Annotated[list[Measure], Field(min_length=1)]


class Aim(FrozenModel):
    id: Text
    name: Text
    goal: str = ""


class PrimaryDriver(FrozenModel):
    id: Text
    name: Text
    aims: Annotated[list[str], Field(min_length=1)]
    secondary_drivers: Annotated[list[SecondaryDriver], Field(min_length=1)]


class Diagram(FrozenModel):
    """A driver diagram with accountability targets (the params file's top level)."""

    name: Text
    title: Text
    source: Text
    aims_by: dt.date | None = None
    period_dates_stated: bool
    periods: dict[str, Period]
    default_direction: Literal["at_least", "at_most"]
    aims: Annotated[list[Aim], Field(min_length=1)]
    primary_drivers: Annotated[list[PrimaryDriver], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self):
        if list(self.periods) != list(TARGET_PERIODS):
            raise ValueError(f"periods must be {', '.join(TARGET_PERIODS)} in that order, got {list(self.periods)}")
        spans = list(self.periods.values())
        for (name, before), after in zip(self.periods.items(), spans[1:]):
            if after.start <= before.end:
                raise ValueError(f"period after {name} starts {after.start}, before {name} ends ({before.end})")
        ids = {"aim": [a.id for a in self.aims], "primary driver": [p.id for p in self.primary_drivers],
               "secondary driver": [s.id for p in self.primary_drivers for s in p.secondary_drivers],
               "measure": [m.id for p in self.primary_drivers for s in p.secondary_drivers for m in s.measures]}
        for what, values in ids.items():
            repeated = sorted(v for v, n in Counter(values).items() if n > 1)
            if repeated:
                raise ValueError(f"duplicate {what} id(s) {repeated}")
        for driver in self.primary_drivers:
            unknown = [a for a in driver.aims if a not in ids["aim"]]
            if unknown:
                raise ValueError(f"primary driver {driver.id}: unknown aim(s) {unknown}; aims are {ids['aim']}")
        return self

    def to_table(self) -> TargetTable:
        """The diagram as a :class:`~dsrip_lib.tracking.table.TargetTable`."""
        periods = pd.DataFrame([{"period": k, "start": p.start, "end": p.end} for k, p in self.periods.items()])
        measures, targets, aims = [], [], []
        for driver in self.primary_drivers:
            aims += [{"primary_driver_id": driver.id, "aim_id": a.id, "aim": a.name}
                     for a in self.aims if a.id in driver.aims]
            for secondary in driver.secondary_drivers:
                for m in secondary.measures:
                    measures.append({"measure_id": m.id, "measure": m.name, "unit": m.unit,
                                     "direction": m.direction or self.default_direction,
                                     "secondary_driver_id": secondary.id, "secondary_driver": secondary.name,
                                     "primary_driver_id": driver.id, "primary_driver": driver.name})
                    targets += [{"measure_id": m.id, "period": period, **_cell(cell)}
                                for period, cell in m.targets.items()]
        notes = () if self.period_dates_stated else (
            "The source states no dates for PIP and PY1-PY3: the period dates are a parameter of the diagram file "
            "(assumed, not from the source).",)
        return TargetTable(self.name, self.title, periods, pd.DataFrame(measures), pd.DataFrame(aims),
                           pd.DataFrame(targets).astype({"target": "float64"}), notes)


def _cell(cell: int | float | str) -> dict:
    if isinstance(cell, str):
        return {"cell": {"-": NO_TARGET, "TBD": TBD, "blank": BLANK}[cell], "target": None}
    return {"cell": NUMBER, "target": float(cell)}


def diagram_path(name_or_path: str | Path) -> Path:
    """``params/targets/<name>.yaml`` for a name, or the path given."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.parent != Path("."):
        return path
    return params_dir() / "targets" / f"{name_or_path}.yaml"


def load_diagram(name_or_path: str | Path) -> TargetTable:
    """Load and validate a driver-diagram params file into a target table.

    Raises
    ------
    ParameterError
        A missing or non-YAML file, or one breaking a rule (a period outside PIP-PY3, a missing
        period, a duplicate id, a target of the wrong kind); the message names the file, the
        key path and the measure.

    References
    ----------
    Connecticut State Innovation Model Driver Diagram (accountability targets, PIP and PY1-PY3).
    """
    path = diagram_path(name_or_path)
    raw = read_mapping(path, "driver diagram")
    try:
        return Diagram.model_validate(raw).to_table()
    except ValidationError as exc:
        raise ParameterError(describe_errors(str(path), "driver diagram", exc)) from None
