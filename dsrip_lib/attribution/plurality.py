"""Claims-plurality (PCMH) attribution, and its agreement with the enrollment / PCP rule.

The participating PCP with the most qualifying primary-care visits in a look-back window
wins the member, ties broken deterministically (the PCMH attribution method of Connecticut DSS,
MQISSP primer).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from dsrip_lib.errors import ParameterError
from dsrip_lib.inputs.codes import PCP_PROVIDER_TYPE
from dsrip_lib.program import lookback_window

TieBreak = Literal["most_recent_visit", "provider_id"]


def check_tie_break(tie_break: tuple[str, ...]) -> tuple[str, ...]:
    """The tie-break order, checked to name every tie-break exactly once (so no tie is left to row order)."""
    if sorted(tie_break) != sorted(TieBreak.__args__):
        raise ParameterError(f"tie_break must list each of {TieBreak.__args__} once, got {tuple(tie_break)}")
    return tuple(tie_break)


def plurality_attribution(
    claims: ir.Table,
    providers: ir.Table,
    as_of: dt.date,
    lookback_months: int = 24,
    tie_break: tuple[TieBreak, ...] = ("most_recent_visit", "provider_id"),
) -> ir.Table:
    """Claims-plurality (PCMH) attribution of members to participating PCPs.

    Window: the ``lookback_months`` whole calendar months ending with the as-of month,
    up to ``as_of`` (24 months to 2018-12-31 is 2017-01-01..2018-12-31; 12 months to
    2021-02-28 starts 2020-03-01). Qualifying visits are claims with
    ``primary_care_visit`` to a participating PCP: a provider of type ``pcp`` with an
    ``aco_id`` (a visit flagged on another provider type does not count). Each member
    goes to the PCP with the most visits; ties are
    broken by ``tie_break`` in order: ``most_recent_visit`` (the later last
    visit wins), ``provider_id`` (the smaller NPI wins).

    Returns one row per attributed member: ``member_id``, ``npi``, ``aco_id``,
    ``visits``, ``last_visit``.

    References
    ----------
    Connecticut DSS, "A Brief Primer on the Medicaid Quality Improvement and Shared
    Savings Program (MQISSP)" (the PCMH attribution method); MassHealth DSRIP Protocol,
    Sec 4.4.4 (members attributed to ACOs through participating PCPs).
    """
    if lookback_months < 1:
        raise ParameterError(f"lookback_months must be >= 1, got {lookback_months}")
    check_tie_break(tie_break)
    # window bounds as date literals (not date - interval, a timestamp on DuckDB that
    # stops the filter being pushed into the Parquet scan)
    window = lookback_window(as_of, lookback_months)
    participating = providers.filter(providers.aco_id.notnull(), providers.provider_type == PCP_PROVIDER_TYPE)
    participating = participating.select("npi", "aco_id")
    visits = claims.filter(
        claims.primary_care_visit,
        claims.service_date.between(ibis.literal(window.start, type="date"), ibis.literal(window.end, type="date")),
    )
    visits = visits.join(participating, visits.provider_npi == participating.npi)
    per_pcp = visits.group_by(["member_id", "npi", "aco_id"]).aggregate(
        visits=visits.count(), last_visit=visits.service_date.max()
    )
    keys = {"most_recent_visit": ibis.desc(per_pcp.last_visit), "provider_id": per_pcp.npi}
    order = [ibis.desc(per_pcp.visits), *(keys[k] for k in tie_break)]
    ranked = per_pcp.mutate(_rank=ibis.row_number().over(group_by=per_pcp.member_id, order_by=order))
    return ranked.filter(ranked._rank == 0).drop("_rank")


def compare_with_plurality(plurality: pd.DataFrame, attribution_month: pd.DataFrame) -> pd.DataFrame:
    """Per ACO: members attributed by claims plurality, by the enrollment/PCP rule, and by both.

    ``attribution_month`` is the monthly attribution of one month (usually the
    as-of month). ``agree`` counts members both methods give to this ACO.

    References
    ----------
    Connecticut DSS, "A Brief Primer on the Medicaid Quality Improvement and Shared
    Savings Program (MQISSP)" (PCMH attribution); MassHealth DSRIP Protocol, Sec 4.4.4.
    """
    j = plurality[["member_id", "aco_id"]].merge(
        attribution_month[["member_id", "aco_id"]], on="member_id", how="outer", suffixes=("_pl", "_rule")
    )
    out = pd.DataFrame({
        "plurality": j.groupby("aco_id_pl").size(),
        "enrollment_or_pcp": j.groupby("aco_id_rule").size(),
        "agree": j[j.aco_id_pl == j.aco_id_rule].groupby("aco_id_pl").size(),
    }).fillna(0).astype("int64")
    out.index.name = "aco_id"
    return out.sort_index().reset_index()
