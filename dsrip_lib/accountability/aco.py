"""ACO DSRIP Accountability Score, the at-risk funds it earns, and remediation earn-back.

* the score blends the quality component (Sec 5.3.1) and the TCOC component (Sec 5.3.2) with
  the budget period's Exhibit 31 weights;
* each withheld sub-stream amount (sub-streams 2 and 4, Exhibit 20) earns score x withheld;
* a DSRIP Performance Remediation Plan earns back unearned x approved share x plan score / 10.

The earned and remediation rules are the same for CPs and CSAs (Sec 5.4.4.4, 5.4.6.1): the
functions take any entity's score.

References
----------
MassHealth DSRIP Protocol, Sec 5.3.1 (Exhibit 31), Sec 5.3.3, Sec 5.3.4, Sec 5.4.6.1.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.inputs.frame_checks import (
    reject_rows,
    require_columns,
    require_finite,
    require_in_range,
    require_unique,
)
from dsrip_lib.program import Program

KEY = ["entity_id", "budget_period"]
SCORE_COLUMNS = [*KEY, "quality_score", "tcoc_component", "quality_weight", "tcoc_weight", "accountability_score"]
QUALITY, TCOC = "quality", "tcoc"


def aco_accountability(quality: pd.DataFrame, tcoc: pd.DataFrame | None, program: Program) -> pd.DataFrame:
    """ACO DSRIP Accountability Score of each ACO and budget period.

    ``accountability_score = quality_weight x quality_score + tcoc_weight x tcoc_component``
    with the weights of Exhibit 31 for the row's budget period (quality only in BP 1-2).

    Parameters
    ----------
    quality : DataFrame
        ``entity_id, budget_period, quality_score`` (in [0, 1]; the Exhibit 32 weighted sum of
        domain scores); one row per ACO and period. Its rows are the rows scored.
    tcoc : DataFrame or None
        ``entity_id, budget_period, tcoc_component`` (in [0, 1]; e.g. the output of
        ``dsrip_lib.spending.tcoc_component.tcoc_components``; other columns, and periods
        not in ``quality``, are ignored). Needed only for periods where Exhibit 31 gives TCOC
        a weight.
    program : Program
        Supplies ``aco_accountability.component_weights`` (Exhibit 31).

    Returns
    -------
    DataFrame
        ``entity_id, budget_period, quality_score, tcoc_component, quality_weight,
        tcoc_weight, accountability_score``, sorted by entity and period. ``tcoc_component``
        is missing (NaN) exactly where ``tcoc_weight`` is 0 (the component does not count).

    Raises
    ------
    ParameterError
        If Exhibit 31 states no weights for a budget period in ``quality`` (the Preparation
        Budget Period has no score).
    InputValidationError
        For a missing column, a duplicate ACO-period, a score outside [0, 1], a period where
        TCOC has a weight but an ACO has no TCOC component (named), or a TCOC component for an
        ACO-period without a quality score.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1 and Exhibit 31; Sec 5.3.3 (the BP 4 example).
    """
    accountability = program.require("aco_accountability")
    _check_scores(quality, "ACO quality scores", "quality_score")
    weights = _weights(accountability, quality["budget_period"].unique())
    out = quality[[*KEY, "quality_score"]].copy()
    out["quality_weight"] = out["budget_period"].map(lambda bp: weights[bp].get(QUALITY, 0.0)).astype("float64")
    out["tcoc_weight"] = out["budget_period"].map(lambda bp: weights[bp].get(TCOC, 0.0)).astype("float64")
    out = _with_tcoc(out, tcoc)
    blended = out["quality_weight"] * out["quality_score"] + out["tcoc_weight"] * out["tcoc_component"].fillna(0.0)
    out["accountability_score"] = blended.clip(upper=1.0)  # weights sum to 1: only float noise exceeds 1
    out.loc[out["tcoc_weight"] == 0, "tcoc_component"] = np.nan
    return out[SCORE_COLUMNS].sort_values(KEY, ignore_index=True)


def earned_at_risk(scores: pd.DataFrame, withheld: pd.DataFrame) -> pd.DataFrame:
    """At-risk funds earned and unearned: each withheld amount times the entity's score.

    Parameters
    ----------
    scores : DataFrame
        ``entity_id, budget_period, accountability_score`` (in [0, 1]); e.g. the output of
        :func:`aco_accountability` or the CP/CSA scores.
    withheld : DataFrame
        ``entity_id, budget_period, stream, withheld_usd`` (>= 0): the amount withheld from each
        at-risk sub-stream (for ACOs, sub-streams 2 and 4 at the Exhibit 20 shares).

    Returns
    -------
    DataFrame
        ``entity_id, budget_period, stream, withheld_usd, accountability_score, earned_usd,
        unearned_usd``, sorted by entity, period and stream. Amounts are not rounded.

    Raises
    ------
    InputValidationError
        For a missing column, duplicate keys, a negative or missing amount, a score outside
        [0, 1], or a withheld amount whose entity and period have no score (named).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3 (introduction), Sec 5.3.3; Sec 5.4.4.4 for CPs and CSAs.
    """
    _check_scores(scores, "accountability scores", "accountability_score")
    table = "withheld at-risk funds"
    require_columns(withheld, table, [*KEY, "stream", "withheld_usd"])
    require_unique(withheld, table, [*KEY, "stream"])
    require_finite(withheld, table, "withheld_usd", [*KEY, "stream"])
    reject_rows(withheld, table, withheld["withheld_usd"] < 0, "withheld_usd", "an amount >= 0", [*KEY, "stream"])
    out = withheld[[*KEY, "stream", "withheld_usd"]].merge(
        scores[[*KEY, "accountability_score"]], on=KEY, how="left", validate="many_to_one")
    reject_rows(out, table, out["accountability_score"].isna(), "entity_id, budget_period",
                "every withheld amount has an accountability score", [*KEY, "stream"])
    out["earned_usd"] = out["accountability_score"] * out["withheld_usd"]
    out["unearned_usd"] = out["withheld_usd"] - out["earned_usd"]
    return out.sort_values([*KEY, "stream"], ignore_index=True)


def remediation_earn_back(unearned, approved_share: float, plan_score: float, program: Program):
    """Unearned withheld funds earned back through a DSRIP Performance Remediation Plan.

    ``earn_back = unearned x approved_share x plan_score / max_score`` where the State's
    approved share is at most ``at_risk.remediation_max_earn_back_share`` (60%) and the plan
    score is a point value in [0, ``at_risk.remediation_plan_max_score``] (0-10).

    Parameters
    ----------
    unearned : float or Series
        Unearned, withheld funds (>= 0), e.g. ``earned_at_risk(...)["unearned_usd"]``.
    approved_share : float
        Share of the unearned funds the State determines can be earned back.
    plan_score : float
        The Performance Remediation Plan Score.
    program : Program
        Supplies the 60% maximum and the 10-point scale.

    Returns
    -------
    float or Series
        Same shape as ``unearned``; not rounded.

    Raises
    ------
    ParameterError
        If the approved share is outside [0, 60%] or the plan score outside [0, 10].
    InputValidationError
        If an unearned amount is negative or not a finite number.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.4 (the $35,000 example) and Sec 5.4.6.1.
    """
    at_risk = program.require("at_risk")
    maximum, scale = at_risk.remediation_max_earn_back_share, at_risk.remediation_plan_max_score
    if not (_number(approved_share) and 0 <= approved_share <= maximum):
        raise ParameterError(f"remediation approved share must be in [0, {maximum:g}] (Sec 5.3.4: at most "
                             f"{maximum:.0%} of unearned funds), got {approved_share!r}")
    if not (_number(plan_score) and 0 <= plan_score <= scale):
        raise ParameterError(f"Performance Remediation Plan Score must be in [0, {scale:g}], got {plan_score!r}")
    amounts = np.asarray(unearned, dtype="float64")
    if not (np.isfinite(amounts) & (amounts >= 0)).all():
        raise InputValidationError(f"unearned withheld funds must be finite amounts >= 0, got {unearned!r}")
    return unearned * approved_share * (plan_score / scale)


def _number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(value)


def _check_scores(frame: pd.DataFrame, table: str, column: str) -> None:
    require_columns(frame, table, [*KEY, column])
    require_unique(frame, table, KEY)
    require_in_range(frame, table, column, 0.0, 1.0, KEY)


def _weights(accountability, periods) -> dict[int, dict[str, float]]:
    weights = {int(bp): accountability.component_weights_in(int(bp)) for bp in periods}
    missing = sorted(bp for bp, w in weights.items() if not w)
    if missing:
        raise ParameterError(f"Exhibit 31 states no ACO DSRIP Accountability Score weights for budget period(s) "
                             f"{missing} (aco_accountability.component_weights)")
    return weights


def _with_tcoc(out: pd.DataFrame, tcoc: pd.DataFrame | None) -> pd.DataFrame:
    table = "ACO TCOC components"
    if tcoc is None:
        tcoc = pd.DataFrame({"entity_id": pd.Series(dtype=out["entity_id"].dtype),
                             "budget_period": pd.Series(dtype="int64"), "tcoc_component": pd.Series(dtype="float64")})
    _check_scores(tcoc, table, "tcoc_component")
    tcoc = tcoc.loc[tcoc["budget_period"].isin(out["budget_period"]), [*KEY, "tcoc_component"]]
    merged = out.merge(tcoc, on=KEY, how="outer", indicator=True)
    reject_rows(merged, table, merged["_merge"] == "right_only", "entity_id, budget_period",
                "in a scored period, every ACO with a TCOC component has a quality score", KEY)
    reject_rows(merged, table, (merged["tcoc_weight"] > 0) & merged["tcoc_component"].isna(), "tcoc_component",
                "present for every ACO in a period where Exhibit 31 weights TCOC", [*KEY, "tcoc_weight"])
    return merged.drop(columns="_merge")
