"""Recorded moves of the DSRIP payment account: what each needs from CMS, and the authority it moves.

The contract's optional ``funding_moves`` table records the State's redistributions, carry-forwards,
statewide-investment shifts and ACO/CP allocation changes. Each is judged by the rules of
``dsrip_lib.payments.reallocation`` and the program (never a threshold typed here):

* ``carry_forward``: :func:`~dsrip_lib.payments.reallocation.carry_forward` (CMS approval above
  the program's share of the prior year's authority, Sec 4.7);
* ``investment_shift``: :func:`~dsrip_lib.payments.reallocation.investment_shift` (approval above
  the larger of a share of the source's Exhibit 15 funding and a dollar amount, Sec 4.6);
* ``redistribution``: allowed only to Sec 5.1.3's categories, reported in the quarterly report;
* ``allocation_change`` between the ACO and CP/CSA streams: above the program's share of the
  source stream's Table F amount CMS must be notified before it takes effect (Sec 4.1), else
  reported in the quarterly report.

A move needing approval without ``approved_on``, or advance notice without ``notified_on``, is
flagged.

References
----------
MassHealth DSRIP Protocol, Sec 4.1 (line 374), Sec 4.6 (Exhibit 15), Sec 4.7 (line 976),
Sec 5.1.3 (lines 1148-1164).
"""

from __future__ import annotations

import pandas as pd

from dsrip_lib.accountability.state import musd_cents
from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.inputs.codes import FUNDING_MOVE_KINDS as KINDS
from dsrip_lib.inputs.frame_checks import reject_rows, require_columns, require_unique
from dsrip_lib.payments.reallocation import APPROVAL, Move, carry_forward, investment_shift
from dsrip_lib.program import Program

ADVANCE_NOTICE = "notice to CMS before it takes effect"
MOVE_COLUMNS = ["move_id", "kind", "from_stream", "from_substream", "to_stream", "to_substream",
                "demonstration_year", "amount_usd", "notified_on", "approved_on"]


def judge_move(move, program: Program) -> Move:
    """The :class:`~dsrip_lib.payments.reallocation.Move` of one ``funding_moves`` row (a namedtuple).

    Raises
    ------
    ParameterError
        A demonstration year or statewide investment the program does not have.
    """
    cents, dy = int(round(move.amount_usd * 100)), int(move.demonstration_year)
    if move.kind == "carry_forward":
        return carry_forward(cents, move.from_stream, move.from_substream, dy, program)
    if move.kind == "investment_shift":
        return investment_shift(cents, move.from_substream, move.to_substream, dy, program)
    source = f"DY{dy} {move.from_stream or 'undistributed funds'}/{move.from_substream or 'all'}"
    target = f"{move.to_stream}/{move.to_substream or 'all'}"
    if move.kind == "redistribution":
        allowed = program.require("reallocation").redistribution_allowed(move.to_stream, move.to_substream)
        reasons = () if allowed else (f"{target} is not an allowable category for redistributed funds (Sec 5.1.3)",)
        # reported in the quarterly report, never approved: the threshold is the amount itself
        return Move("redistribution", source, target, cents, cents, reasons)
    funding = program.require("funding")
    table_f = funding.table_f.amounts_musd
    reasons = tuple(f"{s!r} is not a Table F stream {sorted(table_f)}" for s in (move.from_stream, move.to_stream)
                    if s not in table_f)
    threshold = (int(musd_cents(table_f[move.from_stream]) * funding.stream_reallocation_notice_share)
                 if move.from_stream in table_f else cents)
    return Move("allocation change", source, target, cents, threshold, reasons)


def _named(moves: pd.DataFrame) -> pd.DataFrame:
    """The moves with a null stream or sub-stream as "" (a redistribution of undistributed funds has no source)."""
    names = ["from_stream", "from_substream", "to_stream", "to_substream"]
    return moves.assign(**{c: moves[c].astype("object").where(moves[c].notna(), "") for c in names})


def review_moves(moves: pd.DataFrame, program: Program) -> pd.DataFrame:
    """Each recorded move with whether it is allowed, what it needs from CMS and whether that is recorded.

    Returns
    -------
    DataFrame
        The table's columns plus ``threshold_usd``, ``needs`` (CMS approval, advance notice, or
        notice in the quarterly report), ``allowed``, ``reasons`` and ``flagged`` (not allowed, or
        needing approval without ``approved_on`` or advance notice without ``notified_on``).

    Raises
    ------
    InputValidationError
        A missing column, a duplicate ``move_id``, an unknown kind, a negative amount, an
        approval before its notice, or a move of a year or investment the program does not have.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.1, 4.6, 4.7, 5.1.3.
    """
    table = "funding_moves"
    require_columns(moves, table, MOVE_COLUMNS)
    require_unique(moves, table, ["move_id"])
    show = ["move_id", "kind", "amount_usd"]
    reject_rows(moves, table, ~moves["kind"].isin(KINDS), "kind", f"one of {KINDS}", show)
    reject_rows(moves, table, ~(moves["amount_usd"] >= 0), "amount_usd", "amount_usd >= 0", show)
    notified, approved = pd.to_datetime(moves["notified_on"]), pd.to_datetime(moves["approved_on"])
    reject_rows(moves, table, notified.notna() & approved.notna() & (approved < notified), "approved_on",
                "approved on or after its notice", [*show, "notified_on", "approved_on"])
    judged = []
    for row in _named(moves).itertuples(index=False):
        try:
            judged.append(judge_move(row, program))
        except ParameterError as exc:
            raise InputValidationError(f"{table}: move {row.move_id!r}: {exc}") from None
    out = moves[MOVE_COLUMNS].reset_index(drop=True).copy()
    out["threshold_usd"] = [m.threshold_cents / 100 for m in judged]
    out["needs"] = [ADVANCE_NOTICE if m.kind == "allocation change" and m.needs == APPROVAL else m.needs
                    for m in judged]
    out["allowed"] = [m.allowed for m in judged]
    out["reasons"] = ["; ".join(m.reasons) for m in judged]
    missing = (((out["needs"] == APPROVAL) & approved.isna().to_numpy())
               | ((out["needs"] == ADVANCE_NOTICE) & notified.isna().to_numpy()))
    out["flagged"] = ~out["allowed"] | missing
    return out


def move_allowances(moves: pd.DataFrame, program: Program) -> pd.DataFrame:
    """The authority each recorded move adds to its target and takes from its source, per stream and budget period.

    A move's demonstration year (an SFY) is spread over the ACO budget periods as Exhibit 1's
    authority is (``Calendar.split_sfy_amounts``); a carry-forward's target is the next year of
    its stream, a shift stays in statewide investments, and a redistribution without a source
    (undistributed funds) only adds.

    Returns
    -------
    DataFrame
        ``stream, budget_period, amount_usd`` (negative for a source), for ``build_ledger``'s
        ``allowances``.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 1.4 (Exhibit 1), Sec 3.1.1, Sec 4.6, 4.7, 5.1.3.
    """
    calendar, rows = program.calendar, []
    for move in _named(moves).itertuples(index=False):
        dy = int(move.demonstration_year)
        to_dy = dy + 1 if move.kind == "carry_forward" else dy
        sides = [(move.to_stream or move.from_stream, to_dy, float(move.amount_usd))]
        if move.from_stream:
            sides.append((move.from_stream, dy, -float(move.amount_usd)))
        for stream, year, amount in sides:
            split = calendar.split_sfy_amounts({calendar.first_demonstration_sfy + year - 1: amount}, "aco")
            rows += [(stream, bp, usd) for bp, usd in split.items() if usd]
    return pd.DataFrame(rows, columns=["stream", "budget_period", "amount_usd"])

