"""Statistics behind the protocol's tests: pure functions, tables in, result objects out.

- :func:`van_elteren`, :func:`cmh_mean_score`: stratified two-sample tests (Sec 5.2.1.3).
- :func:`van_elteren_many`, :func:`cmh_mean_score_many`: many such tests from one long table.
- :func:`proportion_improvement`, :func:`rate_improvement`: period-over-period improvement
  tests for quality scoring (Sec 5.3.1.2, Exhibit 34).
- :func:`oe_ratio_interval`: exact Poisson interval of an observed/expected ratio.

Significance levels are the caller's (from the program definition), never defaults here.
"""

from dsrip_lib.stats.cmh import (
    StratifiedTestResult,
    cmh_mean_score,
    cmh_mean_score_many,
    van_elteren,
    van_elteren_many,
)
from dsrip_lib.stats.improvement import ImprovementResult, proportion_improvement, rate_improvement
from dsrip_lib.stats.intervals import RatioInterval, oe_ratio_interval

__all__ = [
    "ImprovementResult",
    "RatioInterval",
    "StratifiedTestResult",
    "cmh_mean_score",
    "cmh_mean_score_many",
    "oe_ratio_interval",
    "proportion_improvement",
    "rate_improvement",
    "van_elteren",
    "van_elteren_many",
]
