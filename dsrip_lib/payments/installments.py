"""Installments: each budget period's allotment split into dated payments, in whole cents.

* ACO sub-streams (startup/ongoing, DSTI glide path) and statewide investments: quarterly;
* CP and CSA infrastructure: bi-annually;
* in the budget periods paid in their first half only (BP 5) the same months' installments carry
  the whole allotment (each twice what it would have been);
* the withheld part of each allotment is ``round(allotted x at-risk share)`` to the cent, and the
  paid and withheld parts are each split evenly with the remainder cents on the first
  installments, so installments sum exactly to the allotment (``dsrip_lib.exact.split_evenly``);
* an allotment with a preliminary amount (ACO startup/ongoing on preliminary member counts) pays
  its first installment on it and the later installments on the final allotment less the first
  (Sec 3.4.4.1).

An installment is dated the first day of the months it covers (the protocol states the
frequency, not the day).

References
----------
MassHealth DSRIP Protocol, Sec 3.4.4.1 (preliminary and final member counts), Sec 4.4.1 (line
559), Sec 4.4.3 (line 741), Sec 4.5.2, 4.5.5, 4.5.7
(bi-annual, BP 5 first half only), Sec 5.1.2 (Exhibits 20 and 22).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from dsrip_lib.errors import ParameterError
from dsrip_lib.exact import exact, split_evenly
from dsrip_lib.program import Program

QUARTERLY, BIANNUAL = "quarterly", "biannual"
PRELIMINARY = "preliminary_cents"
MONTHS_PER_YEAR = 12


def installment_dates(program: Program, kind: str, budget_period: int, schedule: str) -> tuple[dt.date, ...]:
    """First day of each installment of a budget period (``kind`` is the calendar: aco or cp).

    The period's months (only its first half in a first-half-only period) are cut into runs of
    ``12 / installments a year`` months; each run is one installment.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.1, Sec 4.5.2 (BP 5 first half only).
    """
    budget_period = int(budget_period)
    if schedule == QUARTERLY:
        block = program.require("aco_payments")
        per_year = block.installments_per_budget_period
    elif schedule == BIANNUAL:
        block = program.require("cp_payments")
        per_year = block.infrastructure_installments_per_budget_period
    else:
        raise ParameterError(f"unknown installment schedule {schedule!r}; expected {QUARTERLY!r} or {BIANNUAL!r}")
    if MONTHS_PER_YEAR % per_year:
        raise ParameterError(f"{per_year} installments a year do not divide the year into whole months")
    months = program.calendar.budget_period(budget_period, kind).months
    if budget_period in block.first_half_only_budget_periods:
        months = months[:len(months) // 2]
    return tuple(months[::MONTHS_PER_YEAR // per_year])


def withheld_cents(allotted_cents: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """``allotted x share`` rounded half up to the cent, with each share read exactly (0.05 is 1/20)."""
    allotted_cents = np.asarray(allotted_cents, dtype=np.int64)
    out = np.zeros(len(allotted_cents), dtype=np.int64)
    for share in np.unique(shares):
        ratio = exact(float(share))
        rows = shares == share
        if max(int(np.abs(allotted_cents[rows]).max(initial=0)) * ratio.numerator, ratio.denominator) < 2 ** 60:
            out[rows] = (2 * allotted_cents[rows] * ratio.numerator + ratio.denominator) // (2 * ratio.denominator)
        else:  # a share with many decimals: Python integers, which cannot overflow
            out[rows] = [(2 * int(a) * ratio.numerator + ratio.denominator) // (2 * ratio.denominator)
                         for a in allotted_cents[rows]]
    return out


def schedule_installments(allotments: pd.DataFrame, program: Program) -> pd.DataFrame:
    """One row per installment of each allotment, with its date and its paid and withheld cents.

    Parameters
    ----------
    allotments : DataFrame
        ``entity_id, sub_stream, budget_period, calendar, schedule, at_risk_share, allotted_cents``
        (further columns are carried); ``schedule`` is ``quarterly`` or ``biannual``. An optional
        ``preliminary_cents`` (the allotment on preliminary member counts, NaN where none) pays
        the first installment on it and adjusts the later ones to the final allotment (Sec
        3.4.4.1).
    program : Program
        ``aco_payments`` and ``cp_payments`` (installments a year, first-half-only periods) and
        the calendar.

    Returns
    -------
    DataFrame
        The allotment's columns plus ``installment`` (1, 2, ...), ``date``, ``allotted_cents``
        (of the installment), ``paid_cents``, ``withheld_cents`` and ``returned_cents`` (a first
        installment's overpayment on preliminary counts, else 0); per allotment the installments'
        ``paid_cents + withheld_cents - returned_cents`` sum to its ``allotted_cents`` exactly.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.1, 4.4.3, 4.5.2, 4.5.5, 4.5.7; Sec 5.1.2 (Exhibits 20, 22).
    """
    rows = allotments.reset_index(drop=True)
    keys = list(zip(rows["calendar"], rows["budget_period"].astype(int), rows["schedule"]))
    known = {key: installment_dates(program, *key) for key in set(keys)}
    dates = [known[key] for key in keys]
    parts = np.array([len(d) for d in dates], dtype=np.int64)
    total = rows["allotted_cents"].to_numpy(dtype=np.int64)
    withheld = withheld_cents(total, rows["at_risk_share"].to_numpy(dtype="float64"))
    out = rows.loc[np.repeat(rows.index.to_numpy(), parts)].drop(columns="allotted_cents").reset_index(drop=True)
    out["installment"] = np.arange(int(parts.sum())) - np.repeat(np.cumsum(parts) - parts, parts) + 1
    out["date"] = pd.to_datetime([d for run in dates for d in run])
    out["paid_cents"] = split_evenly(total - withheld, parts)
    out["withheld_cents"] = split_evenly(withheld, parts)
    out["returned_cents"] = np.zeros(len(out), dtype=np.int64)
    if PRELIMINARY in rows:
        _true_up(out, rows, parts, total, withheld)
    out["allotted_cents"] = out["paid_cents"] + out["withheld_cents"] - out["returned_cents"]
    return out.drop(columns=[PRELIMINARY], errors="ignore")


def _true_up(out: pd.DataFrame, rows: pd.DataFrame, parts: np.ndarray, total: np.ndarray, withheld: np.ndarray
             ) -> None:
    """First installment on the preliminary allotment, the later ones on the final allotment less it.

    The first installment is what an even split of the preliminary allotment would have paid and
    withheld. The later installments share the final paid and withheld parts less the first's. A
    first installment paying more than the whole final paid part cannot be adjusted in later
    installments: their paid parts are 0 and the excess is ``returned_cents`` on the second
    installment; its withheld part is restated to at most the final withheld part (a withheld
    amount is a book amount, not cash).
    """
    prelim = rows[PRELIMINARY].to_numpy(dtype="float64")
    rows_on = ~np.isnan(prelim) & (parts >= 2)
    if not rows_on.any():
        return
    n = parts[rows_on]
    p_total = prelim[rows_on].astype(np.int64)
    p_withheld = withheld_cents(p_total, rows["at_risk_share"].to_numpy(dtype="float64")[rows_on])
    first_paid = -(-(p_total - p_withheld) // n)  # an even split's first part (remainder cents first)
    final_withheld = withheld[rows_on]
    final_paid = total[rows_on] - final_withheld
    first_withheld = np.minimum(-(-p_withheld // n), final_withheld)
    first = (out["installment"] == 1).to_numpy()
    on = np.repeat(rows_on, parts)
    paid, held, back = (out[c].to_numpy().copy() for c in ("paid_cents", "withheld_cents", "returned_cents"))
    paid[on & first], held[on & first] = first_paid, first_withheld
    paid[on & ~first] = split_evenly(np.maximum(final_paid - first_paid, 0), n - 1)
    held[on & ~first] = split_evenly(final_withheld - first_withheld, n - 1)
    back[on & (out["installment"] == 2).to_numpy()] = np.maximum(first_paid - final_paid, 0)
    out["paid_cents"], out["withheld_cents"], out["returned_cents"] = paid, held, back
