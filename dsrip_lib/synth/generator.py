"""The generation loop: organisations, then member blocks (written as they are made), then the
entity-level tables and the truth."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from dsrip_lib.inputs.codes import (
    ACO_ENTITY_TYPE,
    BH_CP_ENTITY_TYPE,
    EXCLUSION_CATEGORIES,
    LTSS_CP_ENTITY_TYPE,
    SERVICE_CATEGORIES,
)
from dsrip_lib.progress import Callback, Step
from dsrip_lib.synth import entity_tables as et
from dsrip_lib.synth.capitation import expected_medical_cost, medical_capitation
from dsrip_lib.synth.claims import Claims, cost_level, program_effect_truth, simulate_claims
from dsrip_lib.synth.config import N_MONTHS_PER_YEAR, Config
from dsrip_lib.synth.contracts import write_contract_tables
from dsrip_lib.synth.entities import World, build_world
from dsrip_lib.synth.funding_moves import funding_moves
from dsrip_lib.synth.gating import write_gating_tables
from dsrip_lib.synth.population import Block, cp_engagement, simulate_block
from dsrip_lib.synth.spending_truth import dsti_by_year, expected_reduction, expected_sums
from dsrip_lib.synth.target_actuals import target_actuals
from dsrip_lib.synth.truth import adoption_truth, block_adoption
from dsrip_lib.synth.writer import TableWriter, prefixed_ids, strings

SCHEMA_VERSION = 1
CLAIM_ID_WIDTH = 11
CLAIM_IDS_PER_MEMBER = 1000  # claim ids of a block start at its first member index x this
# populations whose PMPM by year goes to truth.json (spending excludes the excluded categories)
PMPM_POPULATIONS = ("aco_eligible", "aco_attributed", "losing_aco", "other_acos")


class _Totals:
    """Sums over blocks: ACO member-months per BP, spending and member-months per year."""

    def __init__(self, cfg: Config, world: World):
        self.cfg = cfg
        self.n_bp = max(cfg.calendar.budget_periods) + 1
        self.member_months = np.zeros((len(world.aco_ids), self.n_bp))
        self.plan_cost = np.zeros_like(self.member_months)  # planted medical cost (capitation.py)
        # CPs on the CP calendar: member-months, and distinct members assigned / engaged
        self.cp_member_months = np.zeros((len(world.cp_ids), self.n_bp))
        self.cp_engagement = np.zeros((len(world.cp_ids), self.n_bp, 2), dtype=np.int64)
        n_years = cfg.calendar.n_years
        self.spend = np.zeros((len(PMPM_POPULATIONS), n_years))
        self.months = np.zeros((len(PMPM_POPULATIONS), n_years))
        self.expected = 0.0  # planted mean spending and member-months (spending_truth.expected_sums)
        self.adoption: dict[int, np.ndarray] = {}

    def add(self, block: Block, claims: Claims, cp, adoption: dict[int, np.ndarray], losing_aco: int) -> None:
        cal = self.cfg.calendar
        self._add_cp(block, cp)
        bp = cal.bp_of_month()
        aco_bp = (block.aco >= 0) & (bp >= 0)[None, :]
        flat = block.aco[aco_bp] * self.n_bp + np.broadcast_to(bp, block.aco.shape)[aco_bp]
        self.member_months += np.bincount(flat, minlength=self.member_months.size).reshape(self.member_months.shape)
        year = np.arange(cal.n_months) // N_MONTHS_PER_YEAR
        eligible = self.cfg.aco_eligible(block.group)[:, None] & block.enrolled
        masks = [eligible, block.aco >= 0, block.aco == losing_aco, (block.aco >= 0) & (block.aco != losing_aco)]
        included = claims.exclusion < 0
        for k, mask in enumerate(masks):
            self.months[k] += np.bincount(np.broadcast_to(year, mask.shape)[mask], minlength=cal.n_years)
            hit = included & mask[claims.row, claims.month]
            self.spend[k] += np.bincount(year[claims.month[hit]], claims.amount[hit], minlength=cal.n_years)
        self.expected = self.expected + expected_sums(self.cfg, block, claims)
        self.plan_cost += expected_medical_cost(self.cfg, block, self.plan_cost.shape)
        for b, counts in adoption.items():
            self.adoption[b] = self.adoption.get(b, 0) + counts

    def _add_cp(self, block: Block, cp) -> None:
        row, month, cp_index, engaged = cp
        bp = self.cfg.calendar.bp_of_month("cp")[month]
        keep = bp >= 0
        row, cp_index, engaged, bp = row[keep], cp_index[keep], engaged[keep], bp[keep]
        cell = cp_index * self.n_bp + bp
        size = self.cp_member_months.size
        self.cp_member_months += np.bincount(cell, minlength=size).reshape(self.cp_member_months.shape)
        for k, mask in enumerate((np.ones(len(row), dtype=bool), engaged)):
            # a member has one CP, so distinct (member, BP) pairs count distinct members per CP and BP
            pairs = np.unique(np.stack([row[mask], cell[mask]]), axis=1)
            self.cp_engagement[..., k] += np.bincount(pairs[1], minlength=size).reshape(self.cp_member_months.shape)

    def pmpm(self, population: str) -> dict[str, float | None]:
        k = PMPM_POPULATIONS.index(population)
        years = self.cfg.calendar.first_year + np.arange(self.cfg.calendar.n_years)
        return {str(y): (float(s / m) if m else None) for y, s, m in zip(years, self.spend[k], self.months[k])}


def _write_block(writer: TableWriter, cfg: Config, world: World, block: Block, claims: Claims, risk, cp,
                 part: int) -> None:
    cal = cfg.calendar
    writer.write("members", {"member_id": block.member_id, "birth_date": block.birth_date,
                             "sex": np.where(block.female, "F", "M"), "dual_eligible": block.dual}, part)
    row, month = np.nonzero(block.enrolled)
    plan, eff = block.plan[row, month], block.eff_pcp[row, month]
    groups = np.array(cfg.groups)
    writer.write("enrollment", {
        "member_id": strings(block.member_id, row), "month": cal.months[month],
        "eligibility_group": strings(groups, block.group[row]), "aco_eligible": cfg.aco_eligible(block.group[row]),
        "plan_type": strings(world.plan_type, plan), "plan_id": strings(world.plan_id, plan),
        "aco_id": strings(world.aco_ids, world.plan_aco[plan]),
        "chc_pcp": (eff >= 0) & world.provider_chc[np.maximum(eff, 0)],
    }, part)
    s = block.spans
    writer.write("pcp_assignments", {
        "member_id": strings(block.member_id, s["row"]), "pcp_npi": strings(world.npi, s["pcp"]),
        "plan_id": strings(world.plan_assign_id, s["plan"]), "start_date": s["start"], "end_date": s["end"],
    }, part)
    writer.write("claims", {
        "claim_id": prefixed_ids("C", block.offset * CLAIM_IDS_PER_MEMBER, len(claims.row), CLAIM_ID_WIDTH),
        "member_id": strings(block.member_id, claims.row), "service_date": claims.service_date,
        "provider_npi": strings(world.npi, claims.provider),
        "service_category": strings(np.array(SERVICE_CATEGORIES), claims.category),
        "primary_care_visit": claims.visit, "paid_amount": claims.amount,
        "exclusion_category": strings(np.array(EXCLUSION_CATEGORIES), claims.exclusion),
    }, part)
    writer.write("risk_scores", {"member_id": strings(block.member_id, risk["row"]), "year": risk["year"],
                                 "risk_score": risk["risk_score"]}, part)
    cp_row, cp_month, cp_index, engaged = cp
    writer.write("cp_engagement", {"member_id": strings(block.member_id, cp_row), "month": cal.months[cp_month],
                                   "cp_id": strings(world.cp_ids, cp_index), "engaged": engaged}, part)


def run(cfg: Config, seed: int, root: Path, progress: Callback | None = None) -> dict:
    """Generate every table into ``root``; return the truth.json content.

    Random streams are spawned from ``seed`` (numpy SeedSequence): one for the organisations,
    one for the entity-level tables and one per member block, so that results do not depend on
    how much memory a block takes. ``progress`` is told of each member block written, then of
    the entity-level tables (:mod:`dsrip_lib.progress`).
    """
    prof = cfg.profile
    seeds = np.random.SeedSequence(seed).spawn(2 + prof.n_blocks)
    world = build_world(cfg, np.random.default_rng(seeds[0]))
    plants = et.choose_plants(world)
    writer = TableWriter(root, cfg.program, partitioned=prof.n_blocks > 1)
    totals = _Totals(cfg, world)
    steps = prof.n_blocks + 1
    for b in range(prof.n_blocks):
        started = time.perf_counter()
        rng = np.random.default_rng(seeds[2 + b])
        offset = b * prof.block_size
        block = simulate_block(cfg, world, rng, offset, min(prof.block_size, prof.members - offset))
        claims, risk = simulate_claims(cfg, world, rng, block, plants.losing_aco)
        cp = cp_engagement(cfg, world, rng, block)
        _write_block(writer, cfg, world, block, claims, risk, cp, b)
        totals.add(block, claims, cp, block_adoption(cfg, world, block, claims), plants.losing_aco)
        del block, claims, risk, cp
        if progress:
            progress(Step("synth", b + 1, steps, f"member block {b + 1}", time.perf_counter() - started))

    started = time.perf_counter()
    rng = np.random.default_rng(seeds[1])
    mm = totals.member_months
    ltss = world.cp_is_ltss
    bh_cps = et.EntityGroup(BH_CP_ENTITY_TYPE, world.cp_ids[~ltss], totals.cp_member_months[~ltss],
                            engagement=totals.cp_engagement[~ltss])
    groups = [et.EntityGroup(ACO_ENTITY_TYPE, world.aco_ids, mm, improving=plants.improving_aco), bh_cps,
              et.EntityGroup(LTSS_CP_ENTITY_TYPE, world.cp_ids[ltss], totals.cp_member_months[ltss],
                             engagement=totals.cp_engagement[ltss]),
              et.csa_group(cfg, rng, world, bh_cps)]
    writer.write("entities", world.entities)
    writer.write("providers", world.providers)
    writer.write("measure_results", et.measure_results(cfg, rng, groups))
    writer.write("utilization", et.utilization(cfg, rng, groups))
    writer.write("survey_scores", et.survey_scores(cfg, rng, groups))
    writer.write("flexible_services", et.flexible_services(cfg, world, rng, mm))
    dsti = et.dsti_payments(cfg)
    writer.write("dsti_payments", dsti)
    writer.write("statewide_investments", et.statewide_investments(cfg, rng))
    capitation, capitation_truth = medical_capitation(cfg, world, totals.plan_cost, seed)
    writer.write("medical_capitation", capitation)
    early_payments = write_gating_tables(writer, cfg, rng, world.entities, world.aco_ids, mm)
    moves, unapproved_moves = funding_moves()
    writer.write("funding_moves", moves)
    actuals, actuals_truth = target_actuals()  # ILLUSTRATIVE: the CT SIM driver diagram's, for the targets report
    writer.write("target_actuals", actuals)
    truth = _truth(cfg, seed, world, plants, totals, dsti_by_year(cfg, dsti))
    truth["effects"]["partnership_capitation"] = capitation_truth
    truth["effects"]["early_payments"] = early_payments
    truth["effects"]["unapproved_moves"] = unapproved_moves
    truth["effects"]["target_actuals"] = actuals_truth
    truth["effects"] |= write_contract_tables(writer, cfg, seed, world, groups[-1], dsti)
    truth["effects"]["program_effect"] = program_effect_truth(cfg, world)
    if progress:
        progress(Step("synth", steps, steps, "entity-level tables", time.perf_counter() - started))
    return truth


def _truth(cfg: Config, seed: int, world: World, plants: et.Plants, totals: _Totals,
           dsti: dict[int, float]) -> dict:
    c, eff = cfg.costs, cfg.effects
    years = cfg.calendar.first_year + np.arange(cfg.calendar.n_years)
    level = cost_level(cfg)
    target = cfg.program.state_accountability.spending_growth.trend_rate
    worse = eff["worsening_domain"]
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": {"profile": cfg.profile.name, "seed": seed, "members": cfg.profile.members,
                      "blocks": cfg.profile.n_blocks},
        "adoption": adoption_truth(cfg, totals.adoption),
        "aco_member_months": {world.aco_ids[a]: {str(b): float(totals.member_months[a, b])
                                                 for b in range(totals.n_bp)} for a in range(len(world.aco_ids))},
        "late_joining_acos": [world.aco_ids[a] for a in np.flatnonzero(world.aco_first_bp > 1)],
        "effects": {
            "improving_aco": {
                "aco_id": world.aco_ids[plants.improving_aco], "from_budget_period": 1,
                "logit_gain_per_bp": eff["improving_aco"]["logit_gain_per_bp"],
                "utilization_ratio_decline_per_bp": eff["improving_aco"]["ratio_gain_per_bp"],
                "survey_gain_per_bp": cfg.quality["survey_gain_per_bp"],
            },
            "worsening_domain": {
                "domain": worse["domain"], "budget_period": worse["budget_period"],
                "logit_shift": worse["logit_shift"],
                "entity_type": ACO_ENTITY_TYPE,
                "measure_ids": [m["id"] for m in cfg.slates[ACO_ENTITY_TYPE]["measures"] if m["domain"] == worse["domain"]],
            },
            "losing_aco": {
                "aco_id": world.aco_ids[plants.losing_aco], "cost_multiplier": eff["losing_aco"]["cost_multiplier"],
                "from_budget_period": eff["losing_aco"]["from_budget_period"],
                "pmpm_by_year": totals.pmpm("losing_aco"), "other_acos_pmpm_by_year": totals.pmpm("other_acos"),
            },
            "spending_trend": {
                "direction": "under" if c["annual_trend"] < target else "over",
                "annual_trend": c["annual_trend"], "year_shocks": {str(k): v for k, v in c["year_shocks"].items()},
                "target_trend": target,
                "cost_level_by_year": {str(y): float(v) for y, v in zip(years, level)},
                "final_vs_trended": float(level[-1] / level[0] / (1 + target) ** (len(years) - 1) - 1),
                "aco_eligible_pmpm_by_year": totals.pmpm("aco_eligible"),
                "aco_attributed_pmpm_by_year": totals.pmpm("aco_attributed"),
                "dsti_usd_by_year": {str(y): v for y, v in dsti.items()},
                "expected_reduction_by_year": expected_reduction(cfg, totals.expected, dsti),
            },
        },
    }
