"""Value types shared by the exhibit models: fractions, amounts, per-period tables, published tables.

Conventions (docs/program_definition.md): budget periods are integer keys (0 = Prep);
percentages are fractions; ``_musd`` keys are millions of dollars, ``_usd`` dollars;
``None`` is the protocol's "NA" / "Reporting only".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from dsrip_lib.errors import ParameterError

# Float slack when comparing sums that should agree exactly.
EPS = 1e-9


class FrozenModel(BaseModel):
    """Base of the program-definition models: unknown keys are errors, instances immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Fraction = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]


def _covers_budget_periods(table: dict[int, Any], info: ValidationInfo) -> dict[int, Any]:
    """A budget-period table must have exactly the calendar's period numbers as keys."""
    expected = (info.context or {}).get("budget_periods")
    if expected is not None and set(table) != expected:
        raise ValueError(f"budget periods {sorted(table)} do not match the calendar's {sorted(expected)}")
    return table


class Range(FrozenModel):
    """An anticipated range (``low`` may be unstated, e.g. "up to $500,000")."""

    low: NonNegative | None = None
    high: NonNegative

    @model_validator(mode="after")
    def _ordered(self):
        if self.low is not None and self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


# A value per budget period (0 = Prep); None where the protocol says "NA" or "Reporting only".
ByPeriod = Annotated[dict[int, Fraction | None], AfterValidator(_covers_budget_periods)]
MoneyByPeriod = Annotated[dict[int, NonNegative | None], AfterValidator(_covers_budget_periods)]
RangeByPeriod = Annotated[dict[int, Range | None], AfterValidator(_covers_budget_periods)]


def check_weights_per_period(tables: Mapping[str, Mapping[int, float | None]]) -> None:
    """In every period the stated weights sum to 1, or no weight is stated."""
    periods = set().union(*(table.keys() for table in tables.values()))
    for period in sorted(periods):
        stated = {name: table.get(period) for name, table in tables.items() if table.get(period) is not None}
        if stated and not math.isclose(sum(stated.values()), 1.0, abs_tol=EPS):
            raise ValueError(f"budget period {period}: weights {stated} sum to {sum(stated.values()):.6g}, not 1")


class AmountTable(FrozenModel):
    """A published table of amounts ($M) with its published row and column totals.

    Published totals must equal the sum of their cells within half the published
    precision; totals listed in ``known_discrepancies`` (key ``row:<row>``,
    ``column:<column>``, ``grand:rows`` or ``grand:columns``, value a discrepancy id in
    docs/protocol_discrepancies.md) must *not* -- so a corrected number retires its record.
    """

    precision_musd: Annotated[float, Field(gt=0)]
    rows: Annotated[dict[str, Annotated[dict[int, NonNegative], Field(min_length=1)]], Field(min_length=1)]
    row_totals: dict[str, NonNegative] | None = None
    column_totals: dict[int, NonNegative] | None = None
    grand_total: NonNegative | None = None
    known_discrepancies: dict[str, str] = {}

    @property
    def columns(self) -> list[int]:
        return sorted(next(iter(self.rows.values())))

    def row_sum(self, row: str) -> float:
        return sum(self.rows[row].values())

    def column_sum(self, column: int) -> float:
        return sum(cells[column] for cells in self.rows.values())

    def total_checks(self) -> dict[str, tuple[float, float]]:
        """Every published total keyed as in ``known_discrepancies``: (sum of parts, published)."""
        checks = {}
        for row, total in (self.row_totals or {}).items():
            checks[f"row:{row}"] = (self.row_sum(row), total)
        for column, total in (self.column_totals or {}).items():
            checks[f"column:{column}"] = (self.column_sum(column), total)
        if self.grand_total is not None:
            if self.row_totals:
                checks["grand:rows"] = (sum(self.row_totals.values()), self.grand_total)
            if self.column_totals:
                checks["grand:columns"] = (sum(self.column_totals.values()), self.grand_total)
        return checks

    @model_validator(mode="after")
    def _consistent(self):
        columns = self.columns
        for row, cells in self.rows.items():
            if sorted(cells) != columns:
                raise ValueError(f"row {row!r} has columns {sorted(cells)}, expected {columns}")
        if self.row_totals is not None and set(self.row_totals) != set(self.rows):
            raise ValueError(f"row_totals keys {sorted(self.row_totals)} differ from rows {sorted(self.rows)}")
        if self.column_totals is not None and sorted(self.column_totals) != columns:
            raise ValueError(f"column_totals keys {sorted(self.column_totals)} differ from columns {columns}")
        checks = self.total_checks()
        unknown = set(self.known_discrepancies) - set(checks)
        if unknown:
            raise ValueError(f"known_discrepancies name totals that do not exist: {sorted(unknown)}")
        tolerance = self.precision_musd / 2 + EPS
        for key, (parts, published) in checks.items():
            agrees = abs(parts - published) <= tolerance
            if key in self.known_discrepancies and agrees:
                raise ValueError(
                    f"{key}: recorded as discrepancy {self.known_discrepancies[key]} but the parts sum to "
                    f"{parts:.4g}, which agrees with the published {published}"
                )
            if key not in self.known_discrepancies and not agrees:
                raise ValueError(
                    f"{key}: parts sum to {parts:.4g} but the published total is {published} "
                    f"(tolerance {tolerance:.3g}); fix the number or record a known discrepancy"
                )
        return self


def stated(table: Mapping[int, Any], bp: int, what: str, exhibit: str) -> Any:
    """``table[bp]``, or a ParameterError naming the exhibit when the period is absent or "NA"."""
    if bp not in table:
        raise ParameterError(f"{what}: budget period {bp} does not exist (periods {sorted(table)})")
    if table[bp] is None:
        periods = sorted(k for k, v in table.items() if v is not None)
        raise ParameterError(f"{what}: none for budget period {bp} ({exhibit} states periods {periods})")
    return table[bp]


def stated_in(tables: Mapping[str, Mapping[int, float | None]], bp: int) -> dict[str, float]:
    """The entries of several per-period tables that state a value in ``bp`` (empty if none)."""
    return {name: table[bp] for name, table in tables.items() if table.get(bp) is not None}


def nondecreasing(values: list[float | None]) -> bool:
    """Whether the stated (non-None) values never fall."""
    known = [v for v in values if v is not None]
    return all(a <= b for a, b in zip(known, known[1:]))
