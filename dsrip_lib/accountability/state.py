"""The State DSRIP Accountability Score and the at-risk expenditure authority it earns and loses.

The three domains (Exhibit 25) come from their stages as :class:`DomainResult`\\ s: ACO/APM
adoption pass/fail (:mod:`dsrip_lib.accountability.adoption`), the spending-growth gap-to-goal
score (:mod:`dsrip_lib.spending.growth`) and the quality and utilisation score
(:mod:`dsrip_lib.quality.state_score`), or from plain numbers, so a test can feed the
protocol's own. Nothing is rounded: Appendix C rounds its domain scores first (D4, D5).

References
----------
MassHealth DSRIP Protocol, Sec 5.1.1, Sec 5.2 and 5.2.1 (Exhibits 24-27); Appendix C, steps 1-5
(Exhibits A2-A10).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction

import pandas as pd

from dsrip_lib.accountability.adoption import AdoptionResult
from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.exact import exact
from dsrip_lib.program import Program
from dsrip_lib.program.values import stated
from dsrip_lib.quality.state_score import StateQualityScore, state_quality_score
from dsrip_lib.spending.gap_to_goal import gap_to_goal
from dsrip_lib.spending.growth import SpendingGrowthResult

ADOPTION, SPENDING, QUALITY = "adoption", "spending_growth", "quality_utilization"
NAMES = {ADOPTION: "MassHealth ACO/APM Adoption Rate", SPENDING: "Reduction in State Spending Growth",
         QUALITY: "ACO Quality and Utilization Performance"}
CENTS_PER_MUSD = 100_000_000


@dataclass(frozen=True)
class DomainResult:
    """One State DSRIP Accountability domain's score in a budget period.

    ``measured`` and ``target`` are the adoption rate or the spending reduction and their
    targets (None for quality); ``quality_scores`` the quality domain scores behind a quality
    result (for the what-if table), when known.
    """

    domain: str
    score: float
    measured: float | None = None
    target: float | None = None
    quality_scores: Mapping[str, float] | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.domain not in NAMES:
            raise ParameterError(f"unknown State DSRIP Accountability domain {self.domain!r}; have {list(NAMES)}")
        if isinstance(self.score, bool) or not (isinstance(self.score, (int, float)) and 0 <= self.score <= 1):
            raise InputValidationError(f"{self.domain} domain score must be a number in [0, 1], got {self.score!r}")


def adoption_domain(rate: float, bp: int, program: Program) -> DomainResult:
    """Domain 1 from an adoption rate: 100% when it meets or surpasses the Exhibit 26 target, else 0%.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.1 and Exhibit 26; Appendix C, step 1 (Exhibit A2).
    """
    target = program.require("state_accountability").adoption.target(bp)
    return DomainResult(ADOPTION, 1.0 if exact(rate) >= exact(target) else 0.0, rate, target)


def adoption_domain_of(result: AdoptionResult) -> DomainResult:
    """Domain 1 from the adoption stage (its pass/fail decided on exact counts)."""
    if result.passed is None:
        raise InputValidationError(f"the adoption rate of budget period {result.budget_period} has no pass/fail "
                                   "(no Exhibit 26 target or no ACO-eligible member)")
    return DomainResult(ADOPTION, 1.0 if result.passed else 0.0, result.rate, result.target)


def spending_domain(reduction: float, bp: int, program: Program) -> DomainResult:
    """Domain 2 from the actual reduction off trended PMPM: gap-to-goal against the Exhibit 27 target.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 and Exhibit 27; Appendix C, step 2 (Exhibit A3).
    """
    rules = program.require("state_accountability")
    target = stated(rules.spending_growth.reduction_targets, bp, "spending-growth reduction target", "Exhibit 27")
    return DomainResult(SPENDING, gap_to_goal(reduction, target, rules.gap_to_goal_floor_share), reduction, target)


def spending_domain_of(growth: SpendingGrowthResult, bp: int) -> DomainResult:
    """Domain 2 from the spending stage's row for budget period ``bp``."""
    rows = growth.summary_table[growth.summary_table["budget_period"] == bp]
    if len(rows) != 1 or pd.isna(rows["score"].iloc[0]):
        raise InputValidationError(f"the spending-growth chain has no scored year for budget period {bp}")
    row = rows.iloc[0]
    return DomainResult(SPENDING, float(row["score"]), float(row["percent_reduction"]), float(row["target"]))


def quality_domain_of(quality: StateQualityScore) -> DomainResult:
    """Domain 3 from the quality stage (Exhibit 28 weighted domain scores)."""
    scores = dict(zip(quality.rows["domain"], quality.rows["domain_score"].astype(float)))
    return DomainResult(QUALITY, quality.score, quality_scores=scores)


@dataclass(frozen=True)
class StateScore:
    """The State DSRIP Accountability Score of one budget period and the authority it earns.

    Attributes
    ----------
    budget_period : int
    score : float
        Sum of Exhibit 25 weight x domain score, in [0, 1], not rounded.
    at_risk_cents, earned_cents, lost_cents : int
        Exhibit 24 at-risk authority; earned = score x at risk, half-up to the cent; lost = at
        risk - earned, so the two add up to the at-risk amount exactly.
    domains : tuple of DomainResult
        The weighted domains, in Exhibit 25 order.
    not_scored : tuple of str
        Domains given but without a weight in this budget period (Exhibit 25: "NA").
    """

    budget_period: int
    score: float
    at_risk_cents: int
    earned_cents: int
    lost_cents: int
    domains: tuple[DomainResult, ...]
    weights: Mapping[str, float] = field(repr=False)
    not_scored: tuple[str, ...] = ()

    @property
    def at_risk_usd(self) -> float:
        return self.at_risk_cents / 100

    @property
    def earned_usd(self) -> float:
        return self.earned_cents / 100

    @property
    def lost_usd(self) -> float:
        return self.lost_cents / 100

    def table(self) -> pd.DataFrame:
        """Exhibit A9: ``domain, weight, domain_score, weighted`` per weighted domain."""
        return pd.DataFrame([{"domain": d.domain, "weight": self.weights[d.domain], "domain_score": d.score,
                              "weighted": self.weights[d.domain] * d.score} for d in self.domains])

    def walkthrough(self) -> pd.DataFrame:
        """Appendix C's five steps with this period's numbers: ``step, item, value, unit``.

        ``unit`` is ``share`` (a fraction) or ``usd``; a domain without a weight in this
        period appears with no value and the item saying so.
        """
        rows = []
        by_domain = {d.domain: d for d in self.domains}
        for step, domain in enumerate(NAMES, start=1):
            result = by_domain.get(domain)
            if result is None:
                rows.append((step, f"{NAMES[domain]}: not scored in this budget period (Exhibit 25: NA)", None,
                             "share"))
                continue
            if result.measured is not None:
                rows.append((step, f"{NAMES[domain]}: measured", result.measured, "share"))
                rows.append((step, f"{NAMES[domain]}: target", result.target, "share"))
            rows.append((step, f"{NAMES[domain]}: domain score", result.score, "share"))
        for result in self.domains:
            rows.append((4, f"{NAMES[result.domain]}: weight {self.weights[result.domain]:.0%} x score",
                         self.weights[result.domain] * result.score, "share"))
        rows += [(4, "State DSRIP Accountability Score", self.score, "share"),
                 (5, "At-risk expenditure authority (Exhibit 24)", self.at_risk_usd, "usd"),
                 (5, "Earned = score x at risk", self.earned_usd, "usd"),
                 (5, "Lost = at risk - earned", self.lost_usd, "usd")]
        return pd.DataFrame(rows, columns=["step", "item", "value", "unit"])

    def summary(self) -> str:
        lines = [f"State DSRIP Accountability Score, BP {self.budget_period}: {self.score:.2%}"]
        for row in self.table().itertuples():
            lines.append(f"  {NAMES[row.domain]:<42} {row.weight:4.0%} x {row.domain_score:7.2%} = {row.weighted:.2%}")
        lines.append(f"  at risk ${self.at_risk_usd:,.2f}: earned ${self.earned_usd:,.2f}, lost ${self.lost_usd:,.2f}")
        return "\n".join(lines)


def state_score(domains: Iterable[DomainResult], bp: int, program: Program) -> StateScore:
    """The State DSRIP Accountability Score of ``bp`` and the at-risk authority earned and lost.

    Parameters
    ----------
    domains : iterable of DomainResult
        One result per domain weighted in ``bp`` (others are allowed and left out, as
        ``not_scored``).
    bp : int
        The budget period (its Exhibit 25 weights and Exhibit 24 at-risk authority).
    program : Program

    Raises
    ------
    ParameterError
        ``bp`` has no State score (Prep and BP 1: Exhibit 25 weights none), or a domain is
        given twice.
    InputValidationError
        A domain weighted in ``bp`` has no result.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1 and Exhibit 25 (weights); Sec 5.2 and Exhibit 24 (at
    risk); Sec 5.1.1 (lost authority); Appendix C, steps 4-5 (Exhibits A9, A10).
    """
    rules = program.require("state_accountability")
    weights = rules.domain_weights_in(bp)
    if not weights:
        raise ParameterError(f"budget period {bp} has no State DSRIP Accountability Score (Exhibit 25 weights no "
                             "domain)")
    given: dict[str, DomainResult] = {}
    for result in domains:
        if result.domain in given:
            raise ParameterError(f"domain {result.domain!r} given twice")
        given[result.domain] = result
    absent = [d for d in weights if d not in given]
    if absent:
        raise InputValidationError(f"no result for State domain(s) {absent}, weighted in budget period {bp} "
                                   "(Exhibit 25)")
    total = sum((exact(w) * exact(given[d].score) for d, w in weights.items()), Fraction(0))
    at_risk = musd_cents(rules.authority_of(bp).at_risk_musd)
    earned = math.floor(total * at_risk + Fraction(1, 2))
    return StateScore(bp, float(total), at_risk, earned, at_risk - earned,
                      tuple(given[d] for d in weights), dict(weights),
                      tuple(d for d in NAMES if d in given and d not in weights))


def musd_cents(musd: float) -> int:
    """An amount of the program definition in $M, as whole cents (exact: 20.625 -> 2,062,500,000)."""
    cents = exact(musd) * CENTS_PER_MUSD
    if cents.denominator != 1:
        raise ParameterError(f"${musd}M is not a whole number of cents")
    return int(cents)


def scored_periods(program: Program) -> list[int]:
    """Budget periods with a State DSRIP Accountability Score (Exhibit 25 weights a domain)."""
    rules = program.require("state_accountability")
    return [n for n in program.calendar.period_numbers if rules.domain_weights_in(n)]


def what_if(actual: StateScore, program: Program, *, spending_steps: int = 5) -> pd.DataFrame:
    """The State score and authority lost as each domain's result varies alone, the others as measured.

    * adoption: pass (100%) or fail (0%);
    * spending growth: reductions from 0 to the target (0, the gap-to-goal floor, then
      ``spending_steps`` even steps to the target);
    * quality and utilisation: each quality domain statistically worse (0%) or not (100%),
      and the utilisation domain at 0% and 100%, one at a time (needs the quality scores behind
      the quality result; otherwise the quality score itself at 0% and 100%).

    Returns
    -------
    DataFrame
        ``domain, varied, setting, domain_score, state_score, lost_usd, as_measured`` where
        ``varied`` names the quality domain varied (else the State domain) and
        ``as_measured`` marks the row equal to the measured result.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1 (Exhibits 25-29); Appendix C.
    """
    if spending_steps < 1:
        raise ParameterError(f"spending_steps must be at least 1, got {spending_steps}")
    bp, rows = actual.budget_period, []
    by_domain = {d.domain: d for d in actual.domains}

    def add(result: DomainResult, varied: str, setting: str, as_measured: bool) -> None:
        scored = state_score([*(d for d in actual.domains if d.domain != result.domain), result], bp, program)
        rows.append((result.domain, varied, setting, result.score, scored.score, scored.lost_usd, as_measured))

    if ADOPTION in by_domain:
        for score, setting in ((1.0, "meets the target"), (0.0, "misses the target")):
            add(replace(by_domain[ADOPTION], score=score), NAMES[ADOPTION], setting,
                by_domain[ADOPTION].score == score)
    if SPENDING in by_domain:
        measured = by_domain[SPENDING]
        if measured.measured is not None:
            add(measured, NAMES[SPENDING], f"as measured: reduction {measured.measured:.2%}", True)
        floor = program.require("state_accountability").gap_to_goal_floor_share
        points = [0.0, floor] + [floor + (1 - floor) * k / spending_steps for k in range(1, spending_steps + 1)]
        for share in points:
            result = spending_domain(share * measured.target, bp, program)
            add(result, NAMES[SPENDING], f"reduction {share:.0%} of the target", False)
    if QUALITY in by_domain:
        _quality_what_if(by_domain[QUALITY], bp, program, add)
    return pd.DataFrame(rows, columns=["domain", "varied", "setting", "domain_score", "state_score", "lost_usd",
                                       "as_measured"])


def _quality_what_if(measured: DomainResult, bp: int, program: Program, add) -> None:
    if not measured.quality_scores:
        for score in (1.0, 0.0):
            add(replace(measured, score=score), NAMES[QUALITY], f"score {score:.0%}", measured.score == score)
        return
    names = {d.key: d.label for d in program.require("quality_domains")}
    utilization = program.require("state_accountability").quality_utilization.utilization_domain
    for domain, current in measured.quality_scores.items():
        for score in (1.0, 0.0):
            scores = {**measured.quality_scores, domain: score}
            quality = state_quality_score(scores, bp, program, missing="reweight").score
            setting = (f"{score:.0%}" if domain == utilization else
                       ("not statistically worse" if score else "statistically worse"))
            add(replace(measured, score=quality, quality_scores=scores), names.get(domain, domain), setting,
                current == score)
