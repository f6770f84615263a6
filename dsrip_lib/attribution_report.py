"""Presentation tables for the attribution report (notebooks/attribution.ipynb).

Pure functions: computed tables in (``dsrip_lib.attribution``, ``member_months``,
``adoption``), the report's tables out, with ACO names beside ids and budget
periods as column labels. Suppression happens when the notebook publishes them
(``dsrip_lib.publish``); anything charted is taken from the published frame.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from dsrip_lib.adoption import AdoptionResult
from dsrip_lib.member_months import Period, attributed_members
from dsrip_lib.publish import plot_values

ACO_COLUMNS = ["aco_id", "name", "model"]
ADOPTION_PATHS = {"path_aco": "via ACO", "path_apm_pcp": "via APM PCP", "path_apm_spending": "via APM spending"}
FLOW_LABELS = {  # members_before and members_after are labelled with their months
    "kept": "kept",
    "lost_to_other_aco": "to other ACO",
    "lost_to_non_aco": "to non-ACO",
    "gained_from_other_aco": "from other ACO",
    "gained_from_non_aco": "from non-ACO",
}


def aco_directory(entities: pd.DataFrame) -> pd.DataFrame:
    """ACOs with their name and model (A, B or C), one row each: ``aco_id``, ``name``, ``model``.

    References
    ----------
    Protocol 4.4.4 (ACO models and how members are attributed to each).
    """
    acos = entities.loc[entities["entity_type"] == "aco", ["entity_id", "name", "aco_model"]]
    return acos.rename(columns={"entity_id": "aco_id", "aco_model": "model"}).reset_index(drop=True)


def periods_in_data(periods: Sequence[Period], first_month: dt.date, last_month: dt.date) -> list[Period]:
    """The budget periods overlapping the months the enrollment data covers, in calendar order.

    References
    ----------
    Protocol 4.4.4 (counts per ACO budget period).
    """
    first, last = pd.Timestamp(first_month), pd.Timestamp(last_month)
    return [p for p in periods if pd.Timestamp(p.start) <= last and pd.Timestamp(p.end) >= first]


def with_names(table: pd.DataFrame, acos: pd.DataFrame) -> pd.DataFrame:
    """``table`` (keyed by ``aco_id``) with each ACO's name as the second column; rows kept as they are."""
    return acos[["aco_id", "name"]].merge(table, on="aco_id", how="right")


def per_period_wide(
    by_period: pd.DataFrame, value: str, acos: pd.DataFrame, labels: dict[int, str]
) -> pd.DataFrame:
    """One row per ACO, one column per budget period (its label) holding ``value``.

    ``by_period`` has ``aco_id``, ``budget_period`` (a number of ``labels``) and
    ``value``; an ACO without a row in a period gets 0 there (no members). ACOs
    absent from ``by_period`` are left out.

    References
    ----------
    Protocol 4.4.4 (member-months and attributed members per ACO and budget period).
    """
    wide = (
        by_period.pivot(index="aco_id", columns="budget_period", values=value)
        .reindex(columns=list(labels))
        .fillna(0)
        .astype(by_period[value].dtype)  # the pivot's gaps made integers float
        .rename(columns=labels)
    )
    wide.columns = [str(c) for c in wide.columns]
    return acos.merge(wide.reset_index(), on="aco_id", how="right")


def attributed_members_by_period(
    counts: pd.DataFrame, periods: Sequence[Period], method: str
) -> pd.DataFrame:
    """``member_months.attributed_members`` of each period, stacked with a ``budget_period`` column.

    References
    ----------
    Protocol 4.4.4 (snapshot or average count per period); 4.4.1 (CHC members).
    """
    frames = [attributed_members(counts, p.start, p.end, method).assign(budget_period=p.number) for p in periods]
    return pd.concat(frames, ignore_index=True)


def chc_share_by_period(members: pd.DataFrame, labels: dict[int, str]) -> pd.DataFrame:
    """Attributed members and CHC-attributed members per budget period, all ACOs.

    ``members`` has ``budget_period``, ``members`` and ``chc_members`` per ACO
    (``attributed_members_by_period``). Returns ``period`` (its label),
    ``members``, ``chc_members``, ``chc_share``, one row per period of ``labels``
    that has members, in the order of ``labels``.

    References
    ----------
    Protocol 4.4.1 (members attributed to community health centers, the CHC
    variant of Exhibit 7); 4.4.4 (attributed members).
    """
    sums = members.groupby("budget_period")[["members", "chc_members"]].sum()
    out = sums.reindex([n for n in labels if n in sums.index])
    out["chc_share"] = out["chc_members"] / out["members"]
    return out.rename(index=labels).rename_axis("period").reset_index()


def chc_share_by_aco(members: pd.DataFrame, acos: pd.DataFrame, budget_period: int) -> pd.DataFrame:
    """Members, CHC-attributed members and CHC share per ACO in one budget period.

    References
    ----------
    Protocol 4.4.1 (CHC variant, Exhibit 7); 4.4.4.
    """
    rows = members.loc[members["budget_period"] == budget_period, ["aco_id", "members", "chc_members", "chc_share"]]
    return acos.merge(rows, on="aco_id")


def members_by_model(counts: pd.DataFrame, acos: pd.DataFrame) -> pd.DataFrame:
    """Attributed members per month (rows) and ACO model (columns ``Model A`` ...).

    References
    ----------
    Protocol 4.4.4 (members attributed by enrollment in model A/B ACOs and by
    PCP assignment to model C ACOs).
    """
    models = counts.merge(acos[["aco_id", "model"]], on="aco_id")
    trend = models.pivot_table(index="month", columns="model", values="members", aggfunc="sum", fill_value=0)
    trend.columns = [f"Model {m}" for m in trend.columns]
    trend.index.name = "month"
    return trend


def row_shares(matrix: pd.DataFrame) -> pd.DataFrame:
    """Each cell as a share of its row's total, a missing (suppressed) cell left out.

    The denominator is the sum of the cells shown, not the true row total:
    dividing a published count by its share would otherwise give the total back,
    and with it the suppressed cell. A row with nothing shown is all missing.

    References
    ----------
    Protocol 4.4.4 (movement of members between ACOs and the rest of MassHealth).
    """
    totals = matrix.sum(axis=1, min_count=1)
    return matrix.div(totals.where(totals > 0), axis=0)


def aco_flows_table(summary: pd.DataFrame, acos: pd.DataFrame, month_from: dt.date, month_to: dt.date) -> pd.DataFrame:
    """``attribution.aco_flow_summary`` with ACO names and reader-facing column labels.

    The first and last counts are labelled with their months (``Mar 2019``).

    References
    ----------
    Protocol 4.4.4.
    """
    labels = {"members_before": f"{month_from:%b %Y}", **FLOW_LABELS, "members_after": f"{month_to:%b %Y}"}
    return with_names(summary, acos).rename(columns=labels)


def aco_flow_margins(month_from: dt.date, month_to: dt.date) -> dict[str, list[str]]:
    """The row totals of ``aco_flows_table``: members in the first month are kept or lost, in the last kept or gained.

    References
    ----------
    Protocol 4.4.4.
    """
    return {
        f"{month_from:%b %Y}": [FLOW_LABELS[k] for k in ("kept", "lost_to_other_aco", "lost_to_non_aco")],
        f"{month_to:%b %Y}": [FLOW_LABELS[k] for k in ("kept", "gained_from_other_aco", "gained_from_non_aco")],
    }


def flow_column_totals(published_matrix: pd.DataFrame, month_from: dt.date, month_to: dt.date) -> dict[str, float]:
    """What the published flows matrix tells of each column sum of ``aco_flows_table``.

    ``published_matrix`` is the ``flow_matrix`` as published (``from`` a column,
    suppressed cells as markers). Each per-ACO column sums to one matrix cell or a
    sum of matrix cells (kept: ACO to ACO (same); lost to another ACO and gained
    from one: ACO to ACO (other); ...); the sum is NaN where one of those cells is
    hidden, since the reader then cannot take it. A column the matrix dropped (all
    zero) counts 0. For complementary suppression (``Publisher.table(column_totals=)``).

    References
    ----------
    Protocol 4.4.4 (movement of members between ACOs and the rest of MassHealth).
    """
    shown = plot_values(published_matrix.set_index("from"))
    for col in ("ACO (same)", "ACO (other)", "ACO"):
        if col not in shown:  # the matrix drops all-zero columns
            shown[col] = 0
    aco, others = shown.loc["ACO"], shown.drop(index="ACO")
    same, other = aco["ACO (same)"], aco["ACO (other)"]
    from_non_aco = others["ACO"].sum(skipna=False)
    return {
        f"{month_from:%b %Y}": aco.sum(skipna=False),
        FLOW_LABELS["kept"]: same,
        FLOW_LABELS["lost_to_other_aco"]: other,
        FLOW_LABELS["lost_to_non_aco"]: aco.drop(["ACO (same)", "ACO (other)"]).sum(skipna=False),
        FLOW_LABELS["gained_from_other_aco"]: other,
        FLOW_LABELS["gained_from_non_aco"]: from_non_aco,
        f"{month_to:%b %Y}": same + other + from_non_aco,
    }


def plurality_agreement(plurality: pd.DataFrame, rule: pd.DataFrame) -> tuple[int, float]:
    """Members attributed by both methods, and the fraction both give to the same ACO.

    ``plurality`` and ``rule`` hold ``member_id`` and ``aco_id``; the fraction is
    0.0 when no member is attributed by both.

    References
    ----------
    CT MQISSP primer (PCMH claims-plurality attribution); protocol 4.4.4.
    """
    both = plurality[["member_id", "aco_id"]].merge(rule[["member_id", "aco_id"]], on="member_id",
                                                    suffixes=("_pl", "_rule"))
    agree = float((both["aco_id_pl"] == both["aco_id_rule"]).mean()) if len(both) else 0.0
    return len(both), agree


def adoption_table(results: Sequence[AdoptionResult], labels: dict[int, str]) -> pd.DataFrame:
    """One row per budget period: ACO-eligible members, members per path, adopted, rate, target, result.

    ``result`` is ``pass``, ``fail``, or ``n/a`` where Exhibit 26 sets no target.

    References
    ----------
    Protocol 5.2.1.1 (MassHealth ACO/APM adoption rate), Exhibit 26.
    """
    return pd.DataFrame([{
        "period": labels[r.budget_period],
        "ACO-eligible": r.denominator,
        **{label: r.by_path[path] for path, label in ADOPTION_PATHS.items()},
        "adopted": r.numerator,
        "rate": r.rate,
        "target": r.target,
        "result": "n/a" if r.passed is None else ("pass" if r.passed else "fail"),
    } for r in results])
