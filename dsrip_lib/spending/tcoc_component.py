"""TCOC component of the ACO DSRIP Accountability Score (Sec 5.3.2, Exhibit 39).

One formula serves both ACO kinds: a Primary Care or MCO-administered ACO compares its TCOC
Performance with its Final TCOC Benchmark; a Partnership Plan compares its total medical
expense with its risk-adjusted medical capitation. Here the benchmark or capitation is the
*reference* and the performance or medical expense the *actual* amount.

References
----------
MassHealth DSRIP Protocol, Sec 5.3.2 and Exhibit 39.
"""

from __future__ import annotations

import math
from numbers import Real

import pandas as pd

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.exact import exact
from dsrip_lib.inputs.frame_checks import require_columns, require_finite, require_positive, require_unique
from dsrip_lib.program import Program

KEY = ["entity_id", "budget_period"]
INPUT_COLUMNS = (*KEY, "reference_pmpm", "actual_pmpm")
TABLE = "TCOC component input"


def tcoc_component(benchmark: float, performance: float, corridor_share: float) -> float:
    """TCOC component, in [0, 1], of an ACO with ``performance`` against ``benchmark``.

    * savings (``performance <= benchmark``): 1;
    * losses beyond the corridor (``performance >= (1 + corridor) x benchmark``): 0;
    * otherwise ``((1 + corridor) x benchmark - performance) / (corridor x benchmark)``.

    The three cases are one clipped line, so the value is continuous at both edges. It is
    computed in exact decimal arithmetic (``dsrip_lib.exact``): Exhibit 39's scenario 3 is
    exactly 20%, and a loss of exactly the corridor scores exactly 0.

    Parameters
    ----------
    benchmark : float
        Final TCOC Benchmark (PMPM or total), > 0. For a Partnership Plan, the risk-adjusted
        medical capitation (see :func:`partnership_tcoc_component`).
    performance : float
        TCOC Performance in the same unit; for a Partnership Plan, total medical expense.
    corridor_share : float
        Losses at or beyond this share of the benchmark score 0
        (``program.aco_accountability.tcoc_loss_corridor_share``, 5%).

    Raises
    ------
    ParameterError
        If ``corridor_share`` is not in (0, 1].
    InputValidationError
        If ``benchmark`` is not a positive number or ``performance`` not a finite one.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.2 (step 5) and Exhibit 39.
    """
    if not (isinstance(corridor_share, (int, float)) and 0 < corridor_share <= 1):
        raise ParameterError(f"TCOC loss corridor share must be in (0, 1], got {corridor_share!r}")
    if not (_finite(benchmark) and benchmark > 0):
        raise InputValidationError(f"TCOC benchmark (or capitation) must be a positive number, got {benchmark!r}")
    if not _finite(performance):
        raise InputValidationError(f"TCOC performance (or medical expense) must be finite, got {performance!r}")
    reference, actual, corridor = exact(float(benchmark)), exact(float(performance)), exact(corridor_share)
    score = ((1 + corridor) * reference - actual) / (corridor * reference)
    return float(min(max(score, 0), 1))


def partnership_tcoc_component(capitation: float, medical_expense: float, corridor_share: float) -> float:
    """TCOC component of an Accountable Care Partnership Plan: :func:`tcoc_component` on medical gains or losses.

    Parameters
    ----------
    capitation : float
        Risk-adjusted medical capitation payments for the budget period, > 0.
    medical_expense : float
        Total medical expense (administrative and underwriting gains or losses excluded).
    corridor_share : float
        As for :func:`tcoc_component`.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.2 (step 4 and the Partnership Plan formula of step 5).
    """
    return tcoc_component(capitation, medical_expense, corridor_share)


def tcoc_components(frame: pd.DataFrame, program: Program) -> pd.DataFrame:
    """TCOC component of each ACO and budget period.

    Parameters
    ----------
    frame : DataFrame
        One row per ``entity_id, budget_period`` with ``reference_pmpm`` (Final TCOC
        Benchmark, or risk-adjusted medical capitation for a Partnership Plan) and
        ``actual_pmpm`` (TCOC Performance, or total medical expense). Other columns are kept.
    program : Program
        Supplies ``aco_accountability.tcoc_loss_corridor_share``.

    Returns
    -------
    DataFrame
        The input with ``savings_pmpm`` (reference - actual; negative for losses),
        ``savings_share`` (savings / reference) and ``tcoc_component`` added, in input order.

    Raises
    ------
    InputValidationError
        For a missing column, a duplicated ``entity_id, budget_period``, a reference that is
        not positive or an actual amount that is missing; the message names the rows.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.2 and Exhibit 39.
    """
    corridor = program.require("aco_accountability").tcoc_loss_corridor_share
    _check(frame)
    out = frame.copy()
    out["savings_pmpm"] = out["reference_pmpm"] - out["actual_pmpm"]
    out["savings_share"] = out["savings_pmpm"] / out["reference_pmpm"]
    out["tcoc_component"] = [tcoc_component(float(r), float(a), corridor)
                             for r, a in zip(out["reference_pmpm"], out["actual_pmpm"])]
    return out


def _finite(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _check(frame: pd.DataFrame) -> None:
    require_columns(frame, TABLE, INPUT_COLUMNS)
    require_positive(frame, TABLE, "reference_pmpm", KEY)
    require_finite(frame, TABLE, "actual_pmpm", KEY)
    require_unique(frame, TABLE, KEY)
