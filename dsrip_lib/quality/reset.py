"""The protocol's benchmark reset trigger: a measure most ACOs miss, or most ACOs master.

References
----------
MassHealth DSRIP Protocol, Sec 5.3.1.2, Achievement Points 4 ("If the State finds that 75% of
ACOs have not met the Attainment Thresholds for a particular measure ... If ... 75% or more of
ACOs have met the Excellence Benchmarks ...").
"""

from __future__ import annotations

import pandas as pd

from dsrip_lib.exact import at_least
from dsrip_lib.inputs.frame_checks import require_columns
from dsrip_lib.program import Program
from dsrip_lib.quality.measure_scores import PERFORMANCE
from dsrip_lib.quality.points import exact_rate, meets_benchmark, misses_threshold

COLUMNS = ["measure_id", "budget_period", "acos", "below_threshold", "at_benchmark", "share_below_threshold",
           "share_at_benchmark", "reset_flag", "reason"]


def benchmark_reset_flags(scored: pd.DataFrame, program: Program) -> pd.DataFrame:
    """Flag each measure and budget period where at least the program's share of ACOs miss the
    attainment threshold (reset lower) or meet the excellence benchmark (reset higher).

    The ACOs counted are those with an eligible pay-for-performance score for the measure in
    the period. "Miss" is a score below the threshold (above it when lower is better); "meet"
    is a score at or beyond the benchmark; both are decided exactly (counts as fractions, rates
    as written), and so is the share against ``benchmark_reset_share_of_acos``.

    Parameters
    ----------
    scored : DataFrame
        :func:`~dsrip_lib.quality.measure_scores.score_aco_measures` and/or
        :func:`~dsrip_lib.quality.experience.score_experience` output (concatenated).

    Returns
    -------
    DataFrame
        ``COLUMNS``, one row per measure x budget period with a scored ACO, sorted.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.2, Achievement Points 4.
    """
    require_columns(scored, "scored", ["measure_id", "budget_period", "basis", "eligible", "higher_is_better",
                                       "rate", "numerator", "denominator", "attainment_threshold",
                                       "excellence_benchmark"])
    share = program.require("aco_accountability").achievement.benchmark_reset_share_of_acos
    rows = scored[scored["eligible"].astype(bool) & (scored["basis"] == PERFORMANCE)]
    score = [exact_rate(n, d, r) for n, d, r in zip(rows["numerator"], rows["denominator"], rows["rate"])]
    higher = rows["higher_is_better"].astype(bool)
    flags = rows[["measure_id", "budget_period"]].assign(
        below=[misses_threshold(s, t, higher_is_better=h) for s, t, h in zip(score, rows["attainment_threshold"], higher)],
        at=[meets_benchmark(s, b, higher_is_better=h) for s, b, h in zip(score, rows["excellence_benchmark"], higher)])
    out = flags.groupby(["measure_id", "budget_period"], as_index=False, sort=True).agg(
        acos=("below", "size"), below_threshold=("below", "sum"), at_benchmark=("at", "sum"))
    out["share_below_threshold"] = out["below_threshold"] / out["acos"]
    out["share_at_benchmark"] = out["at_benchmark"] / out["acos"]
    lower = [at_least(k, n, share) for k, n in zip(out["below_threshold"], out["acos"])]
    raise_ = [at_least(k, n, share) for k, n in zip(out["at_benchmark"], out["acos"])]
    out["reset_flag"] = [a or b for a, b in zip(lower, raise_)]
    out["reason"] = [
        "; ".join(text for flag, text in ((a, f"at least {share:.0%} of ACOs below the attainment threshold "
                                                "(may be reset lower)"),
                                          (b, f"at least {share:.0%} of ACOs at the excellence benchmark "
                                              "(may be reset higher)")) if flag)
        for a, b in zip(lower, raise_)]
    return out[COLUMNS].reset_index(drop=True)
