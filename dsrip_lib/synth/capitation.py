"""Partnership Plans' risk-adjusted medical capitation: the contract's optional ``medical_capitation`` table.

A model A ACO (an Accountable Care Partnership Plan) is paid a medical capitation per budget
period; its TCOC component compares its total medical expense with it (Sec 5.3.2, step 4). The
generator sets each plan's capitation to the plan's expected included medical cost, from the
planted means of its members (eligibility-group PMPM x the year's cost level, per member-month
in the plan: the risk adjustment a State's actuary would make), times a margin drawn around 1
(ILLUSTRATIVE, ``params/synth/synth.yaml:payments.capitation_margin``). The State does not
know the losing ACO's excess cost, so the capitation leaves it out and a losing Partnership
Plan shows medical losses. The planted values go to ``truth.json``.

References
----------
MassHealth DSRIP Protocol, Sec 5.3.2 (step 4: total medical expense against risk-adjusted
medical capitation payments), Sec 4.4.1 and Exhibit 8 (model A: Partnership Plans).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dsrip_lib.inputs.codes import PARTNERSHIP_PLAN_MODEL
from dsrip_lib.synth.claims import cost_level
from dsrip_lib.synth.config import N_MONTHS_PER_YEAR, Config
from dsrip_lib.synth.entities import World
from dsrip_lib.synth.population import Block

# spawn key of the margins' own random stream, apart from the organisations', the entity
# tables' and the blocks' (keys 0 .. blocks + 1), so no other table's draws move
CAPITATION_STREAM = 1_000_001


def included_share(cfg: Config) -> float:
    """Share of a member's planted mean cost that is included spending: all but the LTSS lines
    (Sec 5.2.1.2 excludes LTSS). Approximate: primary-care visits, never LTSS, come off the cost
    before the category mix, so the included share is slightly higher (about half a point)."""
    mix = cfg.costs["category_mix"]
    return 1 - mix.get("ltss", 0.0) / sum(mix.values())


def expected_medical_cost(cfg: Config, block: Block, shape: tuple[int, int]) -> np.ndarray:
    """Planted mean included cost of the block's member-months per ACO and ACO budget period, ``shape``
    (ACOs, periods), without the losing ACO's multiplier."""
    bp = cfg.calendar.bp_of_month()
    rows, months = np.nonzero((block.aco >= 0) & block.enrolled & (bp >= 0)[None, :])
    level = cost_level(cfg)[months // N_MONTHS_PER_YEAR]
    cost = cfg.group_param("pmpm")[block.group[rows]] * level * included_share(cfg)
    cell = block.aco[rows, months] * shape[1] + bp[months]
    return np.bincount(cell, cost, minlength=shape[0] * shape[1]).reshape(shape)


def medical_capitation(cfg: Config, world: World, expected: np.ndarray, seed: int) -> tuple[pd.DataFrame, dict]:
    """The ``medical_capitation`` table and its truth: every Partnership Plan and calendar-year
    budget period with member-months (the spending stage compares by calendar year).

    ``expected`` is the sum of :func:`expected_medical_cost` over blocks. The margins are drawn
    for every plan and period, with members or not, so that they do not depend on enrolment.
    """
    spec = cfg.calibration["payments"]["capitation_margin"]
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(CAPITATION_STREAM,)))
    periods = [n for n, (start, end) in sorted(cfg.calendar.budget_periods.items())
               if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year]
    plans = np.flatnonzero(world.aco_model == PARTNERSHIP_PLAN_MODEL)
    margins = rng.normal(spec["mean"], spec["sd"], (len(plans), len(periods)))
    rows, truth = [], {}
    for i, a in enumerate(plans):
        for j, period in enumerate(periods):
            if expected[a, period] <= 0:
                continue
            amount = round(float(expected[a, period] * margins[i, j]), 2)
            rows.append((world.aco_ids[a], period, amount))
            truth.setdefault(str(world.aco_ids[a]), {})[str(period)] = {
                "expected_medical_cost_usd": float(expected[a, period]), "margin": float(margins[i, j]),
                "medical_capitation_usd": amount}
    table = pd.DataFrame(rows, columns=["entity_id", "budget_period", "medical_capitation_usd"])
    return table, {"margin": dict(spec), "included_share": included_share(cfg), "plans": truth}
