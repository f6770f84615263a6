"""ACO domain scores and the Quality Score: points over available points, capped; weighted domains.

References
----------
MassHealth DSRIP Protocol, Sec 5.3.1.1 (Exhibit 32), Sec 5.3.1.2 (Domain Score, Exhibit 35),
Sec 5.3.1.3 (domains 6 and 7).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.inputs.frame_checks import require_columns
from dsrip_lib.program import Program

MissingDomain = Literal["raise", "reweight"]
POINT_COLUMNS = ["entity_id", "budget_period", "domain", "eligible", "achievement_points", "improvement_points"]
DOMAIN_COLUMNS = ["entity_id", "budget_period", "domain", "eligible_measures", "achievement_points",
                  "improvement_points_earned", "improvement_points", "available_points", "score"]


def aco_domain_scores(scored: pd.DataFrame, program: Program, *, utilization: pd.DataFrame | None = None,
                      survey_scores: pd.DataFrame | None = None,
                      missing_domain: MissingDomain = "raise") -> pd.DataFrame:
    """Each ACO's unweighted domain scores per budget period.

    In every domain: available = max achievement points x eligible measures; improvement
    points are capped at ``max_share_of_domain_achievement_points`` x available; score =
    min(1, (achievement + capped improvement) / available). Ineligible measures count in
    neither numerator nor denominator.

    Parameters
    ----------
    scored : DataFrame
        :func:`~dsrip_lib.quality.measure_scores.score_aco_measures` (domains 1-5).
    utilization : DataFrame, optional
        :func:`~dsrip_lib.quality.utilization.score_utilization` (domain 6).
    survey_scores : DataFrame, optional
        :func:`~dsrip_lib.quality.experience.score_experience` (domain 7).
    missing_domain : {"raise", "reweight"}
        What to do when an ACO has no eligible measure in a domain weighted above 0 in that
        budget period (the protocol leaves the reweighting to the State and CMS, Sec 5.3.1.1):
        refuse (default) or leave the domain out, for :func:`aco_quality_score` to reweight.

    Returns
    -------
    DataFrame
        ``DOMAIN_COLUMNS``: one row per ACO x budget period x domain with an eligible measure;
        ``improvement_points_earned`` before the cap, ``improvement_points`` after it.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.2, Domain Score and Exhibit 35 (1.5 + 2 over 4 =
    87.5%; 3.3 + 2 capped at 4 = 100%); Sec 5.3.1.3 (domain 6: 2 points per measure meeting
    its reduction target).
    """
    _check_choice(missing_domain)
    parts = [p for p in (scored, utilization, survey_scores) if p is not None]
    for name, part in zip(("scored", "utilization", "survey_scores"), (scored, utilization, survey_scores)):
        if part is not None:
            require_columns(part, name, POINT_COLUMNS)
    points = pd.concat([p[POINT_COLUMNS] for p in parts], ignore_index=True)
    entity_periods = points[["entity_id", "budget_period"]].drop_duplicates()

    eligible = points[points["eligible"].astype(bool)]
    domains = eligible.groupby(["entity_id", "budget_period", "domain"], as_index=False, sort=True).agg(
        eligible_measures=("eligible", "size"), achievement_points=("achievement_points", "sum"),
        improvement_points_earned=("improvement_points", "sum"))
    accountability = program.require("aco_accountability")
    domains["available_points"] = domains["eligible_measures"] * accountability.achievement.max_points_per_measure
    cap = domains["available_points"] * accountability.improvement.max_share_of_domain_achievement_points
    domains["improvement_points"] = np.minimum(domains["improvement_points_earned"], cap)
    domains["score"] = np.minimum(
        1.0, (domains["achievement_points"] + domains["improvement_points"]) / domains["available_points"])
    if missing_domain == "raise":
        missing = missing_weighted_domains(entity_periods, domains, program)
        if len(missing):
            raise _missing_error(missing)
    return domains[DOMAIN_COLUMNS].reset_index(drop=True)


def aco_quality_score(domain_scores: pd.DataFrame, program: Program, *,
                      missing_domain: MissingDomain = "raise") -> pd.DataFrame:
    """Each ACO's Quality Score per budget period: the Exhibit 32 weighted sum of its domain scores.

    Parameters
    ----------
    domain_scores : DataFrame
        :func:`aco_domain_scores`.
    missing_domain : {"raise", "reweight"}
        An ACO without a score in a domain weighted above 0 in the period: refuse (default;
        Sec 5.3.1.1 leaves the redistribution to the DSRIP Quality Committee, the State and
        CMS), or "reweight": the weights of the domains present, divided by their sum
        (proportional redistribution; a named option, not the protocol's rule).

    Returns
    -------
    DataFrame
        ``entity_id, budget_period, quality_score, reweighted`` (whether domains were missing).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.1 and Exhibit 32.
    """
    _check_choice(missing_domain)
    require_columns(domain_scores, "domain_scores", ["entity_id", "budget_period", "domain", "score"])
    frame = domain_scores[["entity_id", "budget_period", "domain", "score"]]
    weights = _weights(program, frame["budget_period"].unique())
    frame = frame.merge(weights, on=["budget_period", "domain"], how="left")
    unknown = frame[frame["weight"].isna()]
    if len(unknown):
        first = unknown.iloc[0]
        raise ParameterError(f"domain {first['domain']!r} has no Exhibit 32 weight in budget period "
                             f"{first['budget_period']} ({len(unknown)} domain score rows)")
    entity_periods = frame[["entity_id", "budget_period"]].drop_duplicates()
    missing = missing_weighted_domains(entity_periods, frame, program)
    if missing_domain == "raise" and len(missing):
        raise _missing_error(missing)
    frame = frame.assign(weighted=frame["score"] * frame["weight"])
    out = frame.groupby(["entity_id", "budget_period"], as_index=False, sort=True).agg(
        weighted=("weighted", "sum"), weight=("weight", "sum"))
    if (out["weight"] <= 0).any():
        first = out[out["weight"] <= 0].iloc[0]
        raise InputValidationError(f"ACO {first['entity_id']} in budget period {first['budget_period']}: "
                                   "no domain with a positive weight has a score")
    out["quality_score"] = out["weighted"] / out["weight"]
    lacking = missing[["entity_id", "budget_period"]].drop_duplicates().assign(reweighted=True)
    out = out.merge(lacking, on=["entity_id", "budget_period"], how="left")
    out["reweighted"] = out["reweighted"].fillna(False).astype(bool)
    return out[["entity_id", "budget_period", "quality_score", "reweighted"]]


def missing_weighted_domains(entity_periods: pd.DataFrame, domains: pd.DataFrame, program: Program) -> pd.DataFrame:
    """``entity_id, budget_period, domain`` for each domain weighted above 0 in the period without a score."""
    weights = _weights(program, entity_periods["budget_period"].unique())
    expected = entity_periods.merge(weights[weights["weight"] > 0], on="budget_period")
    merged = expected.merge(domains[["entity_id", "budget_period", "domain"]], how="left", indicator=True)
    return merged.loc[merged["_merge"] == "left_only", ["entity_id", "budget_period", "domain"]] \
        .sort_values(["entity_id", "budget_period", "domain"]).reset_index(drop=True)


def _weights(program: Program, periods) -> pd.DataFrame:
    domains = program.require("quality_domains")
    rows = [(int(bp), key, w) for bp in sorted(periods) for key, w in domains.weights_in(int(bp)).items()]
    for bp in sorted(periods):
        if not domains.weights_in(int(bp)):
            raise ParameterError(f"budget period {bp}: Exhibit 32 gives no domain weights (no ACO quality score)")
    return pd.DataFrame(rows, columns=["budget_period", "domain", "weight"])


def _missing_error(missing: pd.DataFrame) -> InputValidationError:
    examples = "; ".join(f"ACO {r.entity_id}, budget period {r.budget_period}, domain {r.domain}"
                         for r in missing.head(5).itertuples())
    return InputValidationError(
        f"{len(missing)} ACO x budget period x domain combination(s) weighted above 0 have no eligible measure "
        f"(e.g. {examples}). The protocol leaves the reweighting to the State and CMS (Sec 5.3.1.1): supply "
        "the scores, or pass missing_domain=\"reweight\" for proportional reweighting over the domains present")


def _check_choice(missing_domain: str) -> None:
    if missing_domain not in ("raise", "reweight"):
        raise ParameterError(f"missing_domain must be 'raise' or 'reweight', got {missing_domain!r}")
