"""What the generator knows by construction: ACO/APM adoption per budget period, written to truth.json.

The adoption rate here is computed from the generator's own month-by-month arrays, independently
of ``dsrip_lib.attribution``/``dsrip_lib.accountability.adoption``, so that those can be tested against it.
"""

from __future__ import annotations

import numpy as np

from dsrip_lib.exact import exact
from dsrip_lib.inputs.codes import ACO_PLAN_TYPES, MCO_ADMINISTERED_MODEL, MCO_PLAN_TYPE
from dsrip_lib.synth.claims import PRIMARY_CARE, Claims
from dsrip_lib.synth.config import Config
from dsrip_lib.synth.entities import World
from dsrip_lib.synth.population import Block

PATHS = ("path_aco", "path_apm_pcp", "path_apm_spending")
COUNTS = ("denominator", "numerator", *PATHS)


def block_adoption(cfg: Config, world: World, block: Block, claims: Claims) -> dict[int, np.ndarray]:
    """Counts (denominator, numerator, members of the denominator on each path) per budget period.

    The agreed rule: the denominator is every member with an ``aco_eligible`` enrolment month in
    the period. A member counts if, in some such month, (1) the plan is ``aco_a``/``aco_b``, or
    the plan is ``mco`` and the PCP in effect on the month's last day belongs to a model C ACO;
    (2) the plan is ``mco`` and that PCP is APM-paid; or (3) more than the program's threshold of
    the member's non-primary-care paid amount in the period went to APM-paid providers.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.1 and Exhibit 26; Sec 4.4.4 (attribution to
    MCO-administered ACOs by PCP assignment).
    """
    threshold = cfg.program.require("state_accountability").adoption.apm_non_primary_care_share_threshold
    eligible = cfg.aco_eligible(block.group)
    plan_type = np.append(world.plan_type, "none")
    pcp_model = np.append(np.append(world.aco_model, "")[world.provider_aco], "")
    pcp_apm = np.append(world.provider_apm, False)
    out = {}
    for bp, (start, end) in cfg.calendar.budget_periods.items():
        cols = cfg.calendar.bp_months(bp)
        months = block.enrolled[:, cols] & eligible[:, None]
        ptype = plan_type[block.plan[:, cols]]
        eff = block.eff_pcp[:, cols]
        mco = ptype == MCO_PLAN_TYPE
        path_aco = (months & (np.isin(ptype, ACO_PLAN_TYPES) | (mco & (pcp_model[eff] == MCO_ADMINISTERED_MODEL)))).any(axis=1)
        path_apm_pcp = (months & mco & pcp_apm[eff]).any(axis=1)
        in_bp = ((claims.service_date >= np.datetime64(start)) & (claims.service_date <= np.datetime64(end))
                 & (claims.category != PRIMARY_CARE))
        # in whole cents and exact integers (dsrip_lib.exact): 20.00% of the spending is not "more than 20%"
        paid = np.round(claims.amount[in_bp] * 100).astype(np.int64)
        total = np.bincount(claims.row[in_bp], paid, minlength=block.n).astype(np.int64)
        to_apm = np.bincount(claims.row[in_bp], paid * world.provider_apm[claims.provider[in_bp]],
                             minlength=block.n).astype(np.int64)
        share = exact(threshold)
        path_spending = (total > 0) & (to_apm * share.denominator > total * share.numerator)
        den = months.any(axis=1)
        num = den & (path_aco | path_apm_pcp | path_spending)
        out[bp] = np.array([den.sum(), num.sum(), (den & path_aco).sum(), (den & path_apm_pcp).sum(),
                            (den & path_spending).sum()], dtype=np.int64)
    return out


def adoption_truth(cfg: Config, counts: dict[int, np.ndarray]) -> dict[str, dict]:
    """truth.json's ``adoption`` block: counts, rate, Exhibit 26 target and pass/fail per period.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.1 and Exhibit 26 (pass if the rate meets the target; the
    Preparation Budget Period has no target).
    """
    targets = cfg.program.state_accountability.adoption.targets
    out = {}
    for bp, c in sorted(counts.items()):
        entry = dict(zip(COUNTS, map(int, c)))
        rate = entry["numerator"] / entry["denominator"] if entry["denominator"] else None
        target = targets.get(bp)
        entry |= {"rate": rate, "target": target,
                  "meets_target": None if target is None or rate is None else rate >= target}
        out[str(bp)] = entry
    return out
