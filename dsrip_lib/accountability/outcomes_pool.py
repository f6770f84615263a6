"""Outcomes-based payment pools for BH and LTSS CPs (sub-stream 3).

From BP 3 each CP type has an annual pool (BH CPs about $1M, LTSS CPs about $500,000). A CP
whose Avoidable Utilization domain score is 1 (it met or exceeded the Excellence Benchmark of
every measure of the domain) is eligible; the pool is divided among the eligible CPs of the
type in proportion to their engaged members. Shares are not rounded (discrepancy D2: the
published $171,400 is the share rounded to 17.14% before multiplying).

References
----------
MassHealth DSRIP Protocol, Sec 4.5.3, Sec 4.5.6, Sec 5.4.5.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from dsrip_lib.errors import ParameterError
from dsrip_lib.inputs.codes import CP_ENTITY_TYPES
from dsrip_lib.inputs.frame_checks import reject_rows, require_columns, require_in_range, require_unique
from dsrip_lib.program import Program

AVOIDABLE_UTILIZATION = "avoidable_utilization"
ENTITY = ["entity_id", "entity_type", "budget_period"]
COLUMNS = [*ENTITY, "avoidable_utilization_score", "eligible", "engaged_members", "eligible_engaged_members",
           "pool_share", "pool_usd", "award_usd"]


def pool_shares(engaged: pd.Series, eligible: pd.Series) -> pd.Series:
    """Each CP's share of its pool: engaged members over all engaged members of the eligible CPs.

    0 for an ineligible CP; all 0 when no CP is eligible (the pool is not awarded).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.5.3 (1,200 of 7,000: 17.14%), Sec 4.5.6 (800 of 5,000:
    16%), Sec 5.4.5 (1,000 of 5,000: 20%).
    """
    counted = engaged.where(eligible, 0)
    total = counted.sum()
    return counted / total if total > 0 else counted * 0.0


def outcomes_pool_awards(domain_scores: pd.DataFrame, engaged: pd.DataFrame, program: Program, *,
                         pool_usd: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Outcomes-based payment of each BH and LTSS CP in each budget period with a pool.

    Parameters
    ----------
    domain_scores : DataFrame
        ``entity_id, entity_type, budget_period, domain, score`` (e.g.
        ``dsrip_lib.accountability.cp.cp_domain_scores``); only the ``avoidable_utilization``
        rows of BH and LTSS CPs are read. A CP without that domain score is not eligible.
    engaged : DataFrame
        ``entity_id, entity_type, budget_period, engaged_members`` (>= 0): the members engaged
        with each CP in the period. Its CP rows define who is in a pool.
    program : Program
        ``cp_payments.outcomes_pool_usd`` (pool by CP type and period; none before BP 3).
    pool_usd : mapping, optional
        Pool by entity type, replacing the program's anticipated amounts (the State "may vary
        this amount") in every period that has a pool.

    Returns
    -------
    DataFrame
        ``entity_id, entity_type, budget_period, avoidable_utilization_score, eligible,
        engaged_members, eligible_engaged_members, pool_share, pool_usd, award_usd`` for the
        periods with a pool (rows of periods without one are left out); amounts not rounded.

    Raises
    ------
    InputValidationError
        Missing columns, duplicate keys, negative or missing engaged members, scores outside [0, 1].
    ParameterError
        A ``pool_usd`` entry that is not a CP type or not a non-negative number.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.5.3, Sec 4.5.6 and Sec 5.4.5.
    """
    pools = _pools(program, pool_usd)
    require_columns(engaged, "CP engaged members", [*ENTITY, "engaged_members"])
    require_columns(domain_scores, "CP/CSA domain scores", [*ENTITY, "domain", "score"])
    cps = engaged[engaged["entity_type"].isin(CP_ENTITY_TYPES)][[*ENTITY, "engaged_members"]]
    require_unique(cps, "CP engaged members", ENTITY)
    reject_rows(cps, "CP engaged members", ~(pd.to_numeric(cps["engaged_members"], errors="coerce") >= 0),
                "engaged_members", "a count >= 0", [*ENTITY, "engaged_members"])
    scores = domain_scores[domain_scores["domain"] == AVOIDABLE_UTILIZATION]
    require_unique(scores, "CP/CSA domain scores", ENTITY)
    require_in_range(scores, "CP/CSA domain scores", "score", 0.0, 1.0, ENTITY)

    out = cps.merge(scores[[*ENTITY, "score"]].rename(columns={"score": "avoidable_utilization_score"}),
                    on=ENTITY, how="left")
    out["pool_usd"] = [pools.get((et, int(bp))) for et, bp in zip(out["entity_type"], out["budget_period"])]
    out = out[out["pool_usd"].notna()].copy()
    out["pool_usd"] = out["pool_usd"].astype("float64")
    # a domain score of 1 is every measure at or beyond its excellence benchmark: every point is
    # exactly the maximum, so their mean is exactly 1.0
    out["eligible"] = (out["avoidable_utilization_score"] == 1.0).fillna(False).astype(bool)
    pool = ["entity_type", "budget_period"]
    out["eligible_engaged_members"] = out["engaged_members"].where(out["eligible"], 0).groupby(
        [out[c] for c in pool]).transform("sum")
    out["pool_share"] = 0.0
    for _, index in out.groupby(pool).groups.items():
        out.loc[index, "pool_share"] = pool_shares(out.loc[index, "engaged_members"], out.loc[index, "eligible"])
    out["award_usd"] = out["pool_share"] * out["pool_usd"]
    return out[COLUMNS].sort_values(ENTITY, ignore_index=True)


def _pools(program: Program, override: Mapping[str, float] | None) -> dict[tuple[str, int], float]:
    stated = program.require("cp_payments").outcomes_pool_usd
    if override is not None:
        bad = {k: v for k, v in override.items()
               if k not in CP_ENTITY_TYPES or not isinstance(v, (int, float)) or not v >= 0}
        if bad:
            raise ParameterError(f"pool_usd: entries {bad} are not a CP type {list(CP_ENTITY_TYPES)} "
                                 "with an amount >= 0")
    return {(et, bp): (override or {}).get(et, amount)
            for et, by_period in stated.items() for bp, amount in by_period.items() if amount is not None}
