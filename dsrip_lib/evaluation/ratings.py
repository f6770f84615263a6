"""Rating rules as data: each entity and domain rated on track, on track with recommendations, at risk or
insufficient data, by the first rule (in order) whose conditions all hold, with the numbers that decided.

A rule is structured, never code: ``{rating: at_risk, when: [{metric: domain_score, op: "<",
threshold: 0.6}]}``. The conditions read a long *facts* frame (``entity_id``, ``domain``,
``layer``, ``metric``, ``value``): the three layers stay apart (``compliance``: gating events of
the payment ledger; ``performance``: the protocol's scores; ``impact``: the evaluation stage's
estimates). The default rules (:data:`DEFAULT_RULES`) are the evaluator's choice, not the
protocol's, and are printed in the methods appendix.

References
----------
MassHealth DSRIP Protocol, Sec 6.4.1 (the independent assessor's midpoint assessment), Sec 3.2-3.4
and 5.5.1 (the documents payments wait for), Sec 5.3.1 (ACO domain scores).
"""

from __future__ import annotations

import operator
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dsrip_lib.errors import InputValidationError

Rating = Literal["on_track", "on_track_with_recommendations", "at_risk", "insufficient_data"]
RATING_LABELS = {"on_track": "on track", "on_track_with_recommendations": "on track with recommendations",
                 "at_risk": "at risk", "insufficient_data": "insufficient data"}
LAYERS = ("compliance", "performance", "impact")
OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
       "!=": operator.ne}
FACT_COLUMNS = ["entity_id", "domain", "layer", "metric", "value"]
# the metrics rating_facts gives a rule to read (a rule on another would never hold: refused instead)
Metric = Literal["domain_score", "eligible_measures", "payments_before_gate"]


class Condition(BaseModel):
    """``metric op threshold``; ``op: missing`` holds when the entity and domain has no value of the metric.
    A comparison never holds on a missing value."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    metric: Metric
    op: Literal["<", "<=", ">", ">=", "==", "!=", "missing"]
    threshold: float | None = None

    @model_validator(mode="after")
    def _threshold_with_comparison(self) -> Condition:
        if (self.op == "missing") != (self.threshold is None):
            raise ValueError(f"condition on {self.metric}: op {self.op!r} " + (
                "takes no threshold" if self.op == "missing" else "needs a threshold"))
        return self

    def holds(self, value: float | None) -> bool:
        if self.op == "missing":
            return value is None
        return value is not None and OPS[self.op](value, self.threshold)

    def text(self) -> str:
        return f"{self.metric} missing" if self.op == "missing" else f"{self.metric} {self.op} {self.threshold:g}"


class RatingRule(BaseModel):
    """A rating and the conditions (all must hold; none: always) that give it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rating: Rating
    when: tuple[Condition, ...] = ()

    def text(self) -> str:
        return f"{RATING_LABELS[self.rating]} if " + (" and ".join(c.text() for c in self.when) or "no rule above holds")


class RatingRules(BaseModel):
    """The ordered rules; the first whose conditions hold rates an entity and domain. The last rule
    has no condition, so that every entity and domain gets a rating."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rules: tuple[RatingRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ends_with_a_default(self) -> RatingRules:
        if self.rules[-1].when:
            raise ValueError(f"the last rating rule ({self.rules[-1].text()}) has conditions: end the list with a "
                             "rule without conditions, so that every entity and domain gets a rating")
        return self

    def table(self) -> pd.DataFrame:
        """The rules in order as the methods appendix prints them: number, rating and conditions."""
        return pd.DataFrame({"rule": range(1, len(self.rules) + 1),
                             "rating": [RATING_LABELS[r.rating] for r in self.rules],
                             "text": [r.text() for r in self.rules]})


# the evaluator's choice (not the protocol's): overdue documents or a low domain score put a domain at risk
DEFAULT_RULES = RatingRules(rules=(
    RatingRule(rating="insufficient_data", when=(Condition(metric="domain_score", op="missing"),)),
    RatingRule(rating="at_risk", when=(Condition(metric="payments_before_gate", op=">", threshold=0),)),
    RatingRule(rating="at_risk", when=(Condition(metric="domain_score", op="<", threshold=0.6),)),
    RatingRule(rating="on_track_with_recommendations", when=(Condition(metric="domain_score", op="<", threshold=0.8),)),
    RatingRule(rating="on_track"),
))


def rate(facts: pd.DataFrame, rules: RatingRules) -> pd.DataFrame:
    """Each entity and domain of ``facts`` rated by ``rules``.

    A fact with ``domain`` null applies to every domain of its entity (a compliance event holds
    an entity's every domain back).

    Returns ``entity_id``, ``domain``, ``rating`` (label), ``rule`` (1-based), ``because`` (the
    rule and the values that decided it).

    Raises
    ------
    InputValidationError
        ``facts`` lacks a column, names a layer outside :data:`LAYERS`, has a duplicate
        (entity, domain, metric) or a non-finite value.
    """
    missing = [c for c in FACT_COLUMNS if c not in facts.columns]
    if missing:
        raise InputValidationError(f"rating facts: missing column(s) {missing} (rule: {FACT_COLUMNS})")
    bad_layer = facts[~facts["layer"].isin(LAYERS)]
    if len(bad_layer):
        raise InputValidationError(f"rating facts.layer: {len(bad_layer)} row(s) outside {LAYERS}; e.g. "
                                   f"{bad_layer.head(3).to_dict('records')}")
    bad_value = facts[~np.isfinite(facts["value"].astype(float))]
    if len(bad_value):
        raise InputValidationError(f"rating facts.value: {len(bad_value)} row(s) not a finite number; e.g. "
                                   f"{bad_value.head(3).to_dict('records')}")
    key = ["entity_id", "domain", "metric"]
    dup = facts[facts.duplicated(key, keep=False)]
    if len(dup):
        raise InputValidationError(f"rating facts: {len(dup)} row(s) repeat an (entity_id, domain, metric); e.g. "
                                   f"{dup.head(3).to_dict('records')}")
    scoped = facts[facts["domain"].notna()]
    wide = facts[facts["domain"].isna()]
    out = []
    for (entity, domain), g in scoped.groupby(["entity_id", "domain"], sort=True):
        values = dict(zip(wide.loc[wide["entity_id"] == entity, "metric"], wide.loc[wide["entity_id"] == entity, "value"]))
        values |= dict(zip(g["metric"], g["value"]))
        for i, rule in enumerate(rules.rules, start=1):
            if all(c.holds(values.get(c.metric)) for c in rule.when):
                shown = ", ".join(f"{c.metric} = {values[c.metric]:g}" for c in rule.when if c.metric in values)
                out.append({"entity_id": entity, "domain": domain, "rating": RATING_LABELS[rule.rating], "rule": i,
                            "because": rule.text() + (f" ({shown})" if shown else "")})
                break
    return pd.DataFrame(out, columns=["entity_id", "domain", "rating", "rule", "because"])


def rating_facts(domains: pd.DataFrame, budget_period: int, exceptions: pd.DataFrame | None = None) -> pd.DataFrame:
    """The facts of the default rules: each ACO's domain scores of ``budget_period`` (performance;
    :func:`~dsrip_lib.quality.domain_scores.aco_domain_scores`) and, per entity, the payments
    released before their gate (compliance; :func:`~dsrip_lib.payments.gating.gating_exceptions`)
    up to that period.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.2 (domain scores), Sec 3.2-3.4 and 5.5.1 (payment gates).
    """
    d = domains[domains["budget_period"] == budget_period]
    # every ACO x domain scored in any period: one without an eligible measure this period has no score
    grid = pd.MultiIndex.from_product([sorted(domains["entity_id"].unique()), sorted(domains["domain"].unique())],
                                      names=["entity_id", "domain"])
    eligible = d.set_index(["entity_id", "domain"])["eligible_measures"].reindex(grid, fill_value=0).reset_index()
    frames = [
        pd.DataFrame({"entity_id": eligible["entity_id"], "domain": eligible["domain"], "layer": "performance",
                      "metric": "eligible_measures", "value": eligible["eligible_measures"].astype(float)}),
        pd.DataFrame({"entity_id": d["entity_id"], "domain": d["domain"], "layer": "performance",
                      "metric": "domain_score", "value": d["score"].astype(float)}),
    ]
    if exceptions is not None:
        e = exceptions[exceptions["budget_period"] <= budget_period]
        counts = e.groupby("entity_id").size().reindex(grid.levels[0], fill_value=0)
        frames.append(pd.DataFrame({"entity_id": counts.index, "domain": None, "layer": "compliance",
                                    "metric": "payments_before_gate", "value": counts.to_numpy(dtype=float)}))
    return pd.concat(frames, ignore_index=True)
