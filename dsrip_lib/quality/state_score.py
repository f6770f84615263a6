"""The State's Overall Statewide Quality and Utilization score: Exhibit 28 weights x DSRIP domain scores.

Each quality domain enters with its DSRIP domain score (100% or 0% from its van Elteren test,
:mod:`dsrip_lib.quality.state_domains`); the avoidable-utilisation domain enters with its
gap-to-goal score (:mod:`dsrip_lib.quality.state_utilization`). Nothing is rounded: Appendix C
publishes 92% for 92.33% (D4).

References
----------
MassHealth DSRIP Protocol, Sec 5.2.1.3 and Exhibit 28; Appendix C, step 3(c), Exhibit A8.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.quality.state_domains import DomainTests
from dsrip_lib.quality.state_utilization import StateUtilization

MISSING = ("refuse", "reweight")


@dataclass(frozen=True)
class StateQualityScore:
    """The State quality and utilisation domain score of one Budget Period.

    Attributes
    ----------
    budget_period : int
    score : float
        Sum of weight x domain score, in [0, 1], not rounded.
    rows : DataFrame
        See :meth:`table`.
    """

    budget_period: int
    score: float
    rows: pd.DataFrame = field(repr=False)

    def table(self) -> pd.DataFrame:
        """``domain, exhibit_weight, weight, domain_score, weighted`` (Exhibit A8); ``weight``
        differs from ``exhibit_weight`` only under ``missing="reweight"``."""
        return self.rows.copy()

    def summary(self) -> str:
        lines = [f"Statewide quality and utilisation score, BP {self.budget_period}: {self.score:.2%}"]
        for row in self.rows.itertuples():
            lines.append(f"  {row.domain:<22} {row.domain_score:7.2%} x {row.weight:6.2%} = {row.weighted:.2%}")
        return "\n".join(lines)


def state_quality_score(domain_scores: Mapping[str, float], bp: int, program, *,
                        missing: str = "refuse") -> StateQualityScore:
    """Weighted sum of the State's DSRIP domain scores with the Exhibit 28 weights of ``bp``.

    Parameters
    ----------
    domain_scores : mapping of str to float
        DSRIP domain score in [0, 1] per quality domain key.
    bp : int
        The Budget Period (its Exhibit 28 column).
    program : Program
    missing : {"refuse", "reweight"}
        A domain with a positive weight but no score: refuse (the protocol leaves it to CMS), or
        spread its weight over the scored domains in proportion to their weights.

    Raises
    ------
    ParameterError
        An unknown domain key or ``missing`` value, or no weights for ``bp``.
    InputValidationError
        A score outside [0, 1], or (``missing="refuse"``) a weighted domain without a score.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 and Exhibit 28; Appendix C, step 3(c), Exhibit A8.
    """
    if missing not in MISSING:
        raise ParameterError(f"missing={missing!r} is not one of {MISSING}")
    weights = program.require("quality_domains").weights_in(bp)
    if not weights:
        raise ParameterError(f"no quality domain weights for budget period {bp} (Exhibit 28)")
    unknown = sorted(set(domain_scores) - set(weights))
    if unknown:
        raise ParameterError(f"unknown quality domain(s) {unknown}; Exhibit 28 domains are {list(weights)}")
    bad = {d: s for d, s in domain_scores.items() if not (isinstance(s, (int, float)) and 0 <= s <= 1)}
    if bad:
        raise InputValidationError(f"State domain scores must be numbers in [0, 1]; got {bad}")
    absent = [d for d, w in weights.items() if w > 0 and d not in domain_scores]
    if absent and missing == "refuse":
        raise InputValidationError(
            f"no State domain score for {absent} in budget period {bp}; the protocol leaves the reweighting to "
            "CMS (missing='reweight' spreads their weight over the other domains in proportion)")
    scored = {d: w for d, w in weights.items() if d in domain_scores}
    total = math.fsum(scored.values())
    rows = pd.DataFrame([{"domain": d, "exhibit_weight": weights[d], "weight": w / total,
                          "domain_score": float(domain_scores[d])} for d, w in scored.items()])
    rows["weighted"] = rows["weight"] * rows["domain_score"]
    return StateQualityScore(bp, math.fsum(rows["weighted"]), rows)


def state_quality_domain(tests: DomainTests, utilization: StateUtilization, program, *,
                         missing: str = "refuse") -> StateQualityScore:
    """The State quality domain score from the period's domain tests and its utilisation score.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 and Exhibit 28; Appendix C, step 3, Exhibits A6-A8.
    """
    if tests.budget_period != utilization.budget_period:
        raise ParameterError(f"domain tests are for BP {tests.budget_period}, the utilisation score for "
                             f"BP {utilization.budget_period}")
    key = program.require("state_accountability").quality_utilization.utilization_domain
    return state_quality_score({**tests.scores(), key: utilization.score}, tests.budget_period, program,
                               missing=missing)
