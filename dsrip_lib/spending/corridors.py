"""Partnership-Plan risk corridors: banded State and plan shares of medical gains and losses.

An Accountable Care Partnership Plan's result is its risk-adjusted medical capitation minus
its total medical expense: a medical gain, or (negative) a medical loss. A risk corridor
splits that result by bands of its size as a share of capitation: in each band the State
takes a share of the gain (or bears a share of the loss) that falls in the band, the plan
keeps the rest. The protocol refers to these corridors without publishing them, so the
bands in ``params/program/masshealth_dsrip.yaml:partnership_plan_risk_corridors`` are
illustrative. The TCOC component the same comparison yields is
``dsrip_lib/spending/tcoc_component.py::partnership_tcoc_component``.

References
----------
MassHealth DSRIP Protocol, Sec 5.3.2, step 4 (line 1875): total medical expense against
risk-adjusted medical capitation, "following an aligned methodology with how the State applies
risk corridors to Partnership Plans"; administrative and underwriting gains or losses excluded.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from dsrip_lib.errors import InputValidationError
from dsrip_lib.exact import exact
from dsrip_lib.program import Program
from dsrip_lib.program.settlement import RiskCorridors

INPUT_COLUMNS = ("entity_id", "medical_capitation_usd", "medical_expense_usd")
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class CorridorResult:
    """Each plan's gain or loss and its split, in total (``plans``) and by band (``bands``).

    ``plans``: ``entity_id, medical_capitation_usd, medical_expense_usd, gain_usd`` (negative
    for a loss), ``gain_share`` (of capitation), ``state_usd`` and ``plan_usd`` (signed as
    the gain: the State's share of a gain is positive, its share of a loss negative;
    ``state_usd + plan_usd = gain_usd``). ``bands``: one row per plan and band, ``entity_id,
    band, from_share, to_share`` (NaN for the last, unbounded band; ``band`` says "and over"), ``in_band_usd, state_share, state_usd,
    plan_usd``, for the side (gain or loss) the plan is on.
    """

    plans: pd.DataFrame
    bands: pd.DataFrame

    def summary(self) -> str:
        p = self.plans
        return (f"Risk corridors: {len(p)} Partnership Plans, {int((p['gain_usd'] > 0).sum())} with medical gains "
                f"(${p.loc[p['gain_usd'] > 0, 'gain_usd'].sum():,.2f}), {int((p['gain_usd'] < 0).sum())} with losses "
                f"(${-p.loc[p['gain_usd'] < 0, 'gain_usd'].sum():,.2f}); State share ${p['state_usd'].sum():,.2f}, "
                f"plans' share ${p['plan_usd'].sum():,.2f}")


def apply_corridors(plans: pd.DataFrame, corridors: RiskCorridors | Program) -> CorridorResult:
    """Split each Partnership Plan's medical gain or loss between the State and the plan by band.

    Parameters
    ----------
    plans : DataFrame
        ``entity_id, medical_capitation_usd`` (risk-adjusted, > 0) and
        ``medical_expense_usd`` (total medical expense, >= 0), one row per plan.
    corridors : RiskCorridors or Program
        The bands, or a program with a ``partnership_plan_risk_corridors`` block.

    Returns
    -------
    CorridorResult
        Dollars to the cent; each band's split is exact before rounding, and the plan's
        share is the gain minus the State's, so the two add up to the gain.

    Raises
    ------
    InputValidationError
        A missing column, a duplicated plan, a capitation that is not positive or an
        expense that is negative or missing; the message names the plans.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.2, step 4.
    """
    if isinstance(corridors, Program):
        corridors = corridors.require("partnership_plan_risk_corridors")
    _check(plans)
    totals, rows = [], []
    for plan in plans.itertuples(index=False):
        capitation = round(exact(float(plan.medical_capitation_usd)) * 100)
        gain = capitation - round(exact(float(plan.medical_expense_usd)) * 100)
        size, sign, state = abs(gain), (1 if gain >= 0 else -1), Fraction(0)
        low = Fraction(0)
        for band in corridors.bands:
            high = None if band.up_to_share is None else exact(band.up_to_share)
            top = size if high is None else min(size, high * capitation)
            in_band = max(top - low * capitation, 0)
            share = exact(band.state_share_of_gains if gain >= 0 else band.state_share_of_losses)
            state += share * in_band
            rows.append({"entity_id": plan.entity_id, "band": _label(low, high), "from_share": float(low),
                         "to_share": None if high is None else float(high), "in_band_usd": float(sign * in_band) / 100,
                         "state_share": float(share), "state_usd": sign * round(share * in_band) / 100,
                         "plan_usd": float(sign * (in_band - round(share * in_band))) / 100})
            low = high if high is not None else low
        state_cents = sign * round(state)
        totals.append({"gain_usd": gain / 100, "gain_share": gain / capitation, "state_usd": state_cents / 100,
                       "plan_usd": (gain - state_cents) / 100})
    out = plans[list(INPUT_COLUMNS)].reset_index(drop=True).join(pd.DataFrame.from_records(totals))
    return CorridorResult(out, pd.DataFrame.from_records(rows))


def _label(low: Fraction, high: Fraction | None) -> str:
    return f"{float(low):.1%} and over" if high is None else f"{float(low):.1%} to {float(high):.1%}"


def _check(plans: pd.DataFrame) -> None:
    missing = [c for c in INPUT_COLUMNS if c not in plans.columns]
    if missing:
        raise InputValidationError(f"risk corridor input: missing column(s) {missing}; expected {list(INPUT_COLUMNS)}")
    capitation = pd.to_numeric(plans["medical_capitation_usd"], errors="coerce").astype("float64")
    expense = pd.to_numeric(plans["medical_expense_usd"], errors="coerce").astype("float64")
    rules = {
        "entity_id: must be unique": plans["entity_id"].duplicated(keep=False),
        "medical_capitation_usd: must be a positive number": ~(capitation > 0) | ~np.isfinite(capitation),
        "medical_expense_usd: must be a number >= 0": ~(expense >= 0) | ~np.isfinite(expense),
    }
    for rule, bad in rules.items():
        if bad.any():
            rows = plans.loc[bad, list(INPUT_COLUMNS)].head(MAX_EXAMPLES).to_dict("records")
            raise InputValidationError(f"risk corridor input, column {rule}; {int(bad.sum())} plan(s), e.g. {rows}")
