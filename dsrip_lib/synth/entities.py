"""Entities (ACOs, MCOs, CPs, CSAs), providers and the plans members enrol in.

References
----------
MassHealth DSRIP Protocol, Sec 1 and Sec 4.4.4 (ACO models A, B, C; MCOs; PCC plan),
Sec 4.4 and Exhibits 7-8 (safety-net categories, risk tracks), Sec 5.2.1.1 (providers paid
under APMs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dsrip_lib.inputs.codes import (
    ACO_ENTITY_TYPE,
    ACO_PLAN_TYPES,
    CP_ENTITY_TYPES,
    CSA_ENTITY_TYPE,
    FFS_PLAN_TYPE,
    MCO_ADMINISTERED_MODEL,
    MCO_ENTITY_TYPE,
    MCO_PLAN_TYPE,
    PCC_PLAN_ID,
    PCC_PLAN_TYPE,
    PROVIDER_TYPES,
)
from dsrip_lib.synth.config import Config

PLAN_TYPE_OF_MODEL = dict(zip(("A", "B"), ACO_PLAN_TYPES))
# provider types that can be paid under an APM or participate in an ACO (Sec 5.2.1.1); PCPs first
APM_PROVIDER_TYPES = ("pcp", "specialist", "hospital", "behavioral_health")
NPI_BASE = 1_000_000_000
FIRST_MEMBER_BP = 1    # ACOs have no enrolled or attributed members in the Prep period (Sec 4.4.2)
MIN_PCPS_PER_ACO = 2
ACO_SIZE_SIGMA = 0.7  # lognormal spread of ACO sizes (synthetic_magnitudes.md 1: 5k-150k around 50k)


@dataclass(frozen=True)
class Pools:
    """Index pools in CSR form: pool ``p`` is ``members[start[p]:start[p] + size[p]]``."""

    start: np.ndarray
    size: np.ndarray
    members: np.ndarray

    @classmethod
    def from_lists(cls, lists: list[np.ndarray]) -> Pools:
        size = np.array([len(x) for x in lists], dtype=np.int64)
        start = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
        members = np.concatenate(lists).astype(np.int64) if lists else np.zeros(0, np.int64)
        return cls(start, size, members)

    def draw(self, pool: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One uniform member of each requested pool (-1 where the pool is empty or -1)."""
        pool = np.asarray(pool)
        ok = pool >= 0
        size = np.where(ok, self.size[np.where(ok, pool, 0)], 0)
        pick = self.start[np.where(ok, pool, 0)] + np.floor(rng.random(pool.shape) * size).astype(np.int64)
        out = np.full(pool.shape, -1, dtype=np.int64)
        has = size > 0
        out[has] = self.members[pick[has]]
        return out


@dataclass(frozen=True)
class World:
    """The state's organisations: entity and provider tables plus the arrays the simulation needs.

    Plans are indexed 0..n_plans-1: one per model A/B ACO, one per MCO, then PCC, then FFS.
    """

    entities: pd.DataFrame
    providers: pd.DataFrame
    aco_ids: np.ndarray            # ACO index -> entity id
    aco_model: np.ndarray          # ACO index -> "A"/"B"/"C"
    aco_weight: np.ndarray         # ACO index -> relative size
    aco_first_bp: np.ndarray       # ACO index -> first budget period with members
    aco_mco: np.ndarray            # ACO index -> MCO index (model C), else -1
    mco_ids: np.ndarray
    cp_ids: np.ndarray
    cp_is_ltss: np.ndarray
    csa_ids: np.ndarray
    plan_type: np.ndarray          # plan index -> plan_type code
    plan_id: np.ndarray            # plan index -> enrollment plan_id (None for ffs)
    plan_aco: np.ndarray           # plan index -> ACO index for aco_a/aco_b, else -1
    plan_assign_id: np.ndarray     # plan index -> pcp_assignments.plan_id
    provider_type: np.ndarray
    provider_aco: np.ndarray       # provider index -> ACO index or -1
    provider_chc: np.ndarray
    provider_apm: np.ndarray
    npi: np.ndarray
    pcp_pools: Pools               # pool per plan (ACO plans: its PCPs; MCO/PCC: non-ACO PCPs) + per C ACO
    type_pools: Pools              # pool per (ACO or none) x provider type

    @property
    def n_plans(self) -> int:
        return len(self.plan_type)

    def plans_of(self, plan_type: str) -> np.ndarray:
        return np.flatnonzero(self.plan_type == plan_type)

    def c_pool(self, aco: np.ndarray) -> np.ndarray:
        """PCP pool index of model C ACOs (their participating PCPs)."""
        return self.n_plans + aco

    def type_pool(self, aco: np.ndarray, ptype: np.ndarray) -> np.ndarray:
        """Provider pool of ``ptype`` within ACO ``aco`` (aco = -1: every provider of the type)."""
        return (aco + 1) * len(PROVIDER_TYPES) + ptype


def _ids(prefix: str, n: int) -> np.ndarray:
    return np.array([f"{prefix}{i + 1:02d}" for i in range(n)], dtype=object)


def _exact_share(rng: np.random.Generator, among: np.ndarray, share: float) -> np.ndarray:
    """A random subset of exactly round(share x n) of the ``among`` providers: with a dozen
    hospitals, independent draws would make the adoption paths swing from seed to seed."""
    idx = np.flatnonzero(among)
    out = np.zeros(len(among), dtype=bool)
    out[rng.permutation(idx)[: int(round(share * len(idx)))]] = True
    return out


def build_world(cfg: Config, rng: np.random.Generator) -> World:
    """Draw the organisations of a synthetic state.

    ACO sizes are lognormal; risk tracks (Exhibit 8) and safety-net categories (Exhibit 7) are
    drawn from the program's; each model C ACO contracts with one MCO (round robin); ACOs join
    in the Preparation Budget Period except the profile's ``late_joiners`` last model B ACOs,
    which join in ``late_join_budget_period``. PCPs are split between ACOs (in
    proportion to size) and non-ACO practices; some are community health centres; APM
    arrangements follow ``params/synth/synth.yaml`` so that all three adoption paths occur.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4 (ACO models, Exhibits 7-8), Sec 4.4.4 (model C
    attribution through MCO PCP assignment), Sec 5.2.1.1 (APM-paid providers).
    """
    prof, pc = cfg.profile, cfg.providers
    models = np.array([m for m, n in prof.acos.items() for _ in range(n)])
    n_aco = len(models)
    aco_ids = _ids("ACO", n_aco)
    mco_ids = _ids("MCO", prof.mcos)
    weight = rng.lognormal(0.0, ACO_SIZE_SIGMA, n_aco)
    weight /= weight.sum()
    join_bp = np.zeros(n_aco, dtype=int)
    model_b = np.flatnonzero(models == "B")
    join_bp[model_b[len(model_b) - prof.late_joiners:]] = cfg.calibration["late_join_budget_period"]
    first_bp = np.maximum(join_bp, FIRST_MEMBER_BP)
    aco_mco = np.full(n_aco, -1)
    c_idx = np.flatnonzero(models == MCO_ADMINISTERED_MODEL)
    aco_mco[c_idx] = np.arange(len(c_idx)) % prof.mcos
    aco_pay = cfg.program.aco_payments
    tracks = {m: [a.risk_track for a in aco_pay.model_adjustments if a.model == m] for m in set(models)}
    risk_track = [tracks[m][rng.integers(len(tracks[m]))] for m in models]
    safety_net = rng.choice(sorted(aco_pay.safety_net_adjustment), n_aco)

    cp_ids = np.concatenate([_ids("BHCP", prof.cp_bh), _ids("LTSSCP", prof.cp_ltss)])
    cp_is_ltss = np.arange(len(cp_ids)) >= prof.cp_bh
    csa_ids = _ids("CSA", prof.csas)
    n_other = prof.mcos + len(cp_ids) + len(csa_ids)
    entities = pd.DataFrame({
        "entity_id": np.concatenate([aco_ids, mco_ids, cp_ids, csa_ids]),
        "entity_type": [ACO_ENTITY_TYPE] * n_aco + [MCO_ENTITY_TYPE] * prof.mcos
        + [CP_ENTITY_TYPES[int(x)] for x in cp_is_ltss] + [CSA_ENTITY_TYPE] * len(csa_ids),
        "name": [f"Synthetic ACO {i + 1:02d} (model {m})" for i, m in enumerate(models)]
        + [f"Synthetic MCO {i + 1}" for i in range(prof.mcos)]
        + [f"Synthetic {'LTSS' if x else 'BH'} Community Partner {i + 1:02d}" for i, x in enumerate(cp_is_ltss)]
        + [f"Synthetic Community Service Agency {i + 1:02d}" for i in range(len(csa_ids))],
        "aco_model": list(models) + [None] * n_other,
        "risk_track": pd.array(list(risk_track) + [None] * n_other, dtype="Int64"),
        "safety_net_category": pd.array(list(safety_net) + [None] * n_other, dtype="Int64"),
        "mco_id": [mco_ids[m] if m >= 0 else None for m in aco_mco] + [None] * n_other,
        "join_budget_period": list(join_bp) + [0] * prof.mcos + [1] * (len(cp_ids) + len(csa_ids)),
    })

    # providers
    # enough PCPs for every ACO's minimum and a non-ACO pool
    n_pcp = max(prof.members // prof.members_per_pcp, 4 * MIN_PCPS_PER_ACO * n_aco)
    counts = {"pcp": n_pcp, "hospital": max(prof.members // pc["members_per_hospital"], pc["min_hospitals"])}
    counts |= {t: max(int(round(n_pcp * r)), 3) for t, r in pc["per_pcp"].items()}
    ptype = np.concatenate([np.full(counts[t], i) for i, t in enumerate(PROVIDER_TYPES)])
    n_prov = len(ptype)
    is_pcp = ptype == PROVIDER_TYPES.index("pcp")
    # ACO participation: PCPs by ACO size (at least MIN_PCPS_PER_ACO each); others by a share
    p_aco = np.full(n_prov, -1)
    pcp_idx = np.flatnonzero(is_pcp)
    n_aco_pcp = int(round(pc["aco_pcp_share"] * n_pcp))
    per_aco = MIN_PCPS_PER_ACO + np.floor(weight * (n_aco_pcp - MIN_PCPS_PER_ACO * n_aco)).astype(int)
    p_aco[pcp_idx[: per_aco.sum()]] = np.repeat(np.arange(n_aco), per_aco)
    other = np.zeros(n_prov, dtype=bool)
    for t in APM_PROVIDER_TYPES[1:]:
        other |= _exact_share(rng, ptype == PROVIDER_TYPES.index(t), pc["aco_other_share"])
    p_aco[other] = rng.choice(n_aco, other.sum(), p=weight)
    chc = _exact_share(rng, is_pcp, pc["chc_share"])
    in_aco = p_aco >= 0
    apm = np.zeros(n_prov, dtype=bool)
    for t in APM_PROVIDER_TYPES:
        of_type = ptype == PROVIDER_TYPES.index(t)
        kind = "pcp" if t == "pcp" else "other"
        apm |= _exact_share(rng, of_type & in_aco, pc[f"apm_aco_{kind}"])
        apm |= _exact_share(rng, of_type & ~in_aco, pc[f"apm_non_aco_{kind}"])
    npi = np.array([str(NPI_BASE + 7 * i + 3) for i in range(n_prov)], dtype=object)
    providers = pd.DataFrame({
        "npi": npi, "provider_type": np.array(PROVIDER_TYPES)[ptype], "is_chc": chc,
        "aco_id": [aco_ids[a] if a >= 0 else None for a in p_aco], "apm_paid": apm,
    })

    # plans: model A/B ACOs, MCOs, PCC, FFS
    ab = np.flatnonzero(models != MCO_ADMINISTERED_MODEL)
    plan_type = np.array([PLAN_TYPE_OF_MODEL[models[a]] for a in ab] + [MCO_PLAN_TYPE] * prof.mcos + [PCC_PLAN_TYPE, FFS_PLAN_TYPE])
    plan_id = np.array([aco_ids[a] if models[a] == "A" else PCC_PLAN_ID for a in ab] + list(mco_ids)
                       + [PCC_PLAN_ID, None], dtype=object)
    plan_assign_id = np.array([aco_ids[a] for a in ab] + list(mco_ids) + [PCC_PLAN_ID, None], dtype=object)
    plan_aco = np.concatenate([ab, np.full(prof.mcos + 2, -1)])
    non_aco_pcp = pcp_idx[p_aco[pcp_idx] < 0]
    pcp_lists = [pcp_idx[p_aco[pcp_idx] == a] if a >= 0 else non_aco_pcp for a in plan_aco[:-1]]
    pcp_lists += [np.zeros(0, np.int64)]  # FFS: no PCP
    pcp_lists += [pcp_idx[p_aco[pcp_idx] == a] for a in range(n_aco)]  # model C pools (by ACO index)
    type_lists = [np.flatnonzero((p_aco == a) & (ptype == t)) if a >= 0 else np.flatnonzero(ptype == t)
                  for a in range(-1, n_aco) for t in range(len(PROVIDER_TYPES))]
    return World(
        entities=entities, providers=providers, aco_ids=aco_ids, aco_model=models, aco_weight=weight,
        aco_first_bp=first_bp, aco_mco=aco_mco, mco_ids=mco_ids, cp_ids=cp_ids, cp_is_ltss=cp_is_ltss,
        csa_ids=csa_ids,
        plan_type=plan_type, plan_id=plan_id, plan_aco=plan_aco, plan_assign_id=plan_assign_id,
        provider_type=ptype, provider_aco=p_aco, provider_chc=chc, provider_apm=apm, npi=npi,
        pcp_pools=Pools.from_lists(pcp_lists), type_pools=Pools.from_lists(type_lists),
    )
