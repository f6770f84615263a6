"""Gap-to-goal scoring: partial credit between a floor share of a target and the target.

One implementation serves the State's reduction in spending growth (Sec 5.2.1.2, Appendix C
step 2) and its avoidable-utilisation measures (Sec 5.2.1.3, Appendix C step 3(b)).

References
----------
MassHealth DSRIP Protocol, Appendix C, steps 2 and 3(b).
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from dsrip_lib.errors import DsripError, ParameterError
from dsrip_lib.exact import exact


def gap_to_goal(achieved: float | Fraction | Decimal, target: float, floor_share: float) -> float:
    """Score of an achieved reduction against its target, in [0, 1].

    * ``achieved < floor_share * target``: 0;
    * ``achieved >= target``: 1;
    * otherwise ``(achieved - floor_share * target) / (target - floor_share * target)``.

    The two comparisons are exact (``dsrip_lib.exact``): the target is the decimal it was
    written as, and ``achieved`` is taken at its exact value, so a caller that computes the
    reduction from decimal inputs as a ``Fraction`` (as the utilisation score does) gets a
    reduction of exactly 12% against a 12% target scored 1, with no float noise. The score
    is not rounded (the protocol's published 64% is 63.64%, D4).

    Parameters
    ----------
    achieved : float, Fraction or Decimal
        The actual reduction as a fraction (0.009 for 0.9%); may be negative (growth).
    target : float
        The reduction target as a fraction, > 0.
    floor_share : float
        The share of the target below which the score is 0 (``gap_to_goal_floor_share``,
        50%), in [0, 1).

    Raises
    ------
    ParameterError
        If ``target <= 0`` or ``floor_share`` is outside [0, 1).
    DsripError
        If ``achieved`` is not a finite number.

    References
    ----------
    MassHealth DSRIP Protocol, Appendix C, step 2 (Reduction in Spending Growth Score) and
    step 3(b) (Scoring for Avoidable Utilization).
    """
    if not (isinstance(target, (int, float)) and math.isfinite(target) and target > 0):
        raise ParameterError(f"gap-to-goal target must be a positive number, got {target!r}")
    if not (isinstance(floor_share, (int, float)) and 0 <= floor_share < 1):
        raise ParameterError(f"gap-to-goal floor share must be in [0, 1), got {floor_share!r}")
    if isinstance(achieved, bool) or not (isinstance(achieved, (int, float, Fraction, Decimal))
                                          and math.isfinite(achieved)):
        raise DsripError(f"gap-to-goal achieved reduction must be a finite number, got {achieved!r}")
    got, goal = exact(achieved), exact(target)
    floor = exact(floor_share) * goal
    if got < floor:
        return 0.0
    if got >= goal:
        return 1.0
    return float((got - floor) / (goal - floor))
