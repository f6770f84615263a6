"""Small-cell suppression rules: tables in, masks out (no display, no I/O).

Primary suppression hides counts of 1 to 10 (CMS cell size suppression policy).
Complementary (secondary) suppression then hides further cells so that no
primary cell can be recovered by subtraction from one additive relation the
reader can see: a row's parts and its total, a column and its total row, a
column and a total published elsewhere, a total of parts published elsewhere.
``dsrip_lib.publish`` renders the masks.

A *relation* is a set of cells whose sum (parts minus total) the reader knows:
the table's cells (``(row, column)``, rows by position) and how many of its cells
in tables published earlier are hidden there. A relation with exactly one cell
not shown gives that cell back, so the rule is applied until no relation has
exactly one unseen cell that is suppressed (a missing value in this table hides
nothing that needs protecting; a cell published elsewhere that is not a number
is taken as suppressed there, which can only hide more).
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import NamedTuple

import pandas as pd

from dsrip_lib.errors import ReportError

SMALL_CELL_BELOW = 11  # counts > 0 and < 11 are suppressed (CMS: cells of 1 to 10)

Cell = tuple[int, Hashable]


class Relation(NamedTuple):
    """Cells of this table whose sum the reader knows, with ``hidden_elsewhere`` of its other cells hidden."""

    cells: tuple[Cell, ...]
    hidden_elsewhere: int = 0


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
        Relation(tuple((i, col) for col in [*parts, total])) for total, parts in margins.items() for i in range(len(df))
    ]


def total_row_relations(df: pd.DataFrame, counts: Sequence[str]) -> list[Relation]:
    """The last row is the sum of the rows above it, in every count column."""
    return [Relation(tuple((i, col) for i in range(len(df)))) for col in counts] if len(df) > 1 else []


def column_total_relations(df: pd.DataFrame, column_totals: Mapping[str, object]) -> list[Relation]:
    """A column summing to a cell published elsewhere (``{column: that cell as published}``).

    The published cell is a number, or a marker (anything else) where it is hidden there.
    """
    return [
        Relation(tuple((i, col) for i in range(len(df))), 0 if _visible_number(total) else 1)
        for col, total in column_totals.items()
    ]


def parts_elsewhere_relations(df: pd.DataFrame, parts: Mapping[str, Sequence[Sequence[object]]]) -> list[Relation]:
    """Cells that total cells published earlier: ``{column: [the published parts of row 0, of row 1, ...]}``.

    An all-ACO row summing a per-ACO column of an earlier table: if exactly one of
    those parts is hidden there, the total here would give it back.
    """
    relations = []
    for col, rows in parts.items():
        if len(rows) != len(df):
            raise ValueError(f"parts elsewhere of column {col!r}: {len(rows)} rows of parts for {len(df)} rows")
        relations += [
            Relation(((i, col),), sum(not _visible_number(v) for v in row_parts)) for i, row_parts in enumerate(rows)
        ]
    return relations


def equal_sum_relations(df: pd.DataFrame, pairs: Iterable[tuple[str, str]]) -> list[Relation]:
    """Two columns with equal sums (flows between ACOs: lost to other ACOs = gained from them)."""
    return [Relation(tuple((i, col) for col in pair for i in range(len(df)))) for pair in pairs]


def complementary(
    values: pd.DataFrame, suppressed: pd.DataFrame, relations: Sequence[Relation], table: str = "table"
) -> pd.DataFrame:
    """Hide further cells until no relation gives a suppressed cell back by subtraction.

    While some relation has exactly one unseen cell and that cell is suppressed
    (in this table or in one published earlier), suppress the relation's smallest
    non-zero visible cell in this table (the first in the relation's order on a
    tie: parts before totals, upper rows first). Parts are never larger than their
    total, so the total is taken only when every other part is zero, which would
    otherwise show the suppressed value outright. Zeros are never suppressed: they
    are published as 0 and the marker means a non-zero count. Relations are
    visited in order, repeatedly, until a pass changes nothing, so the result
    depends only on the inputs.

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
        When a relation needs a cell hidden and its only visible cells in this
        table are zeros (its other cells are in a table published earlier).

    References
    ----------
    CMS cell size suppression policy (no cell of 1 to 10 may be shown or be
    derivable from other published figures); complementary suppression as in
    Federal Committee on Statistical Methodology, Statistical Policy Working
    Paper 22 (2005), ch. 4.
    """
    hidden = suppressed.copy()
    number = {cell: _number(values.at[cell]) for relation in relations for cell in relation.cells}
    changed = True
    while changed:
        changed = False
        for relation in relations:
            if not _gives_back(relation, hidden, number):
                continue
            candidates = [cell for cell in relation.cells if not hidden.at[cell] and number[cell]]
            if not candidates:
                raise ReportError(
                    f"table {table!r}: a suppressed count can be worked out from cells "
                    f"{[_name(c) for c in relation.cells]} and a table published earlier, and the "
                    "cells left to hide are 0; aggregate the table further"
                )
            hidden.at[min(candidates, key=lambda cell: number[cell])] = True  # min keeps the first of ties
            changed = True
    return hidden


def _gives_back(relation: Relation, hidden: pd.DataFrame, number: Mapping[Cell, float | None]) -> bool:
    """Exactly one cell of the relation is unseen, and it is suppressed (here or elsewhere)."""
    unseen = [cell for cell in relation.cells if hidden.at[cell] or number[cell] is None]
    if len(unseen) + relation.hidden_elsewhere != 1:
        return False
    return relation.hidden_elsewhere == 1 or bool(hidden.at[unseen[0]])


def _number(value: object) -> float | None:
    return float(value) if _visible_number(value) else None


def _visible_number(value: object) -> bool:
    """A number a reader sees; a marker, a missing value or a bool is not one."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and not pd.isna(value)


def _name(cell: Cell) -> str:
    return f"row {cell[0]}, column {cell[1]!r}"
