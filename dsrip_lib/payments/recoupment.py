"""Lost expenditure authority: where it is applied, how it meets undistributed funds, who pays it back.

* a budget period's lost authority is reflected in a later period's authority, or, with no
  later period left, recouped (or paid back to CMS) (Sec 5.1.1);
* the three cases of Sec 5.1.3 compare the funds ACOs, CPs and CSAs did not earn with the
  reduction;
* a recoupment is split between the ACO and CP classes by the Table F shares, and within the
  ACOs in proportion to each ACO's 1 - Accountability Score; the CP/CSA method is a parameter
  with the same default (Sec 5.1.1).

Money is in whole cents; parts are split by largest remainder (:func:`dsrip_lib.exact.allocate_cents`)
so they add up to the whole exactly.

References
----------
MassHealth DSRIP Protocol, Sec 5.1.1 and 5.1.3; Table F of STC 57(e) (Sec 4.1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

import numpy as np
import pandas as pd

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.accountability.state import musd_cents
from dsrip_lib.exact import allocate_cents
from dsrip_lib.inputs.frame_checks import require_columns, require_in_range, require_unique
from dsrip_lib.program import Program

ACO_CLASS, CP_CLASS = "aco", "community_partners"
CP_METHODS = ("shortfall", "equal")
RECOUPED, NEXT_PERIOD = "recouped", "later budget period"


def to_cents(usd: float) -> int:
    """Dollars as whole cents, half-up (an amount given in dollars, e.g. a lost authority)."""
    if isinstance(usd, bool) or not (isinstance(usd, (int, float)) and math.isfinite(usd)):
        raise InputValidationError(f"an amount in dollars must be a finite number, got {usd!r}")
    value = Decimal(repr(float(usd))) * 100
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# -- where a reduction is applied (Sec 5.1.1) ------------------------------------------------------
@dataclass(frozen=True)
class ReductionApplication:
    """Where budget period ``budget_period``'s lost authority goes.

    ``applied_to`` is the later budget period whose authority it reduces (Exhibit 24), or None
    when none is left and the State recoups it, pays CMS back or finds other savings.
    """

    budget_period: int
    lost_cents: int
    applied_to: int | None
    authority_before_cents: int | None = None

    @property
    def how(self) -> str:
        return RECOUPED if self.applied_to is None else NEXT_PERIOD

    @property
    def authority_after_cents(self) -> int | None:
        return None if self.authority_before_cents is None else self.authority_before_cents - self.lost_cents

    def summary(self) -> str:
        lost = f"${self.lost_cents / 100:,.2f}"
        if self.applied_to is None:
            return (f"BP {self.budget_period}: {lost} lost; no later budget period remains, so it is recouped from "
                    "recipients, paid back to CMS or met by other DSRIP savings (Sec 5.1.1)")
        return (f"BP {self.budget_period}: {lost} lost, subtracted from BP {self.applied_to}'s authority "
                f"${self.authority_before_cents / 100:,.2f} -> ${self.authority_after_cents / 100:,.2f} (Sec 5.1.1)")


def apply_reduction(lost_cents: int, bp: int, program: Program) -> ReductionApplication:
    """Where the authority lost in ``bp`` is applied: the budget period the program's lag later, else recouped.

    Raises
    ------
    ParameterError
        A negative amount, or one larger than the later period's authority.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.1.1 (BP 2's reduction reflected in BP 4's authority; BP 4
    and 5 recouped or paid back).
    """
    if lost_cents < 0:
        raise ParameterError(f"lost authority must not be negative, got {lost_cents} cents")
    later = bp + program.require("reallocation").reduction_applied_after_periods
    if later not in program.calendar.period_numbers:
        return ReductionApplication(bp, int(lost_cents), None)
    column = program.require("state_accountability").authority_of(later)
    before = musd_cents(column.authority_musd)
    if lost_cents > before:
        raise ParameterError(f"lost authority {lost_cents / 100:,.2f} exceeds BP {later}'s authority")
    return ReductionApplication(bp, int(lost_cents), later, before)


# -- the three cases (Sec 5.1.3) -------------------------------------------------------------------
CASE_TEXT = {
    "not_reduced": "The State's authority is not reduced: it may redistribute all undistributed funds to the "
                   "allowed streams (Sec 5.1.3).",
    "equal": "Undistributed funds equal the reduction: withholding them from ACOs, CPs and CSAs meets it; other "
             "payments are made as planned.",
    "exceeds": "Undistributed funds exceed the reduction: withholding them meets it, and the excess may be "
               "redistributed to the allowed streams.",
    "less": "Undistributed funds fall short of the reduction: the State reduces streams in an upcoming budget "
            "period, recoups from recipients, or pays CMS back the remainder.",
}


@dataclass(frozen=True)
class DistributionCase:
    """Sec 5.1.3: undistributed (unearned) funds against the State's authority reduction, in cents."""

    undistributed_cents: int
    reduction_cents: int

    def __post_init__(self):
        if self.undistributed_cents < 0 or self.reduction_cents < 0:
            raise ParameterError("undistributed funds and the reduction must not be negative")

    @property
    def case(self) -> Literal["not_reduced", "equal", "exceeds", "less"]:
        if self.reduction_cents == 0:
            return "not_reduced"
        if self.undistributed_cents == self.reduction_cents:
            return "equal"
        return "exceeds" if self.undistributed_cents > self.reduction_cents else "less"

    @property
    def redistributable_cents(self) -> int:
        """Undistributed funds left after meeting the reduction (Sec 5.1.3, first two cases)."""
        return max(self.undistributed_cents - self.reduction_cents, 0)

    @property
    def shortfall_cents(self) -> int:
        """Reduction not met by undistributed funds: reduce later streams, recoup or pay back."""
        return max(self.reduction_cents - self.undistributed_cents, 0)

    def summary(self) -> str:
        return (f"undistributed ${self.undistributed_cents / 100:,.2f}, reduction ${self.reduction_cents / 100:,.2f}: "
                f"{CASE_TEXT[self.case]}")


# -- the recoupment split (Sec 5.1.1) ---------------------------------------------------------------
@dataclass(frozen=True)
class Recoupment:
    """A recoupment split between the ACO and CP classes and within them.

    ``rows``: ``entity_id, entity_class, accountability_score, weight, recouped_cents`` per
    entity. ``classes``: ``entity_class, share, amount_cents, allocated_cents,
    unallocated_cents, note`` -- a class's amount stays unallocated (and says why) when no
    entity of it has a positive weight (e.g. every ACO scored 100%).
    """

    total_cents: int
    rows: pd.DataFrame = field(repr=False)
    classes: pd.DataFrame = field(repr=False)

    def table(self) -> pd.DataFrame:
        return self.rows.assign(recouped_usd=self.rows["recouped_cents"] / 100)

    def summary(self) -> str:
        lines = [f"Recoupment of ${self.total_cents / 100:,.2f} (Sec 5.1.1)"]
        for row in self.classes.itertuples():
            lines.append(f"  {row.entity_class:<20} {row.share:6.1%}  ${row.amount_cents / 100:,.2f}"
                         + (f"  unallocated ${row.unallocated_cents / 100:,.2f}: {row.note}" if row.unallocated_cents
                            else ""))
        return "\n".join(lines)


def class_split(total_cents: int, program: Program) -> dict[str, int]:
    """Cents of a recoupment per class (ACOs, CPs) by the Table F shares (66.1% / 33.9%).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.1.1; Table F of STC 57(e).
    """
    shares = program.require("funding").table_f.shares
    parts = allocate_cents(total_cents, list(shares.values()), list(shares))
    return dict(zip(shares, (int(p) for p in parts)))


def recoup(total_cents: int, aco_scores: pd.DataFrame, cp_scores: pd.DataFrame | None, program: Program, *,
           cp_method: str = "shortfall") -> Recoupment:
    """Split a recoupment between ACOs and CPs/CSAs and among the entities of each class.

    Parameters
    ----------
    total_cents : int
        The amount to recoup, in cents.
    aco_scores, cp_scores : DataFrame
        ``entity_id, accountability_score`` (in [0, 1]) of the budget period's ACOs and of its
        CPs and CSAs (the CP stream of Table F includes CSAs); ``cp_scores`` may be None.
    program : Program
        Supplies the Table F shares.
    cp_method : {"shortfall", "equal"}
        How the CP class's amount is divided: like the ACOs', in proportion to 1 - score
        (default), or equally. The protocol lets the State choose another method (Sec 5.1.1).

    Raises
    ------
    ParameterError
        A negative total or an unknown ``cp_method``.
    InputValidationError
        A missing column, a duplicate entity or a score outside [0, 1].

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.1.1 (the $100 example: $66.10 to the ACOs, then $13.22 and
    $52.88 for scores of 90% and 60%).
    """
    if total_cents < 0:
        raise ParameterError(f"a recoupment must not be negative, got {total_cents} cents")
    if cp_method not in CP_METHODS:
        raise ParameterError(f"cp_method={cp_method!r} is not one of {CP_METHODS}")
    amounts = class_split(int(total_cents), program)
    frames, classes = [], []
    for entity_class, scores, method in ((ACO_CLASS, aco_scores, "shortfall"), (CP_CLASS, cp_scores, cp_method)):
        rows = _checked(scores, entity_class)
        rows["weight"] = [Decimal(1) - Decimal(repr(float(s))) if method == "shortfall" else Decimal(1)
                          for s in rows["accountability_score"]]
        amount = amounts.get(entity_class, 0)
        has_weight = any(w > 0 for w in rows["weight"])
        parts = (allocate_cents(amount, list(rows["weight"]), rows["entity_id"].tolist())
                 if has_weight else np.zeros(len(rows), dtype=np.int64))
        rows["weight"] = rows["weight"].astype(float)
        rows["recouped_cents"] = parts
        frames.append(rows.assign(entity_class=entity_class))
        note = "" if has_weight or amount == 0 else (
            "no entity of the class" if rows.empty else "every entity scored 100%: 1 - score weights nobody")
        classes.append({"entity_class": entity_class, "share": program.funding.table_f.shares[entity_class],
                        "amount_cents": amount, "allocated_cents": int(parts.sum()),
                        "unallocated_cents": amount - int(parts.sum()), "note": note})
    rows = pd.concat(frames, ignore_index=True)[["entity_id", "entity_class", "accountability_score", "weight",
                                                 "recouped_cents"]]
    return Recoupment(int(total_cents), rows, pd.DataFrame(classes))


def _checked(scores: pd.DataFrame | None, entity_class: str) -> pd.DataFrame:
    name = f"{entity_class} accountability scores"
    if scores is None:
        return pd.DataFrame({"entity_id": pd.Series(dtype=str), "accountability_score": pd.Series(dtype=float)})
    require_columns(scores, name, ("entity_id", "accountability_score"))
    require_unique(scores, name, ["entity_id"])
    require_in_range(scores, name, "accountability_score", 0, 1, ["entity_id"])
    rows = scores[["entity_id", "accountability_score"]].astype({"entity_id": str, "accountability_score": float})
    return rows.sort_values("entity_id", ignore_index=True)
