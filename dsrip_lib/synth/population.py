"""Members, monthly enrolment (plans, churn), PCP-assignment spans and CP engagement of one block.

Everything is vectorised over the block's members; Python loops run over years, plans and
eligibility groups only.

References
----------
MassHealth DSRIP Protocol, Sec 4.4.4 (enrolment in ACOs, MCOs and the PCC plan; attribution to
MCO-administered ACOs through PCP assignment), Sec 5.2.1.2 (eligibility groups).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from dsrip_lib.inputs.codes import ACO_PLAN_TYPES, MCO_ADMINISTERED_MODEL, MCO_PLAN_TYPE, PLAN_TYPES
from dsrip_lib.synth.config import N_MONTHS_PER_YEAR, Config
from dsrip_lib.synth.entities import World

FIRST_JITTER_DAY, LAST_JITTER_DAY = 2, 28  # a mid-month boundary falls on one of these days
DAYS_PER_YEAR = 365.25


@dataclass
class Block:
    """One block of members and their month-by-month state (rows = members, columns = months)."""

    offset: int                 # global index of the block's first member
    member_id: np.ndarray       # str
    group: np.ndarray           # eligibility-group index
    birth_date: np.ndarray      # datetime64[D]
    female: np.ndarray
    dual: np.ndarray
    frailty: np.ndarray         # persistent standard-normal health level
    enrolled: np.ndarray        # (n, months) bool
    plan: np.ndarray            # (n, months) plan index, -1 = not enrolled
    pcp: np.ndarray             # (n, months) PCP assigned during the month (-1 none)
    eff_pcp: np.ndarray         # (n, months) PCP in effect on the month's last day (-1 none)
    aco: np.ndarray             # (n, months) ACO enrolled in (A/B) or attributed to (C by PCP), -1 none
    spans: dict[str, np.ndarray]  # PCP-assignment spans: row, pcp, plan, start, end (NaT = open)

    @property
    def n(self) -> int:
        return len(self.member_id)


def _draw_members(cfg: Config, rng: np.random.Generator, offset: int, n: int):
    pop = cfg.population
    share = cfg.group_param("share")
    group = rng.choice(len(share), n, p=share / share.sum())
    age = np.zeros(n)
    for g, name in enumerate(cfg.groups):
        idx = np.flatnonzero(group == g)
        bands = np.array(pop["eligibility_groups"][name]["ages"], dtype=float)
        band = rng.choice(len(bands), len(idx), p=bands[:, 2] / bands[:, 2].sum())
        age[idx] = rng.uniform(bands[band, 0], bands[band, 1] + 1)
    first = np.datetime64(cfg.calendar.first_month, "D")
    birth = first - np.round(age * DAYS_PER_YEAR).astype("timedelta64[D]") - np.timedelta64(1, "D")
    female = rng.random(n) < cfg.group_param("female")[group]
    other = ~cfg.aco_eligible(group)
    dual = other & ((age >= 65) | (rng.random(n) < pop["dual_share_under_65_other"]))
    member_id = np.array([f"M{offset + i:08d}" for i in range(n)], dtype=object)
    return member_id, group, birth, female, dual, rng.standard_normal(n)


def _enrollment_spells(cfg: Config, rng: np.random.Generator, n: int) -> np.ndarray:
    """One enrolment spell per member: join at the start or later, leave by a monthly hazard."""
    pop, cal = cfg.population, cfg.calendar
    n_months = cal.n_months
    start = np.where(rng.random(n) < pop["initially_enrolled"], 0, rng.integers(1, n_months, n))
    hazard = np.full(n_months, pop["monthly_exit_hazard"])
    hazard[cal.month_index(pop["phe_start"]):] = pop["phe_exit_hazard"]
    cum = np.cumsum(hazard)
    before = np.where(start > 0, cum[np.maximum(start - 1, 0)], 0.0)
    end = np.minimum(np.searchsorted(cum, before + rng.exponential(1.0, n)), n_months - 1)
    months = np.arange(n_months)
    return (months >= start[:, None]) & (months <= end[:, None])


class _PlanChooser:
    """Draws plans and PCPs for a calendar year, given the year's plan mix and open ACOs."""

    def __init__(self, cfg: Config, world: World, rng: np.random.Generator):
        self.cfg, self.world, self.rng = cfg, world, rng
        self.eligible_mix = cfg.population["plan_mix"]
        self.other_mix = cfg.population["other_plan_mix"]

    def plans(self, year: int, bp: int, eligible: np.ndarray) -> np.ndarray:
        w, rng = self.world, self.rng
        mixes = [self.eligible_mix[year], self.other_mix]
        probs = np.array([[m.get(c, 0.0) for c in PLAN_TYPES] for m in mixes])
        probs /= probs.sum(axis=1, keepdims=True)
        u = rng.random(len(eligible))
        category = (u[:, None] > np.cumsum(probs, axis=1)[np.where(eligible, 0, 1)]).sum(axis=1)
        plan = np.empty(len(eligible), dtype=np.int64)
        for c, name in enumerate(PLAN_TYPES):
            idx = np.flatnonzero(category == c)
            options = w.plans_of(name)
            weight = np.ones(len(options))
            if name in ACO_PLAN_TYPES:
                aco = w.plan_aco[options]
                weight = np.where(w.aco_first_bp[aco] <= bp, w.aco_weight[aco], 0.0)
            if len(idx) and weight.sum() == 0:
                raise ValueError(f"plan mix of {year} enrols members in {name} but no such ACO is open")
            if len(idx):
                plan[idx] = rng.choice(options, len(idx), p=weight / weight.sum())
        return plan

    def pcps(self, plan: np.ndarray, bp: int) -> np.ndarray:
        """A PCP from each plan's network; MCO members may pick a PCP of a model C ACO of their MCO."""
        w, rng = self.world, self.rng
        pool = plan.copy()
        mco_plans = w.plans_of(MCO_PLAN_TYPE)
        share = self.cfg.population["mco_model_c_share"]
        for m, plan_index in enumerate(mco_plans):
            c_acos = np.flatnonzero((w.aco_mco == m) & (w.aco_first_bp <= bp))
            idx = np.flatnonzero((plan == plan_index) & (rng.random(len(plan)) < share))
            if len(c_acos) and len(idx):
                weight = w.aco_weight[c_acos]
                pool[idx] = w.c_pool(rng.choice(c_acos, len(idx), p=weight / weight.sum()))
        return w.pcp_pools.draw(pool, rng)


def _monthly_plans(cfg: Config, world: World, rng: np.random.Generator, eligible: np.ndarray):
    """Plan and PCP of every member in every month (before masking by enrolment).

    Members keep last year's plan at January with probability ``plan_stay`` (so switches cluster
    at the start of a budget period; ``launch_plan_stay`` in BP 1, when ACOs launch), switch
    mid-year with probability ``midyear_switch``, and keep their PCP at January with probability
    ``pcp_stay`` when the plan is unchanged.
    """
    pop, cal = cfg.population, cfg.calendar
    n = len(eligible)
    chooser = _PlanChooser(cfg, world, rng)
    bp_of_month = cal.bp_of_month()
    plan_m = np.empty((n, cal.n_months), dtype=np.int64)
    pcp_m = np.empty((n, cal.n_months), dtype=np.int64)
    prev_plan = np.full(n, -1)
    prev_pcp = np.full(n, -1)
    month_in_year = np.arange(N_MONTHS_PER_YEAR)
    for y in range(cal.n_years):
        year, cols = cal.first_year + y, slice(y * N_MONTHS_PER_YEAR, (y + 1) * N_MONTHS_PER_YEAR)
        bp = bp_of_month[cols].max()
        fresh = chooser.plans(year, bp, eligible)
        p_stay = pop["launch_plan_stay"] if bp == 1 else pop["plan_stay"]
        stay = (prev_plan >= 0) & (rng.random(n) < p_stay)
        plan1 = np.where(stay, prev_plan, fresh)
        keep_pcp = (plan1 == prev_plan) & (prev_pcp >= 0) & (rng.random(n) < pop["pcp_stay"])
        pcp1 = np.where(keep_pcp, prev_pcp, chooser.pcps(plan1, bp))
        switch = rng.random(n) < pop["midyear_switch"]
        plan2 = np.where(switch, chooser.plans(year, bp, eligible), plan1)
        pcp2 = np.where(plan2 == plan1, pcp1, chooser.pcps(plan2, bp))
        at = np.where(switch, rng.integers(1, N_MONTHS_PER_YEAR, n), N_MONTHS_PER_YEAR)
        later = month_in_year[None, :] >= at[:, None]
        plan_m[:, cols] = np.where(later, plan2[:, None], plan1[:, None])
        pcp_m[:, cols] = np.where(later, pcp2[:, None], pcp1[:, None])
        prev_plan, prev_pcp = plan2, pcp2
    return plan_m, pcp_m


def _spans(cfg: Config, rng: np.random.Generator, plan: np.ndarray, pcp: np.ndarray):
    """Run-length encode (plan, PCP) into assignment spans; some boundaries fall mid-month.

    A span that ends before a month without a PCP sometimes ends mid-month: then no assignment is
    in effect on that month's last day, so the month's effective PCP is -1.
    """
    pop, cal = cfg.population, cfg.calendar
    n, n_months = pcp.shape
    valid = pcp >= 0
    key = np.where(valid, plan * (pcp.max() + 2) + pcp, -1)
    edge = np.full((n, 1), -1)
    starts = valid & (key != np.hstack([edge, key[:, :-1]]))
    ends = valid & (key != np.hstack([key[:, 1:], edge]))
    row, first = np.nonzero(starts)
    _, last = np.nonzero(ends)
    month_start, month_end = cal.months, cal.month_ends
    start = month_start[first].copy()
    end = month_end[last].copy()
    has_prev = (first > 0) & valid[row, np.maximum(first - 1, 0)]
    has_next = (last < n_months - 1) & valid[row, np.minimum(last + 1, n_months - 1)]
    jitter = rng.random(len(row)) < pop["midmonth_boundary"]
    day = rng.integers(FIRST_JITTER_DAY, LAST_JITTER_DAY + 1, len(row)) - 1
    start[jitter] += day[jitter].astype("timedelta64[D]")
    moved = np.flatnonzero(jitter & has_prev)
    end[moved - 1] = start[moved] - np.timedelta64(1, "D")
    open_ = last == n_months - 1
    end[open_] = np.datetime64("NaT")
    early = ~has_next & ~open_ & (last > first) & (rng.random(len(row)) < pop["span_end_midmonth"])
    end[early] = month_start[last[early]] + rng.integers(0, LAST_JITTER_DAY - 1, early.sum()).astype("timedelta64[D]")
    eff = pcp.copy()
    eff[row[early], last[early]] = -1
    spans = {"row": row, "pcp": pcp[row, first], "plan": plan[row, first], "start": start, "end": end}
    return spans, eff


def simulate_block(cfg: Config, world: World, rng: np.random.Generator, offset: int, n: int) -> Block:
    """Members ``offset``..``offset + n - 1``: demographics, enrolment, plans, PCP spans.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4 (ACO enrolment and MCO-administered ACO attribution),
    Sec 5.2.1.1 (ACO-eligible members), Sec 5.2.1.2 (eligibility groups).
    """
    member_id, group, birth, female, dual, frailty = _draw_members(cfg, rng, offset, n)
    enrolled = _enrollment_spells(cfg, rng, n)
    eligible = cfg.aco_eligible(group)
    plan, pcp = _monthly_plans(cfg, world, rng, eligible)
    plan = np.where(enrolled, plan, -1)
    pcp = np.where(enrolled, pcp, -1)
    spans, eff = _spans(cfg, rng, plan, pcp)
    plan_aco = np.append(world.plan_aco, -1)[plan]
    pcp_aco = np.append(world.provider_aco, -1)[eff]
    by_c_pcp = (np.append(world.plan_type, "")[plan] == MCO_PLAN_TYPE) & (pcp_aco >= 0)
    by_c_pcp &= np.append(world.aco_model, "")[pcp_aco] == MCO_ADMINISTERED_MODEL
    aco = np.where(plan_aco >= 0, plan_aco, np.where(by_c_pcp, pcp_aco, -1))
    return Block(offset, member_id, group, birth, female, dual, frailty, enrolled, plan, pcp, eff, aco, spans)


def cp_engagement(cfg: Config, world: World, rng: np.random.Generator, block: Block):
    """CP assignments and monthly engagement of the block's CP-eligible ACO members.

    The frailest ACO members (top ``cp_eligible_top_share``) are CP-eligible; members with a
    disability or aged 50+ go to an LTSS CP more often. Rows cover every month from the CP
    start in which the member is enrolled in or attributed to an ACO.

    Returns (row, month, cp index, engaged) arrays.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.5 (Community Partners), Appendix D measures 26 and 31.
    """
    pop = cfg.population
    eligible = block.frailty > norm.ppf(1 - pop["cp_eligible_top_share"])
    ltss = rng.random(block.n) < np.where(np.isin(np.array(cfg.groups)[block.group], ["base_disabled", "r2_disabled"]),
                                         0.5, 0.15)
    bh_cps, ltss_cps = np.flatnonzero(~world.cp_is_ltss), np.flatnonzero(world.cp_is_ltss)
    cp = np.where(ltss, rng.choice(ltss_cps, block.n), rng.choice(bh_cps, block.n))
    in_cp = eligible[:, None] & (block.aco >= 0)
    in_cp[:, : cfg.calendar.month_index(pop["cp_start"])] = False
    row, month = np.nonzero(in_cp)
    return row, month, cp[row], rng.random(len(row)) < pop["cp_engaged"]
