"""Entity-level tables: quality measures, avoidable utilisation, surveys, flexible services, DSTI,
statewide investments. They are drawn after the member blocks, from the entities' member-months
(ACOs: enrolled or attributed members; CPs: assigned members).

References
----------
MassHealth DSRIP Protocol, Sec 5.3.1, Sec 5.4.4 and Appendix D (measure slates and quality domains),
Sec 4.4.2 and Exhibit 9 (flexible services), Sec 4.4.3 and Exhibit 10 (DSTI glide path),
Sec 4.6 and Exhibit 15 (statewide investments).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from dsrip_lib.inputs.codes import ACO_ENTITY_TYPE, CSA_ENTITY_TYPE
from dsrip_lib.synth.config import N_MONTHS_PER_YEAR, Config
from dsrip_lib.synth.entities import World

RATE_FLOOR, RATE_CEILING = 0.01, 0.99
QUARTERS = 4
USD_PER_MUSD = 1e6


@dataclass(frozen=True)
class Plants:
    """The entities that carry planted effects (indices into the world's ACOs)."""

    improving_aco: int
    losing_aco: int


@dataclass(frozen=True)
class EntityGroup:
    """Entities of one type with their members per budget period (of the type's calendar)."""

    entity_type: str
    ids: np.ndarray
    member_months: np.ndarray           # (entity, budget period)
    improving: int = -1                 # index of the entity with planted improvement, -1 none
    engagement: np.ndarray | None = None  # (entity, BP, [assigned, engaged]) distinct members (CPs)


def choose_plants(world: World) -> Plants:
    """The largest model A or B ACO with members from BP 1 runs losses; the largest other ACO
    improves its quality.

    Large ACOs let the effects show in the small profiles; the losing ACO is enrolment-based
    (A/B) so that its members are visible in ``enrollment.aco_id``.
    """
    order = np.argsort(-world.aco_weight, kind="stable")
    early = world.aco_first_bp == world.aco_first_bp.min()
    losing = next(a for a in order if world.aco_model[a] != "C" and early[a])
    improving = next(a for a in order if a != losing)
    return Plants(improving_aco=int(improving), losing_aco=int(losing))


def _performance_periods(cfg: Config) -> list[int]:
    return [bp for bp in cfg.calendar.budget_periods if bp > 0]


def _entity_periods(group: EntityGroup):
    """(entity index, budget period, attributed members) for every performance period with members."""
    for bp in range(1, group.member_months.shape[1]):
        for e in range(len(group.ids)):
            if group.member_months[e, bp] > 0:
                yield e, bp, group.member_months[e, bp] / N_MONTHS_PER_YEAR


def measure_results(cfg: Config, rng: np.random.Generator, groups: list[EntityGroup]) -> pd.DataFrame:
    """Entity x BP x measure results of the Appendix D slates.

    A measure's rate is its typical Medicaid rate shifted on the logit scale, in the better
    direction, by an entity level, a small secular gain per BP, the improving ACO's gain per BP
    and, for ACOs in one BP, the worsening domain's shift; numerators are binomial. Ratio measures
    (observed/expected, per member-months) give ``rate`` only, shifted by ``log_ratio_per_logit``
    on the log scale per logit unit. CP engagement is counted from the generated engagement rows.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1 (ACO quality domains), Sec 5.4.4 (CP/CSA domains),
    Appendix D (measure slates).
    """
    q, eff = cfg.quality, cfg.effects
    worse = eff["worsening_domain"]
    rows = []
    for group in groups:
        slate = cfg.slates[group.entity_type]["measures"]
        level = rng.normal(0.0, q["aco_sd"], len(group.ids))
        for e, bp, members in _entity_periods(group):
            entity = group.ids[e]
            for m in slate:
                if m["kind"] == "engagement":
                    assigned, engaged = group.engagement[e, bp]
                    if assigned:
                        rows.append((entity, bp, m["id"], float(engaged), float(assigned), None, int(assigned)))
                    continue
                direction = 1.0 if m["higher_is_better"] else -1.0
                shift = level[e] + q["bp_gain"] * (bp - 1)
                if e == group.improving:
                    shift += eff["improving_aco"]["logit_gain_per_bp"] * (bp - 1)
                if group.entity_type == ACO_ENTITY_TYPE and m["domain"] == worse["domain"] and bp == worse["budget_period"]:
                    shift += worse["logit_shift"]
                eligible = int(rng.poisson(m["prevalence"] * members))
                if eligible == 0:
                    continue
                if m["kind"] == "binomial":
                    rate = np.clip(expit(logit(m["rate"]) + direction * shift), RATE_FLOOR, RATE_CEILING)
                    rows.append((entity, bp, m["id"], float(rng.binomial(eligible, rate)), float(eligible), None,
                                 eligible))
                else:
                    log_ratio = -direction * shift * q["log_ratio_per_logit"] + rng.normal(0, q["ratio_sd"])
                    rows.append((entity, bp, m["id"], None, None, float(m["rate"] * np.exp(log_ratio)), eligible))
    return pd.DataFrame(rows, columns=["entity_id", "budget_period", "measure_id", "numerator", "denominator",
                                       "rate", "eligible_members"])


def utilization(cfg: Config, rng: np.random.Generator, groups: list[EntityGroup]) -> pd.DataFrame:
    """Entity x BP observed and expected avoidable-utilisation events.

    Expected events = events per member-month x member-months x the entity's case mix; observed =
    Poisson(expected x the entity's efficiency), where the improving ACO's ratio falls each BP.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1 (avoidable utilisation), Appendix D (ACO measures 37-39
    and the CP/CSA utilisation measures).
    """
    q, gain = cfg.quality, cfg.effects["improving_aco"]["ratio_gain_per_bp"]
    rows = []
    for group in groups:
        case_mix = np.exp(rng.normal(0, q["utilization_risk_sd"], len(group.ids)))
        efficiency = np.exp(rng.normal(0, q["ratio_sd"], len(group.ids)))
        for e, bp, members in _entity_periods(group):
            mm = members * N_MONTHS_PER_YEAR
            trend = (1 - gain) ** (bp - 1) if e == group.improving else 1.0
            for m in cfg.slates[group.entity_type]["utilization"]:
                expected = m["events_per_mm"] * mm * case_mix[e]
                observed = float(rng.poisson(expected * efficiency[e] * trend))
                rows.append((group.ids[e], bp, m["id"], observed, expected, float(mm)))
    return pd.DataFrame(rows, columns=["entity_id", "budget_period", "measure_id", "observed", "expected",
                                       "member_months"])


def survey_scores(cfg: Config, rng: np.random.Generator, groups: list[EntityGroup]) -> pd.DataFrame:
    """Entity x BP member-experience survey composites (0-100); the improving ACO gains each BP.

    Respondents follow a survey sample design, as CAHPS surveys do: each entity-period and survey
    samples ``survey_sample_size`` members (all of them when its frame is smaller; the frame is
    ``survey_frame_share`` of its members at the reference profile's size, so it does not shrink
    with the profile) and a response rate drawn per entity-period gives the completes, which
    answer every composite of the survey.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1 and 5.4.4 (Member Care Experience domain: a representative
    sample of attributed members), Appendix D.
    """
    q = cfg.quality
    rows = []
    for group in groups:
        level = rng.normal(0, q["survey_sd"], len(group.ids))
        for e, bp, members in _entity_periods(group):
            gain = q["survey_gain_per_bp"] * (bp - 1) if e == group.improving else 0.0
            frame = int(members * cfg.reference_scale * q["survey_frame_share"])
            sampled = min(q["survey_sample_size"], frame)
            for survey, composites in cfg.slates[group.entity_type]["surveys"].items():
                respondents = int(rng.binomial(sampled, rng.uniform(*q["survey_response_rate"])))
                for composite, base in composites.items():
                    score = float(np.clip(base + level[e] + gain + rng.normal(0, 1.0), 0, 100))
                    rows.append((group.ids[e], bp, survey, composite, score, respondents))
    return pd.DataFrame(rows, columns=["entity_id", "budget_period", "survey", "composite", "score", "respondents"])


def csa_group(cfg: Config, rng: np.random.Generator, world: World, bh_cps: EntityGroup) -> EntityGroup:
    """CSAs: no member-level data; each serves ``csa_relative_size`` x an average BH CP's members.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.5 (CSAs), Sec 5.4.4 (CSA accountability).
    """
    n = len(world.csa_ids)
    size = cfg.quality["csa_relative_size"] * np.exp(rng.normal(0, 0.3, n))
    return EntityGroup(CSA_ENTITY_TYPE, world.csa_ids, size[:, None] * bh_cps.member_months.mean(axis=0)[None, :])


def flexible_services(cfg: Config, world: World, rng: np.random.Generator,
                      member_months: np.ndarray) -> pd.DataFrame:
    """Quarterly flexible-services reimbursement requests of each ACO (one or more a quarter),
    around the ACO's allotment (member-months x the Exhibit 9 PMPM), partly approved.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.2 and Exhibit 9 (flexible services allotments).
    """
    pay = cfg.calibration["payments"]
    pmpm = cfg.program.aco_payments.flexible_services_pmpm_usd
    rows = []
    for bp in _performance_periods(cfg):
        for a in range(len(world.aco_ids)):
            if member_months[a, bp] <= 0:
                continue
            for quarter in range(1, QUARTERS + 1):
                n_req = 1 + rng.poisson(1.0)
                allotment = member_months[a, bp] / QUARTERS * pmpm[bp]
                requested = allotment * rng.uniform(*pay["flexible_services_requested"]) * rng.dirichlet(np.ones(n_req))
                approved = requested * rng.uniform(*pay["flexible_services_approved"], n_req)
                rows += [(world.aco_ids[a], bp, quarter, float(r), float(ap)) for r, ap in zip(requested, approved)]
    df = pd.DataFrame(rows, columns=["aco_id", "budget_period", "quarter", "amount_requested", "amount_approved"])
    df.insert(0, "request_id", [f"FS{i + 1:06d}" for i in range(len(df))])
    return df


def dsti_payments(cfg: Config) -> pd.DataFrame:
    """DSTI payments by hospital (its name) and SFY: the Exhibit 10 glide path, paid as scheduled,
    and the pre-DSRIP DSTI payments of the SFY before it (``dsti_baseline_vs_first_sfy`` x the
    first glide-path year: the glide path steps down from them), which the spending-growth chain
    needs for its CY2017 DSTI payments. Amounts are scaled to the profile's size relative to the
    reference profile (the state profile pays the exhibit's amounts).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.3 and Exhibit 10; Sec 5.2.1.2 (DSTI payments made during CY2017).
    """
    aco = cfg.program.aco_payments
    baseline = cfg.calibration["payments"]["dsti_baseline_vs_first_sfy"]
    scale = USD_PER_MUSD / cfg.reference_scale
    rows = []
    for key, by_sfy in aco.dsti_glide_path_by_sfy.rows.items():
        first = min(by_sfy)
        schedule = {first - 1: by_sfy[first] * baseline, **by_sfy}
        rows += [(aco.dsti_hospital_names[key], int(sfy), amount * scale) for sfy, amount in schedule.items()]
    return pd.DataFrame(rows, columns=["hospital", "sfy", "amount"])


def statewide_investments(cfg: Config, rng: np.random.Generator) -> pd.DataFrame:
    """Spending on each statewide investment initiative per budget period: the Exhibit 15 amount
    of each demonstration year, spread over budget periods by shared months, partly spent.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.6 and Exhibit 15 (by demonstration year = SFY).
    """
    program = cfg.program
    spent = cfg.calibration["payments"]["statewide_investment_spent"]
    first_sfy = program.calendar.first_demonstration_sfy
    rows = []
    for name, by_dy in program.funding.statewide_investments_by_dy.rows.items():
        by_bp = program.calendar.split_sfy_amounts({first_sfy + dy - 1: v for dy, v in by_dy.items()})
        rows += [(name, bp, amount * rng.uniform(*spent) * USD_PER_MUSD) for bp, amount in by_bp.items()]
    return pd.DataFrame(rows, columns=["investment", "budget_period", "amount"])
