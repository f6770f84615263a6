"""The State's avoidable-utilisation domain: statewide observed/expected ratios scored gap-to-goal.

For each measure of Exhibit 29 (PPA, all-cause readmissions) the statewide ratio of observed to
expected events of all ACO-attributed members is compared with the baseline ratio; the relative
reduction (baseline - current) / baseline is scored gap-to-goal against the period's target,
and the domain score is the mean of the measure scores.

References
----------
MassHealth DSRIP Protocol, Sec 5.2.1.3 ("Domain Scoring for Avoidable Hospital Utilization"),
Exhibit 29; Appendix C, step 3(b), Exhibit A7.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import pandas as pd

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.exact import exact
from dsrip_lib.inputs.frame_checks import require_columns, require_finite, require_positive, reject_rows
from dsrip_lib.program.values import stated
from dsrip_lib.spending.gap_to_goal import gap_to_goal

UTILIZATION_COLUMNS = ("measure_id", "observed", "expected")


def _statewide(frame: pd.DataFrame, table: str, measures: list[str], where: str) -> dict[str, tuple[float, float]]:
    """Observed and expected events summed over ACOs per measure (``math.fsum``: order-free)."""
    require_columns(frame, table, UTILIZATION_COLUMNS)
    require_finite(frame, table, "observed", ["measure_id"])
    require_positive(frame, table, "expected", ["measure_id"])
    reject_rows(frame, table, frame["observed"] < 0, "observed", "observed >= 0", ["measure_id", "observed"])
    out = {}
    for measure in measures:
        rows = frame.loc[frame["measure_id"] == measure]
        if rows.empty:
            raise InputValidationError(f"{table}: no rows for measure {measure!r} {where} (Exhibit 29 measures: "
                                       f"{measures})")
        out[measure] = (math.fsum(rows["observed"]), math.fsum(rows["expected"]))
    return out


@dataclass(frozen=True)
class StateUtilization:
    """The State's avoidable-utilisation domain score in one Budget Period.

    Attributes
    ----------
    budget_period : int
    score : float
        Mean of the measure scores, in [0, 1], not rounded.
    rows : DataFrame
        See :meth:`table`.
    """

    budget_period: int
    score: float
    rows: pd.DataFrame = field(repr=False)

    def table(self) -> pd.DataFrame:
        """``measure_id, observed, expected, oe_ratio, baseline_observed, baseline_expected,
        baseline_oe_ratio, reduction, target, floor, score`` (one row per Exhibit 29 measure)."""
        return self.rows.copy()

    def summary(self) -> str:
        lines = [f"State avoidable utilisation, BP {self.budget_period}: score {self.score:.2%} "
                 "(mean of the measure scores; gap-to-goal against Exhibit 29)"]
        for row in self.rows.itertuples():
            lines.append(f"  {row.measure_id:<14} O/E {row.oe_ratio:.4f} vs baseline {row.baseline_oe_ratio:.4f}: "
                         f"reduction {row.reduction:.2%}, target {row.target:.0%} -> {row.score:.2%}")
        return "\n".join(lines)


def state_utilization(utilization: pd.DataFrame, bp: int, program, *, baseline: pd.DataFrame | None = None,
                      baseline_bp: int | None = None) -> StateUtilization:
    """Statewide avoidable-utilisation score of Budget Period ``bp`` (Sec 5.2.1.3, Exhibit 29).

    Parameters
    ----------
    utilization : DataFrame
        The contract table (``entity_id, budget_period, measure_id, observed, expected, ...``):
        ACO rows; the rows of ``bp`` are summed per measure.
    bp : int
        The Budget Period scored; its Exhibit 29 target must be stated (not "Reporting Only").
    program : Program
        Targets (``quality_utilization.avoidable_utilization_targets``, whose keys are the
        measure ids) and the gap-to-goal floor share.
    baseline : DataFrame, optional
        ``measure_id, observed, expected`` rows of the baseline year (CY2017), summed per measure.
    baseline_bp : int, optional
        Instead of ``baseline``: a Budget Period of ``utilization`` to use as the baseline (for
        data without CY2017 rows). Exactly one of the two is required.

    Returns
    -------
    StateUtilization
        The reduction is computed exactly from the summed events (fractions), so a reduction
        equal to its target as written meets it; the scores are not rounded (Appendix C's
        published 87% is 86.67%, D4).

    Raises
    ------
    ParameterError
        Neither or both baselines given, or no target for ``bp``.
    InputValidationError
        Missing columns or measures, negative observed events, expected events not > 0.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 and Exhibit 29; Appendix C, step 3(b).
    """
    if (baseline is None) == (baseline_bp is None):
        raise ParameterError("state_utilization needs exactly one of baseline (CY2017 rows) and baseline_bp")
    state = program.require("state_accountability")
    targets = state.quality_utilization.avoidable_utilization_targets
    measures = list(targets)
    target = {m: stated(targets[m], bp, f"State {m} reduction target", "Exhibit 29") for m in measures}
    require_columns(utilization, "utilization", ("budget_period", *UTILIZATION_COLUMNS))
    current = _statewide(utilization.loc[utilization["budget_period"] == bp], "utilization", measures,
                         f"in budget period {bp}")
    if baseline is None:
        base = _statewide(utilization.loc[utilization["budget_period"] == baseline_bp], "utilization", measures,
                          f"in baseline budget period {baseline_bp}")
    else:
        base = _statewide(baseline, "baseline", measures, "in the baseline")
    rows = []
    for m in measures:
        (obs, exp), (b_obs, b_exp) = current[m], base[m]
        if b_obs == 0:
            raise InputValidationError(f"baseline: no observed {m!r} events, so no relative reduction can be computed")
        ratio, b_ratio = exact(obs) / exact(exp), exact(b_obs) / exact(b_exp)
        reduction: Fraction = (b_ratio - ratio) / b_ratio
        rows.append({"measure_id": m, "observed": obs, "expected": exp, "oe_ratio": float(ratio),
                     "baseline_observed": b_obs, "baseline_expected": b_exp, "baseline_oe_ratio": float(b_ratio),
                     "reduction": float(reduction), "target": target[m], "floor": state.gap_to_goal_floor_share,
                     "score": gap_to_goal(reduction, target[m], state.gap_to_goal_floor_share)})
    frame = pd.DataFrame(rows)
    return StateUtilization(bp, math.fsum(frame["score"]) / len(frame), frame)
