"""ACO quality domain 6, avoidable utilisation: baseline quartiles, reduction targets, points.

Rules where the text is silent (docs/methodology/quality_scoring.md):

* **Baseline.** The protocol's baseline is CY2017, which is no budget period of the data
  contract. A ``baseline`` frame (the State's CY2017 observed and expected counts) is used when
  given; otherwise each ACO's earliest budget period in the table is its baseline (for a
  late joiner, its first period: Sec 5.3.1.3 uses a new ACO's own baseline data).
* **Quartiles** are re-ranked in every budget period among the ACOs with a row for the measure
  in that period (ACOs joining or leaving change the quartiles). ACOs are ranked by baseline
  observed/expected ratio, lowest (best) first; with n ACOs, rank r = 1..n (ties share the
  lowest rank, so tied ACOs fall in the better quartile) is in quartile floor(4 (r - 1) / n) + 1:
  the best ACO is always in quartile 1, and with 17 ACOs the quartiles hold 5, 4, 4, 4.
* **Target met** is decided exactly: the relative reduction 1 - (O/E) / (O_b/E_b) is at least
  the target iff O x E_b <= (1 - target) x O_b x E, compared as exact fractions of the
  values as written (``dsrip_lib.exact.exact``).
* **Pay for reporting.** A measure is pay-for-reporting or pay-for-performance in a period as
  the Appendix D slate says (``program.measures``): BP 1, "Reporting only" in Exhibits 36-37,
  and ED visits (measure 39, no reduction targets) in every period earn the full points when
  reported and none when not; a pay-for-performance measure earns them when its reduction
  meets its quartile's target.

References
----------
MassHealth DSRIP Protocol, Sec 5.3.1.3 and Exhibits 36-37; Appendix D (ACO measures 37-39).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dsrip_lib.errors import ParameterError
from dsrip_lib.exact import exact
from dsrip_lib.inputs.frame_checks import reject_rows, require_columns, require_unique
from dsrip_lib.program import Program
from dsrip_lib.quality.measure_scores import PERFORMANCE, REPORTING, ineligible_reasons, with_unreported
from dsrip_lib.stats import oe_ratio_interval

KEY = ["entity_id", "budget_period", "measure_id"]
COLUMNS = [*KEY, "observed", "expected", "member_months"]
EXACT_POISSON = "exact Poisson (Garwood)"
NOT_REPORTED = "none: not reported"
NOT_A_COUNT = "none: observed is not a whole count (a weighted sum; see docs/methodology/quality_scoring.md)"
OUTPUT = [*KEY, "domain", "basis", "reported", "observed", "expected", "oe_ratio", "ci_low", "ci_high", "ci_method", "baseline_oe",
          "quartile", "target", "reduction", "meets_target", "eligible", "ineligible_reason", "achievement_points",
          "improvement_points"]


def score_utilization(utilization: pd.DataFrame, program: Program, *, baseline: pd.DataFrame | None = None,
                      confidence: float = 0.95) -> pd.DataFrame:
    """Score each ACO's avoidable-utilisation measures against its quartile's reduction target.

    Parameters
    ----------
    utilization : DataFrame
        The contract's ``utilization`` rows of ACOs: ``entity_id, budget_period, measure_id,
        observed, expected, member_months``.
    program : Program
        ``aco_accountability.avoidable_utilization_quartile_targets`` and
        ``achievement.max_points_per_measure``.
    baseline : DataFrame, optional
        ``entity_id, measure_id, observed, expected``: the CY2017 baseline. Default: each ACO's
        earliest budget period in ``utilization``.
    confidence : float
        Level of the O/E intervals (a display choice; the protocol sets none).

    Returns
    -------
    DataFrame
        ``OUTPUT`` columns, one row per ACO (present in the table in that period) x budget period
        x utilisation measure of the slate measured then (a row with ``reported`` False where the
        ACO has none). ``quartile`` is empty for measures without targets; ``target`` and
        ``meets_target`` only where the measure is pay-for-performance. ``achievement_points`` is
        the domain's 0-or-2 points; ``improvement_points`` is 0 (domain 6 has none).
        ``reduction`` is NaN when the baseline ratio is 0 (the decision is still exact:
        met only with no observed events).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.3 and Exhibits 36-37 (a quartile 1 ACO reducing
    readmissions by 18% from baseline in BP 4, and by 17% in BP 5, earns 2 points in both).
    """
    require_columns(utilization, "utilization", COLUMNS)
    frame = utilization[COLUMNS].copy()
    _check_counts(frame, "utilization", KEY)
    slate = {m.id: m for m in program.require("measures").slate("aco") if m.kind == "utilization"}
    reject_rows(frame, "utilization", ~frame["measure_id"].isin(list(slate)), "measure_id",
                f"measure is a utilisation measure of the ACO slate ({', '.join(sorted(slate))})", KEY)
    accountability = program.require("aco_accountability")
    targets = accountability.avoidable_utilization_quartile_targets
    untargeted = [m.id for m in slate.values() if m.performance_periods and m.id not in targets]
    if untargeted:
        raise ParameterError(f"utilisation measures {untargeted} are pay-for-performance but have no quartile "
                             "targets (aco_accountability.avoidable_utilization_quartile_targets)")

    frame = with_unreported(frame, slate)
    frame["ineligible_reason"] = ineligible_reasons(frame, pd.Series(False, index=frame.index), "")
    frame["eligible"] = frame["ineligible_reason"] == ""
    frame["oe_ratio"] = frame["observed"] / frame["expected"]
    frame = _with_intervals(frame, 1 - confidence)
    frame = frame.merge(_baseline(frame[frame["reported"]], baseline), on=["entity_id", "measure_id"], how="left",
                        validate="m:1")
    p4p = frame["eligible"] & (frame["basis"] == PERFORMANCE)
    reject_rows(frame, "baseline", p4p & frame["baseline_observed"].isna(), "entity_id, measure_id",
                "every ACO scored on a pay-for-performance measure has a baseline", KEY)
    frame["baseline_oe"] = frame["baseline_observed"] / frame["baseline_expected"]
    ranked = frame["reported"] & frame["measure_id"].isin(list(targets))
    frame["quartile"] = _quartiles(frame[ranked], targets).reindex(frame.index).astype("Int64")
    frame["target"] = [_target(targets, m, q, bp) if due else np.nan
                       for m, q, bp, due in zip(frame["measure_id"], frame["quartile"], frame["budget_period"], p4p)]
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["reduction"] = np.where(frame["baseline_oe"] > 0, 1 - frame["oe_ratio"] / frame["baseline_oe"], np.nan)
    frame["meets_target"] = pd.array([
        _meets(o, e, bo, be, t) if due else None
        for o, e, bo, be, t, due in zip(frame["observed"], frame["expected"], frame["baseline_observed"],
                                        frame["baseline_expected"], frame["target"], p4p)], dtype="boolean")
    earned = (frame["eligible"] & frame["reported"] & (frame["basis"] == REPORTING)) \
        | frame["meets_target"].fillna(False).astype(bool)
    frame["achievement_points"] = np.where(earned, accountability.achievement.max_points_per_measure, 0.0)
    frame["improvement_points"] = 0.0
    return frame[OUTPUT].sort_values(KEY, kind="stable").reset_index(drop=True)


def _target(targets: dict, measure_id: str, quartile, bp: int) -> float:
    """The Exhibit 36-37 reduction target of a quartile in a period (ParameterError if "Reporting only")."""
    target = targets[measure_id][int(quartile)][bp]
    if target is None:
        raise ParameterError(f"utilisation measure {measure_id!r} is pay-for-performance in budget period {bp} but "
                             "Exhibits 36-37 give no reduction target then (reporting only)")
    return target


def _check_counts(frame: pd.DataFrame, table: str, key: list[str]) -> None:
    require_unique(frame, table, key)
    reject_rows(frame, table, ~(frame["observed"] >= 0), "observed", "observed >= 0", [*key, "observed"])
    reject_rows(frame, table, ~(frame["expected"] > 0), "expected", "expected > 0", [*key, "expected"])


def _with_intervals(frame: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Exact Poisson intervals where the observed count is whole; none (said so) for a weighted sum."""
    low, high, method = [], [], []
    for observed, expected in zip(frame["observed"], frame["expected"]):
        if pd.isna(observed):
            low.append(np.nan)
            high.append(np.nan)
            method.append(NOT_REPORTED)
        elif float(observed).is_integer():
            interval = oe_ratio_interval(observed, expected, alpha=alpha)
            low.append(interval.low)
            high.append(interval.high)
            method.append(EXACT_POISSON)
        else:
            low.append(np.nan)
            high.append(np.nan)
            method.append(NOT_A_COUNT)
    return frame.assign(ci_low=low, ci_high=high, ci_method=method)


def _baseline(frame: pd.DataFrame, baseline: pd.DataFrame | None) -> pd.DataFrame:
    """``entity_id, measure_id, baseline_observed, baseline_expected``."""
    if baseline is None:
        first = frame.sort_values("budget_period", kind="stable").drop_duplicates(["entity_id", "measure_id"])
        base = first[["entity_id", "measure_id", "observed", "expected"]]
    else:
        require_columns(baseline, "baseline", ["entity_id", "measure_id", "observed", "expected"])
        base = baseline[["entity_id", "measure_id", "observed", "expected"]]
        _check_counts(base, "baseline", ["entity_id", "measure_id"])
    return base.rename(columns={"observed": "baseline_observed", "expected": "baseline_expected"})


def _quartiles(frame: pd.DataFrame, targets: dict) -> pd.Series:
    """Baseline quartile among the ACOs present in each budget period and measure (1 = lowest O/E).

    The number of groups is the number of target rows of the measure (four in Exhibits 36-37).
    """
    groups = frame.groupby(["budget_period", "measure_id"])["baseline_oe"]
    n_groups = frame["measure_id"].map({m: len(q) for m, q in targets.items()})
    return np.floor(n_groups * (groups.rank(method="min") - 1) / groups.transform("size")) + 1


def _meets(observed: float, expected: float, base_observed: float, base_expected: float, target: float) -> bool:
    """1 - (O/E)/(O_b/E_b) >= target, i.e. O E_b <= (1 - target) O_b E, in exact arithmetic."""
    o, e, bo, be = (exact(float(v)) for v in (observed, expected, base_observed, base_expected))
    return o * be <= (1 - exact(target)) * bo * e

