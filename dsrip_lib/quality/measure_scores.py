"""ACO measure scores: eligibility, pay-for-reporting credit, achievement and improvement points.

One row per ACO x budget period x measure of the slate, whether or not the ACO reported it,
so that a pay-for-reporting measure left out earns nothing rather than disappearing.

References
----------
MassHealth DSRIP Protocol, Sec 5.3.1.2 (Exhibits 33-34), Sec 5.3.1.5 (pay for reporting vs
pay for performance), Appendix D (measure slate and basis by budget period).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from dsrip_lib.inputs.frame_checks import reject_rows, require_columns, require_unique
from dsrip_lib.program import Program
from dsrip_lib.program.measures import wrong_side
from dsrip_lib.quality.points import achievement_points, improvement_points, improvement_tests

KEY = ["entity_id", "budget_period", "measure_id"]
RESULT_COLUMNS = [*KEY, "numerator", "denominator", "rate", "eligible_members"]
# Measures scored from the measure_results table (utilisation and surveys have tables of their own).
RESULT_KINDS = ("binomial", "ratio", "engagement")
REPORTING, PERFORMANCE, NOT_MEASURED = "reporting", "performance", "not measured"
SCORED_COLUMNS = [
    *KEY, "domain", "basis", "higher_is_better", "reported", "rate", "numerator", "denominator", "eligible",
    "ineligible_reason", "attainment_threshold", "excellence_benchmark", "achievement_points", "previous_rate",
    "improvement_pvalue", "improvement_points",
]


def score_aco_measures(measure_results: pd.DataFrame, program: Program, benchmarks: pd.DataFrame) -> pd.DataFrame:
    """Score every ACO x budget period x measure of the ACO slate (quality domains 1-5).

    Parameters
    ----------
    measure_results : DataFrame
        The contract's ``measure_results`` rows of ACOs only (the caller selects them, e.g. by
        joining ``entities`` on ``entity_type == "aco"``): ``entity_id, budget_period,
        measure_id, numerator, denominator, rate, eligible_members``.
    program : Program
        Needs ``measures`` (the Appendix D slate and each measure's basis by budget period),
        ``measure_benchmarks.minimum_denominator`` and ``aco_accountability``.
    benchmarks : DataFrame
        ``measure_id, budget_period, attainment_threshold, excellence_benchmark`` (and
        ``entity_type``, of which the ``aco`` rows are used), e.g. ``benchmarks_frame(program)``.

    Returns
    -------
    DataFrame
        One row per ACO (present in ``measure_results`` in that period) x budget period x slate
        measure measured in that period (plus any reported row of a measure not measured then),
        columns ``SCORED_COLUMNS``, sorted by ``entity_id, budget_period, measure_id``.
        ``eligible`` is False (with ``ineligible_reason``) below the minimum denominator, for a
        pay-for-performance measure with no result, and for a measure not measured in the
        period; ineligible rows have 0 points and leave their domain's numerator and
        denominator. A pay-for-reporting measure earns the maximum achievement points when
        reported (``reported``) and 0 when not, and no improvement points. ``improvement_pvalue``
        is NaN where no test was run (no previous score, no counts, or pay for reporting).

    Raises
    ------
    InputValidationError
        A measure missing from the slate, a duplicate key, a zero denominator, a row with
        neither counts nor a rate, a pay-for-performance measure in a period without a
        threshold and benchmark, or a benchmark on the wrong side of its threshold.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.2 (eligibility, achievement points and Exhibit 33,
    improvement points and Exhibit 34), Sec 5.3.1.5, Appendix D.
    """
    slate = {m.id: m for m in program.require("measures").slate("aco") if m.kind in RESULT_KINDS}
    return score_measures(measure_results, program, benchmarks, slate, table="measure_results")


def score_measures(results: pd.DataFrame, program: Program, benchmarks: pd.DataFrame, slate: Mapping,
                   *, table: str) -> pd.DataFrame:
    """The scoring of :func:`score_aco_measures` for any slate of proportion or ratio measures.

    ``slate`` maps measure ids to the program's ``Measure`` objects; ``table`` names the input
    in error messages.
    """
    require_columns(results, table, RESULT_COLUMNS)
    results = _checked(results[RESULT_COLUMNS].copy(), slate, table)
    achievement = program.require("aco_accountability").achievement
    improvement = program.aco_accountability.improvement
    minimum = program.require("measure_benchmarks").minimum_denominator

    scored = with_unreported(results, slate)
    scored["ineligible_reason"] = ineligible_reasons(scored, _size(scored) < minimum,
                                                     f"denominator below the minimum of {minimum:g}")
    scored["eligible"] = scored["ineligible_reason"] == ""
    scored = _with_benchmarks(scored, benchmarks)
    reported, basis = scored["reported"], scored["basis"]
    p4p = scored["eligible"] & (basis == PERFORMANCE)
    points = np.where(scored["eligible"] & reported & (basis == REPORTING), achievement.max_points_per_measure, 0.0)
    if p4p.any():
        rows = scored[p4p]
        points[p4p.to_numpy()] = achievement_points(
            rows["rate"].to_numpy(), rows["attainment_threshold"].to_numpy(), rows["excellence_benchmark"].to_numpy(),
            higher_is_better=rows["higher_is_better"].to_numpy(), max_points=achievement.max_points_per_measure)
    scored["achievement_points"] = points

    scored = _with_previous(scored, minimum)
    tested = p4p & scored["previous_rate"].notna()
    missing = np.where(tested, 1.0, np.nan)  # NaN counts: no test outside the tested rows
    tests = improvement_tests(
        scored["measure_id"].map(lambda m: slate[m].kind), scored["previous_numerator"] * missing,
        scored["previous_denominator"] * missing, scored["numerator"] * missing, scored["denominator"] * missing,
        higher_is_better=scored["higher_is_better"].to_numpy(dtype=bool))
    scored["improvement_pvalue"] = tests["pvalue"].to_numpy()
    scored["improvement_points"] = improvement_points(tests["pvalue"], tests["improved"], alpha=improvement.alpha,
                                                      points_per_measure=improvement.points_per_measure)
    return scored[SCORED_COLUMNS].sort_values(KEY, kind="stable").reset_index(drop=True)


def ineligible_reasons(scored: pd.DataFrame, too_small: pd.Series, too_small_reason: str) -> np.ndarray:
    """Why each row is ineligible ("" when eligible): a reported measure not measured in the period,
    one too small to score, or a pay-for-performance measure without a result.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.2 (eligibility, e.g. a minimum denominator), Appendix D.
    """
    reported, basis = scored["reported"], scored["basis"]
    reasons = [
        (reported & (basis == NOT_MEASURED), "not measured in this budget period (Appendix D)"),
        (reported & too_small, too_small_reason),
        (~reported & (basis == PERFORMANCE), "no result (no eligible members)"),
    ]
    return np.select([c for c, _ in reasons], [r for _, r in reasons], default="")


def _size(scored: pd.DataFrame) -> pd.Series:
    """The size checked against the minimum denominator: the denominator, else the eligible members."""
    return scored["denominator"].where(scored["denominator"].notna(), scored["eligible_members"])


def _checked(results: pd.DataFrame, slate: Mapping, table: str) -> pd.DataFrame:
    """The rows, refused when they break a scoring rule, with ``rate`` from the counts where given."""
    reject_rows(results, table, ~results["measure_id"].isin(list(slate)), "measure_id",
                f"measure is one of the {len(slate)} measures of the program's slate scored from this table", KEY)
    return with_rates(results, table)


def with_rates(results: pd.DataFrame, table: str) -> pd.DataFrame:
    """Measure results (``entity_id, budget_period, measure_id, numerator, denominator, rate``) with
    ``rate`` = numerator / denominator where the counts are given, else the stated rate.

    Raises
    ------
    InputValidationError
        A duplicated key, a zero denominator, or a row with neither counts nor a rate, naming the rows.
    """
    require_unique(results, table, KEY)
    reject_rows(results, table, results["denominator"] == 0, "denominator", "denominator > 0 (a zero denominator)",
                [*KEY, "numerator", "denominator"])
    counted = results["numerator"].notna() & results["denominator"].notna()
    reject_rows(results, table, ~counted & results["rate"].isna(), "rate",
                "numerator and denominator, or rate, is given", KEY)
    results = results.copy()
    results["rate"] = (results["numerator"] / results["denominator"]).where(counted, results["rate"])
    return results


def with_unreported(results: pd.DataFrame, slate: Mapping) -> pd.DataFrame:
    """The results plus a row for every slate measure an entity did not report in a period it has results.

    Adds ``reported`` and, from the slate, ``basis`` ("reporting", "performance" or "not
    measured" in the row's budget period), ``domain`` and ``higher_is_better``.
    """
    plan = pd.DataFrame(
        [(m.id, bp, m.basis_in(bp) or NOT_MEASURED, m.domain, bool(m.higher_is_better))
         for m in slate.values() for bp in sorted(m.basis)],
        columns=["measure_id", "budget_period", "basis", "domain", "higher_is_better"])
    entity_periods = results[["entity_id", "budget_period"]].drop_duplicates()
    expected = entity_periods.merge(plan[plan["basis"] != NOT_MEASURED], on="budget_period")[KEY]
    rows = results.merge(expected, on=KEY, how="outer", indicator=True)
    rows["reported"] = rows.pop("_merge") != "right_only"
    return rows.merge(plan, on=["measure_id", "budget_period"], how="left")


def _with_benchmarks(scored: pd.DataFrame, benchmarks: pd.DataFrame) -> pd.DataFrame:
    """Attach each measure's threshold and benchmark; refuse a scored P4P measure without them."""
    cols = ["measure_id", "budget_period", "attainment_threshold", "excellence_benchmark"]
    require_columns(benchmarks, "benchmarks", cols)
    if "entity_type" in benchmarks.columns:
        benchmarks = benchmarks[benchmarks["entity_type"] == "aco"]
    require_unique(benchmarks, "benchmarks", ["measure_id", "budget_period"])
    scored = scored.merge(benchmarks[cols], on=["measure_id", "budget_period"], how="left")
    used = scored["attainment_threshold"].notna() & scored["excellence_benchmark"].notna()
    reject_rows(scored, "benchmarks", used & pd.Series(
        [wrong_side(t, b, h) for t, b, h in zip(scored["attainment_threshold"], scored["excellence_benchmark"],
                                                scored["higher_is_better"])], index=scored.index, dtype=bool),
        "attainment_threshold", "the threshold is worse than the benchmark (below it, or above it for a "
        "lower-is-better measure)", ["measure_id", "budget_period", "attainment_threshold", "excellence_benchmark"])
    lacking = scored["eligible"] & (scored["basis"] == PERFORMANCE) \
        & scored[["attainment_threshold", "excellence_benchmark"]].isna().any(axis=1)
    reject_rows(scored, "benchmarks", lacking, "attainment_threshold, excellence_benchmark",
                "a pay-for-performance measure has a threshold and a benchmark in its budget period", KEY)
    return scored


def _with_previous(scored: pd.DataFrame, minimum: float) -> pd.DataFrame:
    """Attach the previous budget period's performance score (a reported row meeting the minimum size)."""
    has_score = scored["reported"] & (scored["basis"] != NOT_MEASURED) & (_size(scored) >= minimum)
    previous = scored.loc[has_score, [*KEY, "rate", "numerator", "denominator"]].rename(columns={
        "rate": "previous_rate", "numerator": "previous_numerator", "denominator": "previous_denominator"})
    previous["budget_period"] = previous["budget_period"] + 1
    return scored.merge(previous, on=KEY, how="left")
