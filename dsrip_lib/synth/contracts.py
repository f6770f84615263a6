"""The synthetic state's DSTI hospital-to-ACO contracts and CSA caseloads (optional contract tables).

* ``dsti_contracts``: each DSTI hospital contracts with one ACO that had joined by the
  Preparation Budget Period, drawn by ACO size (large ACOs attract the safety-net hospitals). Three
  hospitals are planted: one signs late (no contract in Prep), one lets its contract lapse (none in
  BP 5) and one switches to another ACO from BP 3. The hospital-periods left without a contract go
  to ``truth.json`` (``effects.dsti_contracts``): the ledger leaves exactly those at the State level.
* ``csa_caseload``: each CSA's members per month of CP/CSA budget periods 1-5 from its join
  period: the CSA's monthly average (its member-months in the entity tables' ``csa_group`` over
  the period's months) x a monthly factor ~ LogNormal(0, ``caseload_monthly_sd``), rounded.

Both come from a random stream of their own, so no other table changes.

References
----------
MassHealth DSRIP Protocol, Sec 4.4 (line 388) and Sec 4.4.3 (line 659: one ACO per DSTI hospital);
Sec 3.4.4.2 (CSA snapshots on actual caseload), Sec 4.5.7 and Exhibit 14.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dsrip_lib.synth.config import Config
from dsrip_lib.synth.entities import World
from dsrip_lib.synth.entity_tables import EntityGroup
from dsrip_lib.synth.writer import TableWriter

# spawn key of this module's random stream (capitation.py uses 1_000_001)
CONTRACTS_STREAM = 1_000_002
LATE, LAPSED, SWITCHED = "late", "lapsed", "switched"
SWITCH_BUDGET_PERIOD = 3


def dsti_contracts(cfg: Config, rng: np.random.Generator, world: World, dsti: pd.DataFrame
                   ) -> tuple[pd.DataFrame, dict]:
    """The ``dsti_contracts`` table and its truth: the planted hospitals, the hospital-periods with
    glide-path funds (``dsti``: the ``dsti_payments`` table, split over budget periods as Exhibit 11
    is from Exhibit 10) that no contract covers, and how many are covered."""
    periods = sorted(cfg.calendar.budget_periods)
    first, last = periods[0], periods[-1]
    calendar = cfg.program.calendar
    demonstration = dsti[dsti["sfy"] >= calendar.first_demonstration_sfy]
    funded = {(h, bp) for h, rows in demonstration.groupby("hospital")
              for bp, amount in calendar.split_sfy_amounts(dict(zip(rows["sfy"], rows["amount"])), "aco").items()
              if amount > 0}
    hospitals = sorted({h for h, _ in funded})
    joins = world.entities.set_index("entity_id")["join_budget_period"]
    early = np.flatnonzero(joins[world.aco_ids].to_numpy() <= first)
    weight = world.aco_weight[early] / world.aco_weight[early].sum()
    chosen = rng.choice(early, size=len(hospitals), p=weight)
    # the late and lapsed hospitals have funds in the period they go without a contract
    late = rng.choice([h for h, name in enumerate(hospitals) if (name, first) in funded])
    lapsed = rng.choice([h for h, name in enumerate(hospitals) if (name, last) in funded and h != late])
    switched = rng.choice([h for h in range(len(hospitals)) if h not in (late, lapsed)])
    rows = []
    for h, (hospital, aco) in enumerate(zip(hospitals, chosen)):
        start = first + 1 if h == late else first
        end = last - 1 if h == lapsed else last
        if h == switched:
            other = rng.choice([a for a in early if a != aco])
            rows += [(hospital, world.aco_ids[aco], start, SWITCH_BUDGET_PERIOD - 1),
                     (hospital, world.aco_ids[other], SWITCH_BUDGET_PERIOD, end)]
        else:
            rows.append((hospital, world.aco_ids[aco], start, end))
    table = pd.DataFrame(rows, columns=["hospital", "aco_id", "from_budget_period", "to_budget_period"])
    table = table.astype({"from_budget_period": "int64", "to_budget_period": "int64"})
    covered = {(h, bp) for h, f, t in zip(table["hospital"], table["from_budget_period"], table["to_budget_period"])
               for bp in range(f, t + 1)}
    truth = {
        LATE: hospitals[late], LAPSED: hospitals[lapsed], SWITCHED: hospitals[switched],
        "uncontracted_hospital_periods": sorted([h, int(bp)] for h, bp in funded - covered),
        "contracted_hospital_periods": len(funded & covered),
    }
    return table, truth


def csa_caseload(cfg: Config, rng: np.random.Generator, csas: EntityGroup, join: dict[str, int]
                 ) -> tuple[pd.DataFrame, dict]:
    """The ``csa_caseload`` table and its truth (member-months per CSA and CP/CSA budget period).

    ``csas``: the entity tables' CSA group (member-months per CSA and CP/CSA budget period);
    ``join``: each CSA's join budget period.
    """
    sd = cfg.calibration["payments"]["csa_caseload_monthly_sd"]
    bp_of_month = cfg.calendar.bp_of_month("cp")
    months = cfg.calendar.months
    length = np.bincount(bp_of_month[bp_of_month >= 0])
    rows = []
    for c, csa in enumerate(csas.ids):
        paid = np.flatnonzero(bp_of_month >= max(1, join[csa]))
        bp = bp_of_month[paid]
        average = csas.member_months[c, bp] / length[bp]
        members = np.rint(average * rng.lognormal(0.0, sd, len(paid))).astype("int64")
        rows.append(pd.DataFrame({"entity_id": csa, "month": months[paid], "members": members, "bp": bp}))
    table = pd.concat(rows, ignore_index=True)
    truth = {csa: {str(bp): int(n) for bp, n in mine.groupby("bp")["members"].sum().items()}
             for csa, mine in table.groupby("entity_id")}
    return table.drop(columns="bp"), {"member_months": truth}


def write_contract_tables(writer: TableWriter, cfg: Config, seed: int, world: World, csas: EntityGroup,
                          dsti: pd.DataFrame) -> dict:
    """Write ``dsti_contracts`` and ``csa_caseload``; return truth.json's ``effects`` entries for them."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(CONTRACTS_STREAM,)))
    contracts, contracts_truth = dsti_contracts(cfg, rng, world, dsti)
    joins = world.entities.set_index("entity_id")["join_budget_period"].astype(int).to_dict()
    caseload, caseload_truth = csa_caseload(cfg, rng, csas, joins)
    writer.write("dsti_contracts", contracts)
    writer.write("csa_caseload", caseload)
    return {"dsti_contracts": contracts_truth, "csa_caseload": caseload_truth}
