"""Every ACO quality score of a data set in one call: measures, domains 1-7, the Quality Score.

The stage's entry point for reports and for an analyst with the contract's tables as plain
frames: it selects the ACO rows, scores domains 1-5 from ``measure_results``, domain 6 from
``utilization`` and domain 7 from ``survey_scores``, then the domain scores and the Exhibit 32
weighted Quality Score.

References
----------
MassHealth DSRIP Protocol, Sec 5.3.1 (Exhibits 32-37), Appendix D.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from dsrip_lib.inputs.codes import ACO_ENTITY_TYPE
from dsrip_lib.inputs.frame_checks import require_columns
from dsrip_lib.program import Program
from dsrip_lib.quality.benchmarks import benchmarks_frame, check_benchmarks
from dsrip_lib.quality.domain_scores import MissingDomain, aco_domain_scores, aco_quality_score
from dsrip_lib.quality.experience import score_experience
from dsrip_lib.quality.measure_scores import score_aco_measures
from dsrip_lib.quality.utilization import score_utilization


@dataclass(frozen=True)
class AcoQuality:
    """The ACO quality scores of one data set.

    Attributes
    ----------
    measures : DataFrame
        Domains 1-5, one row per ACO x budget period x measure
        (:func:`~dsrip_lib.quality.measure_scores.score_aco_measures`).
    experience : DataFrame
        Domain 7 survey composites (:func:`~dsrip_lib.quality.experience.score_experience`).
    utilization : DataFrame
        Domain 6 (:func:`~dsrip_lib.quality.utilization.score_utilization`).
    domains : DataFrame
        :func:`~dsrip_lib.quality.domain_scores.aco_domain_scores`.
    quality : DataFrame
        ``entity_id, budget_period, quality_score, reweighted``.
    benchmarks : DataFrame
        The attainment thresholds and excellence benchmarks used.
    """

    measures: pd.DataFrame = field(repr=False)
    experience: pd.DataFrame = field(repr=False)
    utilization: pd.DataFrame = field(repr=False)
    domains: pd.DataFrame = field(repr=False)
    quality: pd.DataFrame = field(repr=False)
    benchmarks: pd.DataFrame = field(repr=False)

    @property
    def scored(self) -> pd.DataFrame:
        """Domains 1-5 and 7 together: every measure scored against a threshold and benchmark."""
        return pd.concat([self.measures, self.experience], ignore_index=True)

    @property
    def rates(self) -> pd.DataFrame:
        """:attr:`scored` rows with a rate: the observations of the State's domain tests (a
        pay-for-reporting measure left unreported is eligible for its 0 points but has no rate)."""
        scored = self.scored
        return scored[scored["rate"].notna()].reset_index(drop=True)

    def summary(self) -> str:
        q = self.quality
        lines = [f"ACO quality: {q['entity_id'].nunique()} ACOs, budget periods "
                 f"{', '.join(map(str, sorted(q['budget_period'].unique())))}"]
        for bp, scores in q.groupby("budget_period")["quality_score"]:
            lines.append(f"  BP {bp}: Quality Score median {scores.median():.1%} "
                         f"(min {scores.min():.1%}, max {scores.max():.1%})")
        return "\n".join(lines)


def aco_ids(entities: pd.DataFrame) -> set[str]:
    """The entity ids of ACOs in the contract's ``entities`` table."""
    require_columns(entities, "entities", ["entity_id", "entity_type"])
    return set(entities.loc[entities["entity_type"] == ACO_ENTITY_TYPE, "entity_id"])


def score_aco_quality(measure_results: pd.DataFrame, utilization: pd.DataFrame, survey_scores: pd.DataFrame,
                      entities: pd.DataFrame, program: Program, *, benchmarks: pd.DataFrame | None = None,
                      missing_domain: MissingDomain = "raise",
                      utilization_baseline: pd.DataFrame | None = None) -> AcoQuality:
    """Score every ACO, measure and budget period of the data set.

    Parameters
    ----------
    measure_results, utilization, survey_scores, entities : DataFrame
        The contract's tables (every entity type; the ACO rows are selected here).
    program : Program
        Needs ``measures``, ``measure_benchmarks``, ``quality_domains``, ``aco_accountability``.
    benchmarks : DataFrame, optional
        Attainment thresholds and excellence benchmarks (``benchmarks_frame`` columns); default
        the program's illustrative values. Checked against the slate first.
    missing_domain : {"raise", "reweight"}
        A budget period with no score for a weighted domain: refuse, or reweight
        proportionally (:func:`~dsrip_lib.quality.domain_scores.aco_quality_score`).
    utilization_baseline : DataFrame, optional
        CY2017 ``entity_id, measure_id, observed, expected``; default each ACO's first
        budget period in ``utilization``.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1 (Exhibits 32-37), Appendix D.
    """
    benchmarks = benchmarks_frame(program) if benchmarks is None else benchmarks
    check_benchmarks(benchmarks, program)
    acos = aco_ids(entities)
    measures = score_aco_measures(measure_results[measure_results["entity_id"].isin(acos)], program, benchmarks)
    experience = score_experience(survey_scores[survey_scores["entity_id"].isin(acos)], program, benchmarks)
    used = score_utilization(utilization[utilization["entity_id"].isin(acos)], program,
                             baseline=utilization_baseline)
    domains = aco_domain_scores(measures, program, utilization=used, survey_scores=experience,
                                missing_domain=missing_domain)
    quality = aco_quality_score(domains, program, missing_domain=missing_domain)
    return AcoQuality(measures, experience, used, domains, quality, benchmarks)
