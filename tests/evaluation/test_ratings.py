"""Rating rules as data: the first rule that holds rates an entity and domain, with the numbers that decided."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from dsrip_lib.errors import InputValidationError
from dsrip_lib.evaluation.ratings import DEFAULT_RULES, RatingRules, rate, rating_facts


def _facts(rows):
    return pd.DataFrame(rows, columns=["entity_id", "domain", "layer", "metric", "value"])


FACTS = _facts([
    ("ACO1", "prevention", "performance", "domain_score", 0.85),
    ("ACO1", "prevention", "performance", "eligible_measures", 3),
    ("ACO1", "chronic", "performance", "domain_score", 0.65),
    ("ACO1", "chronic", "performance", "eligible_measures", 2),
    ("ACO2", "prevention", "performance", "domain_score", 0.9),
    ("ACO2", "prevention", "performance", "eligible_measures", 3),
    ("ACO2", "chronic", "performance", "eligible_measures", 0),
    ("ACO2", None, "compliance", "payments_before_gate", 2),
    ("ACO3", "prevention", "performance", "domain_score", 0.5),
])


def test_default_rules_in_order_with_the_deciding_numbers():
    out = rate(FACTS, DEFAULT_RULES).set_index(["entity_id", "domain"])
    assert out.at[("ACO1", "prevention"), "rating"] == "on track"
    assert out.at[("ACO1", "chronic"), "rating"] == "on track with recommendations"
    assert "domain_score = 0.65" in out.at[("ACO1", "chronic"), "because"]
    # a missing score is insufficient data even with an overdue document: the first rule that holds wins
    assert out.at[("ACO2", "chronic"), "rating"] == "insufficient data"
    # a compliance fact without a domain holds back every domain of the entity
    assert out.at[("ACO2", "prevention"), "rating"] == "at risk"
    assert "payments_before_gate = 2" in out.at[("ACO2", "prevention"), "because"]
    assert out.at[("ACO3", "prevention"), "rating"] == "at risk" and out.at[("ACO3", "prevention"), "rule"] == 3


def test_rules_from_run_parameters_are_structured_never_code():
    rules = RatingRules.model_validate({"rules": [
        {"rating": "at_risk", "when": [{"metric": "domain_score", "op": "<", "threshold": 0.9}]},
        {"rating": "on_track"}]})
    assert (rate(FACTS, rules)["rating"].value_counts()["at risk"]) == 3
    with pytest.raises(ValidationError):
        RatingRules.model_validate({"rules": [{"rating": "at_risk", "when": "domain_score < 0.6"}]})
    with pytest.raises(ValidationError):
        RatingRules.model_validate({"rules": [{"rating": "at_risk", "when": [
            {"metric": "domain_score", "op": "__import__('os')", "threshold": 0}]}]})


def test_bad_facts_and_rules_without_a_fallback_are_refused():
    with pytest.raises(InputValidationError, match="repeat an"):
        rate(pd.concat([FACTS, FACTS.head(1)]), DEFAULT_RULES)
    with pytest.raises(InputValidationError, match="layer"):
        rate(FACTS.assign(layer="gossip"), DEFAULT_RULES)
    with pytest.raises(ValidationError, match="last rating rule"):
        RatingRules.model_validate({"rules": [{"rating": "at_risk", "when": [
            {"metric": "domain_score", "op": "<", "threshold": 0.1}]}]})


@pytest.mark.parametrize("condition, message", [
    ({"metric": "domain_score", "op": "<"}, "needs a threshold"),
    ({"metric": "domain_score", "op": "missing", "threshold": 0.5}, "takes no threshold"),
    ({"metric": "domian_score", "op": "<", "threshold": 0.5}, "domain_score"),
])
def test_a_condition_that_could_never_be_read_is_refused(condition, message):
    with pytest.raises(ValidationError, match=message):
        RatingRules.model_validate({"rules": [{"rating": "at_risk", "when": [condition]}, {"rating": "on_track"}]})


def test_the_rules_table_prints_every_rule_in_order():
    table = DEFAULT_RULES.table()
    assert table["rule"].tolist() == list(range(1, len(DEFAULT_RULES.rules) + 1))
    assert table["text"].iloc[2] == "at risk if domain_score < 0.6"
    assert table["text"].iloc[-1] == "on track if no rule above holds"


def test_facts_from_domain_scores_and_gating_exceptions():
    domains = pd.DataFrame({"entity_id": ["A", "A", "B"], "budget_period": [3, 3, 3],
                            "domain": ["d1", "d2", "d1"], "eligible_measures": [2, 1, 3], "score": [0.7, 0.4, 0.9]})
    exceptions = pd.DataFrame({"entity_id": ["B", "B"], "budget_period": [2, 4]})
    facts = rating_facts(domains, 3, exceptions)
    out = rate(facts, DEFAULT_RULES).set_index(["entity_id", "domain"])["rating"]
    assert out.to_dict() == {("A", "d1"): "on track with recommendations", ("A", "d2"): "at risk",
                             ("B", "d1"): "at risk", ("B", "d2"): "insufficient data"}
