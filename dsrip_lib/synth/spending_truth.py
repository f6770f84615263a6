"""What the generator planted in spending: the State's expected percent reduction, written to truth.json.

The expectation is computed from the planted means (eligibility-group PMPM x cost level x the
losing ACO's multiplier, per member-year), the generated populations' member-months and the
generated DSTI payments, independently of ``dsrip_lib.spending``, so that the spending-growth
chain can be tested against it within a sampling tolerance.

References
----------
MassHealth DSRIP Protocol, Sec 5.2.1.2 (the reduction in State spending growth, steps 1-8) and
Exhibit 27; Sec 4.4.3 and Exhibit 10 (DSTI payments by SFY).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from dsrip_lib.synth.claims import Claims
from dsrip_lib.synth.config import N_MONTHS_PER_YEAR, Config
from dsrip_lib.synth.population import Block

ELIGIBLE, ACO = 0, 1          # populations
SPEND, MONTHS = 0, 1          # sums


def expected_sums(cfg: Config, block: Block, claims: Claims) -> np.ndarray:
    """Planted mean spending and member-months of the block, (sum, population, group, year).

    A member-year's expected cost is shared among its months like the chain shares spending
    (by enrolled months): the ACO population gets the share of its months in an ACO.
    """
    n_years, n_groups = cfg.calendar.n_years, len(cfg.groups)
    months_in = block.enrolled.reshape(block.n, n_years, N_MONTHS_PER_YEAR).sum(axis=2)
    aco_months = ((block.aco >= 0) & block.enrolled).reshape(block.n, n_years, N_MONTHS_PER_YEAR).sum(axis=2)
    eligible = cfg.aco_eligible(block.group)[:, None]
    aco_spend = claims.expected * aco_months / np.maximum(months_in, 1)
    cell = np.broadcast_to(block.group[:, None] * n_years + np.arange(n_years)[None, :], months_in.shape)
    out = np.zeros((2, 2, n_groups * n_years))
    for pop, (spend, months) in enumerate(((claims.expected * eligible, months_in * eligible),
                                           (aco_spend, aco_months))):
        out[SPEND, pop] = np.bincount(cell.ravel(), spend.ravel(), minlength=n_groups * n_years)
        out[MONTHS, pop] = np.bincount(cell.ravel(), months.ravel(), minlength=n_groups * n_years)
    return out.reshape(2, 2, n_groups, n_years)


def dsti_by_year(cfg: Config, payments: pd.DataFrame) -> dict[int, float]:
    """DSTI payments per calendar year: each SFY's amount spread evenly over its twelve months.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 (DSTI payments made during the CY), Sec 4.4.3.
    """
    cal = cfg.program.calendar
    by_sfy = payments.groupby("sfy")["amount"].sum()
    years = cfg.calendar.first_year + np.arange(cfg.calendar.n_years)
    return {int(y): float(sum(by_sfy.get(cal.sfy_of(dt.date(int(y), m, 1)), 0.0) for m in range(1, 13))
                          / N_MONTHS_PER_YEAR) for y in years}


def expected_reduction(cfg: Config, sums: np.ndarray, dsti: dict[int, float]) -> dict[str, dict[str, float]]:
    """The State's expected percent reduction per measurement year, step by step as the chain defines it.

    Baseline = CY2017 ACO-eligible expected PMPM per group, trended at the program's rate and
    weighted by the ACO population's member-month mix of the year; actual = the ACO population's
    expected PMPM (expected normalised risk 1: risk scores do not depend on the ACO) less the DSTI
    savings PMPM, (CY2017 DSTI - the year's) / the year's ACO member-months.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 (steps 1-8), Appendix C step 2.
    """
    program = cfg.program
    rate = program.state_accountability.spending_growth.trend_rate
    base_year = program.calendar.baseline_year
    years = cfg.calendar.first_year + np.arange(cfg.calendar.n_years)
    groups = cfg.aco_eligible(np.arange(len(cfg.groups)))
    spend, months = sums[SPEND][:, groups], sums[MONTHS][:, groups]
    b = list(years).index(base_year)
    baseline = spend[ELIGIBLE, :, b] / months[ELIGIBLE, :, b]
    out = {}
    for k, year in enumerate(years):
        aco_months = months[ACO, :, k]
        if year <= base_year or not aco_months.sum():
            continue
        mix = aco_months / aco_months.sum()
        trended = float((mix * baseline).sum() * (1 + rate) ** (year - base_year))
        aco_pmpm = float(spend[ACO, :, k].sum() / aco_months.sum())
        dsti_pmpm = (dsti[base_year] - dsti[int(year)]) / aco_months.sum()
        out[str(year)] = {"average_trended_pmpm": trended, "aco_pmpm": aco_pmpm, "dsti_savings_pmpm": dsti_pmpm,
                          "percent_reduction": 1 - (aco_pmpm - dsti_pmpm) / trended}
    return out
