"""Moving DSRIP money: redistribution of undistributed funds, carry forward, statewide-investment shifts.

Each function checks a proposed move against the protocol's limits and says whether it needs
CMS approval or only notice in the next quarterly report. Money is in whole cents.

References
----------
MassHealth DSRIP Protocol, Sec 4.6 (shifts among statewide investments), Sec 4.7 (carry
forward, STC 57(d)(iii)), Sec 5.1.3 (redistribution).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from dsrip_lib.accountability.state import musd_cents
from dsrip_lib.errors import ParameterError
from dsrip_lib.exact import allocate_cents, exact
from dsrip_lib.program import Program

APPROVAL, NOTICE = "CMS approval", "notice in the next quarterly report"


def redistribute(amount_cents: int, targets: Mapping[tuple[str, str], float], program: Program) -> pd.DataFrame:
    """Split undistributed funds over allowed (stream, sub-stream) targets in proportion to ``targets``' weights.

    Returns
    -------
    DataFrame
        ``stream, substream, weight, amount_cents``; amounts add up to ``amount_cents`` exactly.

    Raises
    ------
    ParameterError
        A target outside Sec 5.1.3's allowable categories (e.g. the DSTI glide path, or
        state operations), a negative weight, or no positive weight for a positive amount.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.1.3 (allowable categories for redistributed funds).
    """
    rules = program.require("reallocation")
    refused = [f"{s}/{sub}" for s, sub in targets if not rules.redistribution_allowed(s, sub)]
    if refused:
        raise ParameterError(f"redistribution to {refused} is not allowed; Sec 5.1.3 allows "
                             f"{dict(rules.redistribution_targets)}")
    keys = sorted(targets)
    try:
        parts = allocate_cents(amount_cents, [targets[k] for k in keys], keys)
    except ValueError as exc:
        raise ParameterError(f"redistribution: {exc}") from None
    return pd.DataFrame([{"stream": s, "substream": sub, "weight": float(targets[(s, sub)]), "amount_cents": int(c)}
                         for (s, sub), c in zip(keys, parts)])


@dataclass(frozen=True)
class Move:
    """A proposed carry forward or shift: whether it is allowed, and what it needs from CMS.

    ``threshold_cents`` is the amount above which CMS must approve; ``reasons`` says why a
    move is not allowed (empty when it is).
    """

    kind: str
    source: str
    target: str
    amount_cents: int
    threshold_cents: int
    reasons: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return not self.reasons

    @property
    def needs(self) -> str:
        """What the move needs: CMS approval when above the threshold, else notice."""
        return APPROVAL if self.amount_cents > self.threshold_cents else NOTICE

    def summary(self) -> str:
        verdict = f"needs {self.needs}" if self.allowed else "not allowed: " + "; ".join(self.reasons)
        return (f"{self.kind} ${self.amount_cents / 100:,.2f} from {self.source} to {self.target} "
                f"(threshold ${self.threshold_cents / 100:,.2f}): {verdict}")


def authority_by_dy(program: Program) -> dict[int, int]:
    """Each demonstration year's DSRIP expenditure authority (Exhibit 1's published column totals), in cents."""
    streams = program.require("funding").streams_by_dy
    totals = streams.column_totals or {dy: streams.column_sum(dy) for dy in streams.columns}
    return {dy: musd_cents(round(total, 6)) for dy, total in totals.items()}


def carry_forward(amount_cents: int, stream: str, substream: str, from_dy: int, program: Program, *,
                  authority: Mapping[int, int] | None = None) -> Move:
    """Carrying unspent authority of ``stream``/``substream`` from ``from_dy`` into the next year.

    * only streams with carry-forward authority (Sec 4.7's list);
    * more than the program's share (15%) of the prior year's expenditure authority needs CMS
      approval, otherwise notice in the next quarterly report (STC 57(d)(iii));
    * the last demonstration year's authority must not end above the year before's.

    Parameters
    ----------
    authority : mapping of int to int, optional
        Each year's authority in cents, as already changed by earlier moves; default Exhibit 1.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.7 (DSRIP carry forward).
    """
    funding, rules = program.require("funding"), program.require("reallocation")
    years = dict(authority or authority_by_dy(program))
    to_dy = from_dy + 1
    if from_dy not in years or to_dy not in years:
        raise ParameterError(f"no demonstration year {from_dy} followed by {to_dy}; years are {sorted(years)}")
    if amount_cents < 0:
        raise ParameterError(f"a carry-forward amount must not be negative, got {amount_cents} cents")
    reasons = []
    if not rules.carry_forward_allowed(stream, substream):
        reasons.append(f"{stream}/{substream} has no carry-forward authority (Sec 4.7)")
    if amount_cents > years[from_dy]:
        reasons.append(f"more than DY{from_dy}'s authority")
    threshold = _share_cents(funding.carry_forward_approval_share, years[from_dy])
    last, before_last = sorted(years)[-1], sorted(years)[-2]
    years[from_dy] -= amount_cents
    years[to_dy] += amount_cents
    if years[last] > years[before_last]:
        reasons.append(f"DY{last} authority ${years[last] / 100:,.2f} would exceed DY{before_last}'s "
                       f"${years[before_last] / 100:,.2f}")
    return Move("carry forward", f"DY{from_dy} {stream}/{substream}", f"DY{to_dy}", int(amount_cents), threshold,
                tuple(reasons))


def investment_shift(amount_cents: int, source: str, target: str, dy: int, program: Program) -> Move:
    """Shifting funding within demonstration year ``dy`` from one statewide investment to another.

    CMS must approve a shift greater than the larger of the program's share (15%) of the source
    investment's original Exhibit 15 funding and the program's amount ($1M); smaller shifts are
    reported in the quarterly report.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.6 (line 930 of the published text) and Exhibit 15.
    """
    funding = program.require("funding")
    table = funding.statewide_investments_by_dy
    for name in (source, target):
        if name not in table.rows:
            raise ParameterError(f"{name!r} is not a statewide investment of Exhibit 15 {sorted(table.rows)}")
    if dy not in table.columns:
        raise ParameterError(f"no demonstration year {dy} in Exhibit 15 (years {table.columns})")
    if amount_cents < 0:
        raise ParameterError(f"a shift must not be negative, got {amount_cents} cents")
    original = musd_cents(table.rows[source][dy])
    rule = funding.statewide_investment_shift_approval
    threshold = max(_share_cents(rule.share_of_original, original), musd_cents(rule.amount_musd))
    reasons = (f"more than {source}'s DY{dy} funding ${original / 100:,.2f}",) if amount_cents > original else ()
    return Move("statewide investment shift", f"DY{dy} {source}", target, int(amount_cents), threshold, reasons)


def _share_cents(share: float, cents: int) -> int:
    # The threshold itself; "more than" compares the amount with it exactly in whole cents, and a
    # fractional threshold cent rounds down (an amount above the exact threshold is above its floor).
    return int(exact(share) * cents)
