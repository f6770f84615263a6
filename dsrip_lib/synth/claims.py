"""Claims and risk scores of one block: a hurdle-lognormal annual cost split into claim lines.

References
----------
MassHealth DSRIP Protocol, Sec 5.2.1.2 (PMPM by eligibility group, trend, excluded expenditure
categories). Calibration: params/synth/synth.yaml, cited in docs/synthetic_data.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dsrip_lib.inputs.codes import EXCLUSION_CATEGORIES, INPATIENT, PROVIDER_TYPES, SERVICE_CATEGORIES
from dsrip_lib.synth.config import N_MONTHS_PER_YEAR, Config
from dsrip_lib.synth.entities import World
from dsrip_lib.synth.population import Block

PROVIDER_TYPE_OF_CATEGORY = {"inpatient": "hospital", "outpatient": "hospital", "emergency": "hospital",
                             "primary_care": "pcp", "specialist": "specialist",
                             "behavioral_health": "behavioral_health", "pharmacy": "pharmacy", "ltss": "ltss",
                             "other": "other"}
PRIMARY_CARE = SERVICE_CATEGORIES.index("primary_care")
INPATIENT_CATEGORY = SERVICE_CATEGORIES.index(INPATIENT)
MAX_VISITS = 15
# the outcomes carrying the planted program effect (params/synth/synth.yaml effects.program)
PRIMARY_CARE_VISITS, INPATIENT_ADMISSIONS = "primary_care_visits", "inpatient_admissions"
NON_VISIT_PRIMARY_CARE = 0.1  # share of primary-care lines that are not E&M visits (e.g. immunisation)


@dataclass
class Claims:
    """Claim lines of a block as arrays (row = member row in the block, month = month index)."""

    row: np.ndarray
    month: np.ndarray
    service_date: np.ndarray
    provider: np.ndarray
    category: np.ndarray
    visit: np.ndarray
    amount: np.ndarray
    exclusion: np.ndarray  # index into EXCLUSION_CATEGORIES, -1 = included
    expected: np.ndarray   # (member, year): the planted mean annual cost, before the excluded extra lines


def cost_level(cfg: Config) -> np.ndarray:
    """Cost level of each calendar year relative to the base year: compounded trend and shocks.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 (trended PMPM); synthetic_magnitudes.md 2 (2-4%/yr, +-1.5pp).
    """
    c, cal = cfg.costs, cfg.calendar
    years = cal.first_year + np.arange(cal.n_years)
    growth = np.array([1 + c["annual_trend"] + c["year_shocks"][int(y)] for y in years])
    index = np.cumprod(growth)
    return index / index[list(years).index(c["base_year"])]


def _month_range(block: Block):
    """Per member-year: enrolled months and the first enrolled month (spells are contiguous)."""
    by_year = block.enrolled.reshape(block.n, -1, N_MONTHS_PER_YEAR)
    n_months = by_year.sum(axis=2)
    first = by_year.argmax(axis=2) + np.arange(by_year.shape[1]) * N_MONTHS_PER_YEAR
    return n_months, first


def simulate_claims(cfg: Config, world: World, rng: np.random.Generator, block: Block,
                    losing_aco: int) -> tuple[Claims, dict[str, np.ndarray]]:
    """Claim lines and risk scores of the block's members.

    Annual cost per member-year is zero with probability ``p_zero`` of the member's eligibility
    group, else lognormal with sigma ``costs.sigma`` and mean ``pmpm x months x cost level`` /
    (1 - p_zero); a persistent frailty carries part of the log cost from year to year. The
    losing ACO's members cost ``cost_multiplier`` times more from ``from_budget_period`` on.
    Primary-care visits (probability and counts by group) go mostly to the assigned PCP; the
    rest of the cost is split into services by service category, paid to the member's ACO's
    providers with probability ``aco_network_loyalty``. Inpatient admissions are services of their
    own (one facility claim each, ``costs.admissions``), more frequent in costlier member-years.
    Visits and admissions carry the planted program effect and selection
    (:func:`program_multipliers`); both are carved out of the member-year's cost, so the effect
    moves utilisation, never the annual cost. Excluded categories (Sec 5.2.1.2) come as extra
    services; every LTSS line is excluded as LTSS. Each of these services is then split into claim
    lines (:func:`split_lines`).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 (eligibility groups, exclusions), Sec 5.2.1.1
    (claims paid to APM providers).
    """
    c, pc, cal = cfg.costs, cfg.providers, cfg.calendar
    # the lines of each service come from a stream of their own: every other draw stays as it was
    lines_rng = rng.spawn(1)[0]
    n_years = cal.n_years
    months_in, first_month = _month_range(block)
    g = block.group[:, None]
    p_zero = cfg.group_param("p_zero")[g]
    pmpm = cfg.group_param("pmpm")[g] * cost_level(cfg)[None, :]

    effect = cfg.effects["losing_aco"]
    late = cal.bp_of_month() >= effect["from_budget_period"]
    losing_months = ((block.aco == losing_aco) & late).reshape(block.n, n_years, -1).sum(axis=2)
    multiplier = 1 + (effect["cost_multiplier"] - 1) * losing_months / np.maximum(months_in, 1)
    mean = pmpm * months_in * multiplier
    sigma, w = c["sigma"], c["frailty_weight"]
    eps = rng.standard_normal((block.n, n_years))
    z = w * block.frailty[:, None] + np.sqrt(1 - w * w) * eps
    mu = np.log(np.maximum(mean, 1e-9) / (1 - p_zero)) - sigma ** 2 / 2
    positive = (months_in > 0) & (rng.random((block.n, n_years)) >= p_zero)
    cost = np.where(positive, np.exp(mu + sigma * z), 0.0)

    risk = _risk_scores(cfg, rng, block, z, months_in)

    # -- primary-care visits and inpatient admissions: events placed in months ------------
    py_row, py_year = np.nonzero(positive)
    py_cost = cost[py_row, py_year]
    multiplier = program_multipliers(cfg, block)
    p_visit = np.minimum(1.0, cfg.group_param("pcp_visit")[block.group[py_row]] / (1 - p_zero[py_row, 0]))
    n_visits = np.where(rng.random(len(py_row)) < p_visit,
                        np.minimum(1 + rng.poisson(c["pcp_visits_mean_extra"], len(py_row)), MAX_VISITS), 0)
    # the counts are a whole year's: a member enrolled part of the year has that part of them
    n_visits = rng.binomial(n_visits, months_in[py_row, py_year] / N_MONTHS_PER_YEAR)
    visit_owner, visit_month = _place_events(rng, n_visits, py_row, py_year, first_month, months_in,
                                             multiplier[PRIMARY_CARE_VISITS])
    n_visits = np.bincount(visit_owner, minlength=len(py_row))
    unit = rng.uniform(*c["pcp_visit_cost"], len(py_row))
    unit = np.minimum(unit, py_cost / np.maximum(n_visits, 1))
    after_visits = py_cost - n_visits * unit
    adm = c["admissions"]
    beta = adm["cost_elasticity"]
    rate = adm["per_member_year"] * months_in[py_row, py_year] / N_MONTHS_PER_YEAR
    n_adm = rng.poisson(rate * np.exp(beta * z[py_row, py_year] - beta ** 2 / 2))
    adm_owner, adm_month = _place_events(rng, n_adm, py_row, py_year, first_month, months_in,
                                         multiplier[INPATIENT_ADMISSIONS])
    n_adm = np.bincount(adm_owner, minlength=len(py_row))
    adm_unit = np.minimum(rng.uniform(*adm["cost"], len(py_row)), after_visits / np.maximum(n_adm, 1))
    remainder = after_visits - n_adm * adm_unit
    # -- other lines ---------------------------------------------------------------------
    n_lines = np.where(remainder > 0, np.clip(np.ceil(remainder * c["lines_per_1000_usd"] / 1000), 1,
                                              c["max_lines"]), 0).astype(np.int64)
    mix = np.array([c["category_mix"].get(s, 0.0) for s in SERVICE_CATEGORIES])
    line_owner = np.repeat(np.arange(len(py_row)), n_lines)
    line_cat = rng.choice(len(SERVICE_CATEGORIES), len(line_owner), p=mix / mix.sum())
    share = rng.exponential(1.0, len(line_owner))
    share /= np.bincount(line_owner, share, minlength=len(py_row))[line_owner]
    # -- excluded expenditure (Sec 5.2.1.2) -----------------------------------------------
    excl_owner, excl_cat, excl_amount, excl_service = [], [], [], []
    for k, (name, spec) in enumerate(c["exclusions"].items()):
        hit = np.flatnonzero(rng.random(len(py_row)) < spec["rate"])
        excl_owner.append(hit)
        excl_cat.append(np.full(len(hit), EXCLUSION_CATEGORIES.index(name)))
        excl_amount.append(spec["median"] * rng.lognormal(0.0, spec["sigma"], len(hit)))
        excl_service.append(np.full(len(hit), SERVICE_CATEGORIES.index(spec["category"])))
    excl_owner = np.concatenate(excl_owner)

    owner = np.concatenate([visit_owner, adm_owner, line_owner, excl_owner])
    category = np.concatenate([np.full(len(visit_owner), PRIMARY_CARE), np.full(len(adm_owner), INPATIENT_CATEGORY),
                               line_cat, *excl_service])
    # paid amounts are whole cents, as in a real claims extract
    amount = np.round(np.concatenate([unit[visit_owner], adm_unit[adm_owner], remainder[line_owner] * share,
                                      *excl_amount]), 2)
    n_events = len(visit_owner) + len(adm_owner)
    exclusion = np.concatenate([np.full(n_events + len(line_owner), -1), *excl_cat])
    exclusion[category == SERVICE_CATEGORIES.index("ltss")] = EXCLUSION_CATEGORIES.index("ltss")
    visit = category == PRIMARY_CARE
    visit[: len(visit_owner)] &= rng.random(len(visit_owner)) >= NON_VISIT_PRIMARY_CARE

    row = py_row[owner]
    others = owner[n_events:]
    month = np.concatenate([visit_month, adm_month, first_month[py_row[others], py_year[others]] + np.floor(
        rng.random(len(others)) * months_in[py_row[others], py_year[others]]).astype(np.int64)])
    days = (cal.month_ends[month] - cal.months[month]).astype(int) + 1
    service_date = cal.months[month] + np.floor(rng.random(len(owner)) * days).astype("timedelta64[D]")
    provider = _providers(world, rng, block, row, month, category, pc["aco_network_loyalty"], c["pcp_loyalty"])
    order = np.lexsort((service_date, row))
    services = Claims(row[order], month[order], service_date[order], provider[order], category[order],
                      visit[order], amount[order], exclusion[order], expected=mean)
    return split_lines(cfg, lines_rng, services), risk


def split_lines(cfg: Config, rng: np.random.Generator, services: Claims) -> Claims:
    """Each service (a visit, a stay, a pharmacy or other cost item) as the claim lines of a real
    extract: ``1 + Poisson(lines_per_service - 1)`` lines by service category (a line per
    procedure code of a professional visit, per revenue code of an institutional stay, per
    prescription), on the service's member, date, provider, category and exclusion category.

    The service's paid amount is split in whole cents that add up exactly to it (random shares),
    so spending by member, date and category is as before the split; only the first line of a
    primary-care visit (its E&M line) keeps ``visit``, so visits counted as flagged lines or as
    distinct service dates are as before too.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 (claims-based PMPM; the split leaves every sum
    unchanged). Calibration: ``costs.lines_per_service`` in params/synth/synth.yaml, cited in
    docs/synthetic_data.md.
    """
    per_category = cfg.costs["lines_per_service"]
    mean = np.array([per_category[s] for s in SERVICE_CATEGORIES], dtype=float)
    k = 1 + rng.poisson(mean[services.category] - 1)
    owner = np.repeat(np.arange(len(k)), k)
    first = np.cumsum(k) - k
    is_first = np.zeros(len(owner), dtype=bool)
    is_first[first] = True
    # random shares: the running weight within each service over its total, applied to its cents
    weight = rng.exponential(1.0, len(owner))
    running = np.cumsum(weight)
    running -= np.repeat(running[first] - weight[first], k)
    last = first + k - 1
    cents = np.round(services.amount * 100).astype(np.int64)
    # clipped: a tiny first weight can lose its sign to the rounding of the block-wide running sum
    upto = np.clip(np.floor(cents[owner] * (running / running[last][owner])), 0, None).astype(np.int64)
    upto[last] = cents
    before = np.concatenate([[0], upto[:-1]])
    before[first] = 0
    return Claims(services.row[owner], services.month[owner], services.service_date[owner],
                  services.provider[owner], services.category[owner], services.visit[owner] & is_first,
                  (upto - before) / 100, services.exclusion[owner], expected=services.expected)


def program_multipliers(cfg: Config, block: Block) -> dict[str, np.ndarray]:
    """Per outcome, the factor on each member-month's expected events: the planted program effect
    and the selection into ACOs.

    A month attributed to an ACO (enrolled in an A/B ACO, or an MCO member whose PCP is at a
    model C ACO: ``block.aco``; never before the ACO's first budget period with members) has
    ``1 + relative_effect``; every month of a member ever in an ACO has ``selection_ratio`` (who
    joins ACOs differs before joining: a level difference that member effects absorb and a naive
    comparison does not). ``effects.program`` in params/synth/synth.yaml; truth.json
    ``effects.program_effect`` (:func:`program_effect_truth`).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 6.4.1 (the independent evaluation of the demonstration's
    impact); Sec 4.4.4 (attributed member-months).
    """
    in_aco = block.aco >= 0
    ever = in_aco.any(axis=1)
    out = {}
    for outcome, spec in cfg.effects["program"]["outcomes"].items():
        level = np.where(ever, spec["selection_ratio"], 1.0)[:, None]
        out[outcome] = level * np.where(in_aco, 1 + spec["relative_effect"], 1.0)
    return out


def program_effect_truth(cfg: Config, world: World) -> dict:
    """truth.json ``effects.program_effect``: each outcome's planted relative effect and
    selection ratio, and when the effect starts (each ACO's first budget period with members)."""
    periods = cfg.calendar.budget_periods
    start = {aco: str(periods[int(bp)][0]) for aco, bp in zip(world.aco_ids, world.aco_first_bp)}
    outcomes = cfg.effects["program"]["outcomes"]
    return {
        "population": "ACO-attributed member-months from the ACO's first budget period with members",
        "outcomes": [{"outcome": name, "relative_effect": spec["relative_effect"],
                      "selection_ratio": spec["selection_ratio"]} for name, spec in outcomes.items()],
        "start": min(start.values()), "start_by_aco": start,
    }


def _place_events(rng: np.random.Generator, counts: np.ndarray, py_row: np.ndarray, py_year: np.ndarray,
                  first_month: np.ndarray, months_in: np.ndarray, multiplier: np.ndarray):
    """Events of each member-year (``counts``) placed uniformly in its enrolled months, then each
    kept ``floor(m)`` times and once more with probability ``m - floor(m)``, ``m`` the month's
    multiplier: the expected events of a month are multiplied by ``m`` exactly.

    Returns the member-year index (into ``py_row``) and the month of every event.
    """
    owner = np.repeat(np.arange(len(counts)), counts)
    row, year = py_row[owner], py_year[owner]
    month = first_month[row, year] + np.floor(rng.random(len(owner)) * months_in[row, year]).astype(np.int64)
    m = multiplier[row, month]
    copies = np.floor(m).astype(np.int64) + (rng.random(len(owner)) < m - np.floor(m))
    return np.repeat(owner, copies), np.repeat(month, copies)


def _providers(world: World, rng, block: Block, row, month, category, aco_loyalty: float,
               pcp_loyalty: float) -> np.ndarray:
    """Who is paid: visits go to the assigned PCP (loyalty) or another PCP; other lines to a
    provider of the matching type, within the member's ACO with probability ``aco_network_loyalty``."""
    ptype_of_cat = np.array([PROVIDER_TYPES.index(PROVIDER_TYPE_OF_CATEGORY[s]) for s in SERVICE_CATEGORIES])
    ptype = ptype_of_cat[category]
    aco = block.aco[row, month]
    in_network = (aco >= 0) & (rng.random(len(row)) < aco_loyalty)
    provider = world.type_pools.draw(world.type_pool(np.where(in_network, aco, -1), ptype), rng)
    anywhere = world.type_pools.draw(world.type_pool(np.full(len(row), -1), ptype), rng)
    provider = np.where(provider >= 0, provider, anywhere)
    own_pcp = block.pcp[row, month]
    loyal = (category == PRIMARY_CARE) & (own_pcp >= 0) & (rng.random(len(row)) < pcp_loyalty)
    return np.where(loyal, own_pcp, provider)


def _risk_scores(cfg: Config, rng, block: Block, z: np.ndarray, months_in: np.ndarray) -> dict[str, np.ndarray]:
    """Concurrent risk scores: the member's cost driver plus noise, scaled by group cost level.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 (risk adjustment of PMPMs).
    """
    s = cfg.costs["risk_score_sigma"]
    pmpm = cfg.group_param("pmpm")
    share = cfg.group_param("share")
    relative = pmpm / (pmpm * share).sum() * share.sum()
    x = 0.8 * z + 0.6 * rng.standard_normal(z.shape)   # unit variance
    score = relative[block.group][:, None] * np.exp(s * x - s * s / 2)
    row, year = np.nonzero(months_in > 0)
    return {"row": row, "year": cfg.calendar.first_year + year, "risk_score": score[row, year]}
