"""Small-cell suppression rules: tables in, masks out (no display, no I/O).

Primary suppression hides counts of 1 to 10 (CMS cell size suppression policy).
Complementary (secondary) suppression then hides further cells so that no
primary cell can be recovered by subtraction from one additive relation the
reader can see: a row's parts and its total, a column and its total row, a
column and a total published elsewhere. ``dsrip_lib.publish`` renders the masks.

A *relation* is a tuple of cells whose sum (parts minus total) the reader knows;
a cell is ``(row, column)`` of a table with a RangeIndex (row positions). A relation with exactly one hidden cell
gives that cell back, so the rule is applied until no relation has exactly one
hidden cell that is suppressed (a missing value hides nothing that needs
protecting and is never the only thing to protect).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence

import pandas as pd

from dsrip_lib.errors import ReportError

SMALL_CELL_BELOW = 11  # counts > 0 and < 11 are suppressed (CMS: cells of 1 to 10)

Cell = tuple[int, Hashable]
Relation = tuple[Cell, ...]


def small_cells(df: pd.DataFrame, counts: Sequence[str]) -> pd.DataFrame:
    """Primary suppression: True where a count column holds a value above 0 and below 11.

    A missing value is not small (it stays missing); negative counts are refused.

    References
    ----------
    CMS cell size suppression policy (no cell of 1 to 10 beneficiaries or events may
    be shown); the protocol itself sets no cell size (docs/running_reports.md).
    """
    mask = pd.DataFrame(False, index=df.index, columns=df.columns)
    for col in counts:
        values = pd.to_numeric(df[col], errors="raise")
        if (values < 0).any():
            raise ValueError(f"count column {col!r} holds negative values")
        mask[col] = ((values > 0) & (values < SMALL_CELL_BELOW)).fillna(False).astype(bool)
    return mask


def margin_relations(df: pd.DataFrame, margins: Mapping[str, Sequence[str]]) -> list[Relation]:
    """One relation per row and declared total column: ``{total: [parts]}``, parts first."""
    return [
        tuple((i, col) for col in [*parts, total]) for total, parts in margins.items() for i in range(len(df))
    ]


def total_row_relations(df: pd.DataFrame, counts: Sequence[str]) -> list[Relation]:
    """The last row is the sum of the rows above it, in every count column."""
    return [tuple((i, col) for i in range(len(df))) for col in counts] if len(df) > 1 else []


def column_total_relations(df: pd.DataFrame, column_totals: Mapping[str, object]) -> list[Relation]:
    """A column whose sum is a visible number published elsewhere (another table's cell).

    A total that is hidden there (suppressed, withheld, missing: anything not a number)
    gives the reader nothing, so it makes no relation.
    """
    return [
        tuple((i, col) for i in range(len(df)))
        for col, total in column_totals.items()
        if _visible_number(total)
    ]


def equal_sum_relations(df: pd.DataFrame, pairs: Iterable[tuple[str, str]]) -> list[Relation]:
    """Two columns with equal sums (flows between ACOs: lost to other ACOs = gained from them)."""
    return [tuple((i, col) for col in pair for i in range(len(df))) for pair in pairs]


def complementary(
    values: pd.DataFrame, suppressed: pd.DataFrame, relations: Sequence[Relation], table: str = "table"
) -> pd.DataFrame:
    """Hide further cells until no relation gives a suppressed cell back by subtraction.

    While some relation has exactly one hidden cell and that cell is suppressed,
    suppress the relation's smallest non-zero visible cell (the first in the
    relation's order on a tie: parts before totals, upper rows first). Parts are
    never larger than their total, so the total is taken only when every other
    part is zero, which would otherwise show the suppressed value outright. Zeros
    are never suppressed: they are published as 0 and the marker means a non-zero
    count. Relations are visited in order, repeatedly, until a pass changes
    nothing, so the result depends only on the inputs.

    Parameters
    ----------
    values
        The table's numbers (count columns numeric; other columns ignored).
    suppressed
        Primary suppression mask (``small_cells``), same shape as ``values``.
    relations
        Additive relations the reader can see (``margin_relations`` and friends).
    table
        The table's name, for error messages.

    Returns
    -------
    The mask of every suppressed cell, primary and secondary.

    Raises
    ------
    ReportError
        When a relation's only other cells are zeros and a total published
        elsewhere, so that the suppressed cell equals a visible number.

    References
    ----------
    CMS cell size suppression policy (no cell of 1 to 10 may be shown or be
    derivable from other published figures); complementary suppression as in
    Federal Committee on Statistical Methodology, Statistical Policy Working
    Paper 22 (2005), ch. 4.
    """
    hidden = suppressed.copy()
    number = {cell: _number(values.at[cell]) for relation in relations for cell in relation}
    changed = True
    while changed:
        changed = False
        for relation in relations:
            revealed = _revealed(relation, hidden, number)
            if revealed is None:
                continue
            candidates = [cell for cell in relation if not hidden.at[cell] and number[cell]]
            if not candidates:
                raise ReportError(
                    f"table {table!r}: the suppressed cell {_name(revealed)} equals a total published "
                    f"elsewhere (the other cells of its relation {[_name(c) for c in relation]} are 0); "
                    "aggregate the table further"
                )
            hidden.at[min(candidates, key=lambda cell: number[cell])] = True  # min keeps the first of ties
            changed = True
    return hidden


def recoverable(hidden: pd.DataFrame, values: pd.DataFrame, relations: Sequence[Relation]) -> list[Relation]:
    """The relations that give a hidden cell back by subtraction (exactly one hidden, non-missing cell)."""
    number = {cell: _number(values.at[cell]) for relation in relations for cell in relation}
    return [relation for relation in relations if _revealed(relation, hidden, number) is not None]


def _revealed(relation: Relation, hidden: pd.DataFrame, number: Mapping[Cell, float | None]) -> Cell | None:
    """The suppressed cell a relation gives back: its only cell not seen, when that one is suppressed."""
    unseen = [cell for cell in relation if hidden.at[cell] or number[cell] is None]
    return unseen[0] if len(unseen) == 1 and hidden.at[unseen[0]] else None


def _number(value: object) -> float | None:
    return float(value) if _visible_number(value) else None


def _visible_number(value: object) -> bool:
    if isinstance(value, bool) or isinstance(value, str) or value is None:
        return False
    try:
        return not pd.isna(value) and float(value) == float(value)
    except (TypeError, ValueError):
        return False


def _name(cell: Cell) -> str:
    return f"row {cell[0]}, column {cell[1]!r}"
