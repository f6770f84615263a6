"""CP/CSA DSRIP Accountability Score: measure points, domain scores, quality score, accountability.

The chain of Sec 5.4.4, one frame per step:

1. :func:`cp_measure_points` -- 0 to 1 achievement point per measure (Sec 5.4.4.1, Exhibit 41),
   linear between the attainment threshold and the excellence benchmark (the ACO formula of
   ``dsrip_lib.quality.points.achievement_points`` with the CP maximum of one point);
2. :func:`cp_domain_scores` -- the mean of the points of a domain's eligible measures (Exhibit 42);
3. :func:`cp_quality_scores` -- domain scores weighted by entity type (Exhibits 43-45, 46);
4. :func:`cp_accountability` -- the score against the Minimum Quality Score Threshold and the
   Excellence Quality Score Benchmark, plus 50% of the improvement over self (Sec 5.4.4.4); in
   the reporting-only periods, the share of reporting requirements met.

References
----------
MassHealth DSRIP Protocol, Sec 5.4.3, Sec 5.4.4 (Exhibits 41-46), Appendix D.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dsrip_lib.errors import ParameterError
from dsrip_lib.exact import exact
from dsrip_lib.inputs.codes import CP_ENTITY_TYPES, CSA_ENTITY_TYPE
from dsrip_lib.inputs.frame_checks import (
    reject_rows,
    require_columns,
    require_in_range,
    require_positive,
    require_unique,
)
from dsrip_lib.program import Program
from dsrip_lib.quality.measure_scores import with_rates
from dsrip_lib.quality.points import achievement_points

CP_CSA_TYPES = (*CP_ENTITY_TYPES, CSA_ENTITY_TYPE)
KEY = ["entity_id", "budget_period"]
MEASURE_KEY = [*KEY, "measure_id"]
RESULT_COLUMNS = [*MEASURE_KEY, "numerator", "denominator", "rate"]
SLATE_COLUMNS = ["entity_type", "measure_id", "budget_period", "basis", "domain", "higher_is_better"]
BENCHMARK_COLUMNS = ["entity_type", "measure_id", "budget_period", "attainment_threshold", "excellence_benchmark"]
REPORTING, PERFORMANCE = "reporting", "performance"
# Quality scores are weighted sums of fractional points; they meet a cut-off when they do to 12
# decimal places, so float noise in the sum (0.8499999999999999) cannot flip the decision.
SCORE_DECIMALS = 12


def slate_frame(program: Program, entity_types=CP_CSA_TYPES) -> pd.DataFrame:
    """The CP/CSA measure slates as rows: one per measured (entity type, measure, budget period).

    Columns ``entity_type, measure_id, budget_period, basis ("reporting" / "performance"),
    domain, higher_is_better``; periods where a measure is not measured have no row.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.4.2-5.4.3 and Appendix D (BH CP, LTSS CP, CSA slates).
    """
    slates = program.require("measures")
    rows = [(et, m.id, bp, basis, m.domain, bool(m.higher_is_better))
            for et in entity_types for m in slates.slate(et) for bp, basis in sorted(m.basis.items()) if basis]
    return pd.DataFrame(rows, columns=SLATE_COLUMNS)


def cp_results(measure_results: pd.DataFrame, *, utilization: pd.DataFrame | None = None,
               survey_scores: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every CP/CSA performance score as a ``measure_results`` row, from the contract's three tables.

    Avoidable-utilisation measures are scored on the observed/expected ratio (``rate =
    observed / expected``, lower is better) and member-experience composites on the survey
    score (``measure_id = "<survey>.<composite>"``, ``rate = score``), each against its own
    threshold and benchmark; neither has a numerator and denominator, so the minimum
    denominator does not apply to them.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.4.4.1 (performance score per the measure specification),
    Appendix D (BH CP, LTSS CP and CSA slates).
    """
    frames = [measure_results[RESULT_COLUMNS]]
    if utilization is not None:
        require_columns(utilization, "utilization", [*MEASURE_KEY, "observed", "expected"])
        require_positive(utilization, "utilization", "expected", MEASURE_KEY)
        frames.append(utilization[MEASURE_KEY].assign(rate=utilization["observed"] / utilization["expected"]))
    if survey_scores is not None:
        require_columns(survey_scores, "survey_scores", [*KEY, "survey", "composite", "score"])
        frames.append(survey_scores[KEY].assign(measure_id=survey_scores["survey"] + "." + survey_scores["composite"],
                                               rate=survey_scores["score"]))
    return pd.concat([f.reindex(columns=RESULT_COLUMNS) for f in frames], ignore_index=True)


def cp_measure_points(measure_results: pd.DataFrame, entities: pd.DataFrame, benchmarks: pd.DataFrame,
                      program: Program, *, slate: pd.DataFrame | None = None) -> pd.DataFrame:
    """Achievement points (0 to 1) of every CP and CSA measure in every budget period with results.

    Parameters
    ----------
    measure_results : DataFrame
        The contract's ``measure_results`` (``entity_id, budget_period, measure_id,
        numerator, denominator, rate``), with utilisation and survey rows added by
        :func:`cp_results`; rows of entities that are not CPs or CSAs are left out.
        The performance score is ``numerator / denominator`` where both are given, else ``rate``.
    entities : DataFrame
        ``entity_id, entity_type`` (``cp_bh``, ``cp_ltss``, ``csa``; other types are ignored).
    benchmarks : DataFrame
        ``entity_type, measure_id, budget_period, attainment_threshold, excellence_benchmark``
        (e.g. ``dsrip_lib.quality.benchmarks.benchmarks_frame(program)``).
    program : Program
        ``cp_accountability.max_points_per_measure``; ``measure_benchmarks.minimum_denominator``
        (when present) for eligibility; ``measures`` unless ``slate`` is given.
    slate : DataFrame, optional
        Rows as :func:`slate_frame` returns them (default: ``slate_frame(program)``).

    Returns
    -------
    DataFrame
        One row per CP/CSA (with results in the period) x budget period x slate measure
        measured in that period: ``entity_id, entity_type, budget_period, measure_id, domain,
        basis, higher_is_better, reported, numerator, denominator, rate, eligible,
        ineligible_reason, attainment_threshold, excellence_benchmark, achievement_points``.
        A pay-for-performance measure earns the Exhibit 41 points; a pay-for-reporting
        measure earns the maximum when reported and 0 when not (as for ACOs, Sec 5.3.1.5; the
        CP text is silent). Ineligible rows (no result for a pay-for-performance measure, a
        denominator below the minimum) have 0 points and count in no domain.

    Raises
    ------
    InputValidationError
        A missing column, an entity missing from ``entities``, a measure not in the entity
        type's slate or not measured in the period, a duplicate key, a zero denominator, a row
        with no score, or a scored pay-for-performance measure without a threshold and benchmark.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.4.4.1 and Exhibit 41; Sec 5.4.3; Appendix D.
    """
    table = "measure_results (CP/CSA)"
    max_points = program.require("cp_accountability").max_points_per_measure
    slate = slate_frame(program) if slate is None else slate
    require_columns(slate, "measure slate", SLATE_COLUMNS)
    results = _cp_results(measure_results, entities, table)
    unknown = results.merge(slate, on=["entity_type", "measure_id", "budget_period"], how="left", indicator=True)
    reject_rows(unknown, table, unknown["_merge"] == "left_only", "measure_id",
                "the measure is in the entity type's slate and measured in the budget period (Appendix D)",
                [*MEASURE_KEY, "entity_type"])
    expected = results[["entity_id", "entity_type", "budget_period"]].drop_duplicates().merge(
        slate, on=["entity_type", "budget_period"])
    scored = expected.merge(results.drop(columns="entity_type"), on=MEASURE_KEY, how="left", indicator=True)
    scored["reported"] = scored.pop("_merge") == "both"

    minimum = _minimum_denominator(program)
    p4p = scored["basis"] == PERFORMANCE
    reasons = [(p4p & ~scored["reported"], "no result (no eligible members)"),
               (scored["denominator"] < minimum, f"denominator below the minimum of {minimum:g}")]
    scored["ineligible_reason"] = np.select([c for c, _ in reasons], [r for _, r in reasons], default="")
    scored["eligible"] = scored["ineligible_reason"] == ""
    scored = _with_benchmarks(scored, benchmarks, table)

    scored["achievement_points"] = np.where(scored["eligible"] & scored["reported"] & ~p4p, max_points, 0.0)
    graded = scored["eligible"] & p4p
    if graded.any():
        rows = scored[graded]
        scored.loc[graded, "achievement_points"] = achievement_points(
            rows["rate"].to_numpy(), rows["attainment_threshold"].to_numpy(), rows["excellence_benchmark"].to_numpy(),
            higher_is_better=rows["higher_is_better"].to_numpy(dtype=bool), max_points=max_points)
    columns = ["entity_id", "entity_type", "budget_period", "measure_id", "domain", "basis", "higher_is_better",
               "reported", "numerator", "denominator", "rate", "eligible", "ineligible_reason",
               "attainment_threshold", "excellence_benchmark", "achievement_points"]
    return scored[columns].sort_values(MEASURE_KEY, ignore_index=True)


def cp_domain_scores(points: pd.DataFrame) -> pd.DataFrame:
    """Domain score of each CP/CSA, budget period and domain: the mean points of its eligible measures.

    Parameters
    ----------
    points : DataFrame
        :func:`cp_measure_points` output (``entity_id, entity_type, budget_period, domain,
        eligible, achievement_points``).

    Returns
    -------
    DataFrame
        ``entity_id, entity_type, budget_period, domain, eligible_measures, achievement_points
        (sum), score``; a domain with no eligible measure has no row.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.4.4.1 (last paragraph before the point rules), Sec 5.4.4.2
    and Exhibit 42.
    """
    keys = ["entity_id", "entity_type", "budget_period", "domain"]
    require_columns(points, "CP/CSA measure points", [*keys, "eligible", "achievement_points"])
    eligible = points[points["eligible"].astype(bool)]
    out = eligible.groupby(keys, as_index=False).agg(eligible_measures=("achievement_points", "size"),
                                                      achievement_points=("achievement_points", "sum"))
    out["score"] = out["achievement_points"] / out["eligible_measures"]
    return out.sort_values(keys, ignore_index=True)


def cp_quality_scores(domain_scores: pd.DataFrame, program: Program, *, missing_domain: str = "raise") -> pd.DataFrame:
    """Total Quality Score of each CP/CSA and budget period: domain scores weighted by entity type.

    Parameters
    ----------
    domain_scores : DataFrame
        ``entity_id, entity_type, budget_period, domain, score`` (score in [0, 1]).
    program : Program
        ``cp_accountability.domain_weights`` (Exhibits 43-45), keyed by entity type.
    missing_domain : {"raise", "reweight"}
        A weighted domain with no score (no eligible measure) is refused by default; with
        ``"reweight"`` the scored domains' weights are scaled up to sum to 1 (the protocol
        leaves this case to the State and CMS).

    Returns
    -------
    DataFrame
        ``entity_id, entity_type, budget_period, quality_score, weight_scored`` (the sum of
        the weights of the domains scored; 1 unless reweighted).

    Raises
    ------
    ParameterError
        An entity type without weights, a domain without a weight, or an unknown ``missing_domain``.
    InputValidationError
        A score outside [0, 1], a duplicate key, or (``"raise"``) a weighted domain without a
        score, naming the entity, period and domain.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.4.4.3, Exhibits 43-45 and the Exhibit 46 example (80.45%).
    """
    if missing_domain not in ("raise", "reweight"):
        raise ParameterError(f"missing_domain must be 'raise' or 'reweight', got {missing_domain!r}")
    table = "CP/CSA domain scores"
    entity = ["entity_id", "entity_type", "budget_period"]
    require_columns(domain_scores, table, [*entity, "domain", "score"])
    require_unique(domain_scores, table, [*entity, "domain"])
    require_in_range(domain_scores, table, "score", 0.0, 1.0, [*entity, "domain"])
    weights = _domain_weights(program, domain_scores["entity_type"].unique())
    expected = domain_scores[entity].drop_duplicates().merge(weights, on="entity_type")
    rows = expected.merge(domain_scores[[*entity, "domain", "score"]], on=[*entity, "domain"], how="outer")
    reject_rows(rows, table, rows["weight"].isna(), "domain", "the domain has a weight for the entity type "
                "(cp_accountability.domain_weights, Exhibits 43-45)", [*entity, "domain"])
    if missing_domain == "raise":
        reject_rows(rows, table, rows["score"].isna() & (rows["weight"] > 0), "score",
                    "every weighted domain has a score (pass missing_domain='reweight' to reweight)",
                    [*entity, "domain"])
    rows = rows[rows["score"].notna()].assign(weighted=lambda f: f["weight"] * f["score"])
    out = rows.groupby(entity, as_index=False).agg(weighted=("weighted", "sum"), weight_scored=("weight", "sum"))
    out["quality_score"] = out.pop("weighted") / out["weight_scored"]
    return out[[*entity, "quality_score", "weight_scored"]].sort_values(entity, ignore_index=True)


def reporting_requirements(points: pd.DataFrame) -> pd.DataFrame:
    """Reporting requirements met: slate measures reported of those measured, per entity and period.

    The quality measures are the reporting requirements this counts; a State tracking others
    (e.g. progress reports) passes its own frame to :func:`cp_accountability`.

    Returns
    -------
    DataFrame
        ``entity_id, entity_type, budget_period, requirements, requirements_met``.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.4.4.4 (last paragraph: 90% of reporting requirements met
    earns 90% of the at-risk funds).
    """
    entity = ["entity_id", "entity_type", "budget_period"]
    require_columns(points, "CP/CSA measure points", [*entity, "reported"])
    return points.groupby(entity, as_index=False).agg(requirements=("reported", "size"),
                                                      requirements_met=("reported", "sum"))


def cp_accountability(quality: pd.DataFrame, program: Program, *, reporting: pd.DataFrame | None = None,
                      thresholds: pd.DataFrame | None = None) -> pd.DataFrame:
    """CP/CSA DSRIP Accountability Score of each entity and budget period.

    Performance periods (Sec 5.4.4.4), with ``improvement = 50% x max(0, quality - previous
    period's quality)``:

    * quality at or above the Excellence Quality Score Benchmark: 100%;
    * below the Minimum Quality Score Threshold: the improvement contribution only;
    * in between: ``min(1, quality + improvement)``.

    Reporting-only periods (Sec 5.4.4.4, last paragraph; ``reporting_only_budget_periods``):
    ``requirements_met / requirements``.

    Parameters
    ----------
    quality : DataFrame
        ``entity_id, entity_type, budget_period, quality_score`` (:func:`cp_quality_scores`);
        its rows in performance periods are scored (rows in reporting-only periods are ignored,
        and are not a previous score: the first performance period has no improvement).
    program : Program
        ``cp_accountability`` (improvement share, reporting-only periods, thresholds).
    reporting : DataFrame, optional
        ``entity_id, entity_type, budget_period, requirements, requirements_met``
        (:func:`reporting_requirements` or the State's own count); its rows in reporting-only
        periods are scored.
    thresholds : DataFrame, optional
        ``entity_type, budget_period, minimum, excellence``: the State's thresholds. Default:
        ``cp_accountability.illustrative_quality_score_thresholds`` in every period.

    Returns
    -------
    DataFrame
        ``entity_id, entity_type, budget_period, basis, quality_score,
        previous_quality_score, improvement_over_self, minimum, excellence,
        requirements_met_share, accountability_score``; columns that do not apply to a row's
        basis are missing (NaN).

    Raises
    ------
    ParameterError
        A period with no score (the Preparation Budget Period) or an entity type/period with no
        thresholds.
    InputValidationError
        A missing column, duplicate key, score out of [0, 1], or requirements not 0 <= met <= required > 0.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.4.4.4 (the 100%, 5% and 80% examples), Sec 5.4.3.
    """
    cp = program.require("cp_accountability")
    entity = ["entity_id", "entity_type", "budget_period"]
    _refuse_prep([quality, reporting], cp)
    performance = _performance_rows(quality, cp, entity)
    scored = _performance_scores(performance, _thresholds(thresholds, cp, performance), cp)
    scored["basis"] = PERFORMANCE
    reported = _reporting_rows(reporting, cp, entity)
    columns = [*entity, "basis", "quality_score", "previous_quality_score", "improvement_over_self", "minimum",
               "excellence", "requirements_met_share", "accountability_score"]
    out = pd.concat([scored.reindex(columns=columns), reported.reindex(columns=columns)], ignore_index=True)
    return out.sort_values(entity, ignore_index=True)


def _cp_results(measure_results: pd.DataFrame, entities: pd.DataFrame, table: str) -> pd.DataFrame:
    require_columns(measure_results, table, RESULT_COLUMNS)
    require_columns(entities, "entities", ["entity_id", "entity_type"])
    require_unique(entities, "entities", ["entity_id"])
    results = measure_results[RESULT_COLUMNS].merge(entities[["entity_id", "entity_type"]], on="entity_id",
                                                    how="left")
    reject_rows(results, table, results["entity_type"].isna(), "entity_id", "the entity is in the entities table",
                MEASURE_KEY)
    return with_rates(results[results["entity_type"].isin(CP_CSA_TYPES)], table)


def _minimum_denominator(program: Program) -> float:
    benchmarks = getattr(program, "measure_benchmarks", None)
    return float(getattr(benchmarks, "minimum_denominator", None) or 0)


def _with_benchmarks(scored: pd.DataFrame, benchmarks: pd.DataFrame, table: str) -> pd.DataFrame:
    require_columns(benchmarks, "benchmarks", BENCHMARK_COLUMNS)
    key = ["entity_type", "measure_id", "budget_period"]
    require_unique(benchmarks, "benchmarks", key)
    scored = scored.merge(benchmarks[BENCHMARK_COLUMNS], on=key, how="left")
    lacking = scored["eligible"] & (scored["basis"] == PERFORMANCE) & scored[
        ["attainment_threshold", "excellence_benchmark"]].isna().any(axis=1)
    reject_rows(scored, f"{table} (with benchmarks)", lacking, "attainment_threshold, excellence_benchmark",
                "a pay-for-performance measure has a threshold and a benchmark in its budget period", key)
    return scored


def _domain_weights(program: Program, entity_types) -> pd.DataFrame:
    weights = program.require("cp_accountability").domain_weights
    missing = sorted(set(entity_types) - set(weights))
    if missing:
        raise ParameterError(f"cp_accountability.domain_weights has no weights for entity type(s) {missing} "
                             f"(Exhibits 43-45 weigh {sorted(weights)})")
    return pd.DataFrame([(et, d, w) for et in entity_types for d, w in weights[et].items()],
                        columns=["entity_type", "domain", "weight"])


def _performance_rows(quality: pd.DataFrame, cp, entity: list[str]) -> pd.DataFrame:
    table = "CP/CSA quality scores"
    require_columns(quality, table, [*entity, "quality_score"])
    require_unique(quality, table, entity)
    require_in_range(quality, table, "quality_score", 0.0, 1.0, entity)
    quality = quality[[*entity, "quality_score"]]
    performance = quality[~quality["budget_period"].isin(cp.reporting_only_budget_periods)]
    previous = performance.rename(columns={"quality_score": "previous_quality_score"}).assign(
        budget_period=lambda f: f["budget_period"] + 1)
    return performance.merge(previous, on=entity, how="left")


def _thresholds(thresholds: pd.DataFrame | None, cp, performance: pd.DataFrame) -> pd.DataFrame:
    pairs = performance[["entity_type", "budget_period"]].drop_duplicates()
    if thresholds is None:
        stated = cp.illustrative_quality_score_thresholds
        thresholds = pd.DataFrame([(et, bp, stated[et].minimum, stated[et].excellence)
                                   for et, bp in pairs.itertuples(index=False) if et in stated],
                                  columns=["entity_type", "budget_period", "minimum", "excellence"])
    require_columns(thresholds, "quality score thresholds", ["entity_type", "budget_period", "minimum", "excellence"])
    require_unique(thresholds, "quality score thresholds", ["entity_type", "budget_period"])
    merged = pairs.merge(thresholds, on=["entity_type", "budget_period"], how="left")
    lacking = merged[merged[["minimum", "excellence"]].isna().any(axis=1)]
    if len(lacking):
        raise ParameterError("no Minimum Quality Score Threshold / Excellence Quality Score Benchmark for "
                             f"{lacking[['entity_type', 'budget_period']].to_dict('records')[:5]} (Sec 5.4.4.4)")
    inverted = merged[~(merged["minimum"] < merged["excellence"])]
    if len(inverted):
        raise ParameterError(f"minimum quality score not below the excellence benchmark: "
                             f"{inverted.to_dict('records')[:5]}")
    return merged


def _performance_scores(performance: pd.DataFrame, thresholds: pd.DataFrame, cp) -> pd.DataFrame:
    out = performance.merge(thresholds, on=["entity_type", "budget_period"], how="left")
    gain = (out["quality_score"] - out["previous_quality_score"]).clip(lower=0).fillna(0.0)
    out["improvement_over_self"] = cp.improvement_over_self_share * gain
    quality = [exact(round(float(q), SCORE_DECIMALS)) for q in out["quality_score"]]
    excellent = np.array([q >= exact(e) for q, e in zip(quality, out["excellence"])], dtype=bool)
    below = np.array([q < exact(m) for q, m in zip(quality, out["minimum"])], dtype=bool)
    blended = (out["quality_score"] + out["improvement_over_self"]).clip(upper=1.0)
    out["accountability_score"] = np.select([excellent, below], [1.0, out["improvement_over_self"]], blended)
    return out


def _reporting_rows(reporting: pd.DataFrame | None, cp, entity: list[str]) -> pd.DataFrame:
    if reporting is None:
        return pd.DataFrame(columns=[*entity, "basis", "requirements_met_share", "accountability_score"])
    table = "CP/CSA reporting requirements"
    require_columns(reporting, table, [*entity, "requirements", "requirements_met"])
    rows = reporting[reporting["budget_period"].isin(cp.reporting_only_budget_periods)]
    require_unique(rows, table, entity)
    require_positive(rows, table, "requirements", entity)
    met = pd.to_numeric(rows["requirements_met"], errors="coerce")
    reject_rows(rows, table, ~((met >= 0) & (met <= rows["requirements"])), "requirements_met",
                "0 <= requirements_met <= requirements", [*entity, "requirements", "requirements_met"])
    share = [float(exact(m) / exact(r)) for m, r in zip(rows["requirements_met"], rows["requirements"])]
    return rows[entity].assign(basis=REPORTING, requirements_met_share=share, accountability_score=share)


def _refuse_prep(frames: list[pd.DataFrame | None], cp) -> None:
    first = min(cp.reporting_only_budget_periods)
    early = sorted({int(bp) for f in frames if f is not None and "budget_period" in f for bp in f["budget_period"]
                    if bp < first})
    if early:
        raise ParameterError(f"no CP/CSA DSRIP Accountability Score in budget period(s) {early}: the first scored "
                             f"period is the first reporting-only period, BP {first} (Sec 5.4.4.4)")
