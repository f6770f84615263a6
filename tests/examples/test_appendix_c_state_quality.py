"""Appendix C step 3: Exhibits A5 (aggregate and pooled scores), A6 (domain tests), the 87%
utilisation score (step 3(b)) and Exhibit A8's 92% quality and utilisation score.

Exhibits A5, A6 and A8 are images in the protocol; their numbers are the text recovered from
them (published text lines 2953-3135), stored in data/examples/appendix_c_*.csv.
MassHealth DSRIP Protocol, Appendix C, step 3.
"""

from __future__ import annotations

import pandas as pd
import pytest
from pytest import approx

from dsrip_lib.quality.state_domains import aggregate_domain_scores, domain_tests, pooled_domain_scores
from dsrip_lib.quality.state_score import state_quality_domain, state_quality_score
from dsrip_lib.quality.state_utilization import state_utilization


@pytest.fixture(scope="module")
def a5(example):
    frame = example("appendix_c_exhibit_a5_aco_domain_scores")
    scores = frame.assign(score=frame["score_percent"] / 100)[["entity_id", "budget_period", "domain", "score"]]
    members = frame[["entity_id", "budget_period", "members"]].drop_duplicates()
    return scores, members


def test_exhibit_a5_aggregate_scores_at_published_precision(a5, example):
    published = example("appendix_c_exhibit_a5_published").query("figure == 'aggregate'")
    ours = aggregate_domain_scores(*a5).merge(published, on=["budget_period", "domain"], validate="1:1")
    assert len(ours) == len(published) == 24
    # Published to one decimal of a percent (e.g. 36.7% for (30 x 10,000 + 40 x 20,000) / 30,000 = 36.67%).
    assert (ours["score"] * 100).round(1).tolist() == ours["published_percent"].tolist()
    assert (ours["members"] == 30_000).all()


def test_exhibit_a5_pooled_scores_bp_1_3(a5, example):
    published = example("appendix_c_exhibit_a5_published").query("figure == 'pooled_before'")
    pooled = pooled_domain_scores(*a5, 4)
    ours = pooled.merge(published, on="domain", validate="1:1")
    assert len(ours) == 6
    assert (ours["score"] * 100).round(1).tolist() == ours["published_percent"].tolist()
    assert (ours["members"] == 90_000).all() and all(p == [1, 2, 3] for p in ours["budget_periods"])
    # Appendix C step 3(a)2: the pooled score is the aggregate scores' average weighted by the
    # periods' members: P&W (36.7% + 46.7% + 70%) / 3 = 51.1%.
    aggregate = aggregate_domain_scores(*a5).query("budget_period < 4 and domain == 'prevention_wellness'")
    pw = pooled.set_index("domain").at["prevention_wellness", "score"]
    assert pw == approx((aggregate["score"] * aggregate["members"]).sum() / aggregate["members"].sum(), rel=1e-12)
    assert round(pw * 100, 1) == 51.1


def test_exhibit_a6_directions_and_d60(a5, example, program):
    """Exhibit A6's test results, against van Elteren's test on the exhibit's two ACOs (D60).

    Reading "domain_score" (one ACO domain score per period, strata = ACO) is the only one the
    exhibit's data allow. The z signs agree with every published direction, but with two ACOs
    the test cannot reach alpha = 0.10 for LTSS: z = -1.46, p = 0.144 (exact 0.3125), so the
    text's rule gives LTSS 100% where the exhibit shows "statistically worse" and 0%.
    """
    scores, _ = a5
    tests = domain_tests(None, 4, program, reading="domain_score", domain_scores=scores).table().set_index("domain")
    published = example("appendix_c_exhibits_a6_a8").set_index("domain")
    for domain, result in published["a6_result"].dropna().items():
        row = tests.loc[domain]
        if result == "BETTER":
            assert row["z"] > 0, domain
        elif result == "WORSE":
            assert row["z"] < 0, domain
        else:  # behavioral health: 60% and 70% every period, no information
            assert not row["testable"] and row["strata"] == 0
        assert not row["worse"] and row["score"] == 1.0
    ltss = tests.loc["ltss"]
    assert ltss["z"] == approx(-1.460593, abs=1e-6) and ltss["p_asymptotic"] == approx(0.144127, abs=1e-6)
    assert ltss["p_exact"] == approx(0.3125, abs=1e-12)
    assert published.at["ltss", "dsrip_domain_score_percent"] == 0


def test_d60_two_acos_cannot_reach_alpha_exactly(program):
    # Even if both ACOs' BP 4 score were strictly below their three earlier scores, the exact
    # two-sided p is 2 x (1/4)^2 = 0.125 > 0.10; the asymptotic p would be 0.058.
    scores = pd.DataFrame({"entity_id": ["A"] * 4 + ["B"] * 4, "budget_period": [1, 2, 3, 4] * 2,
                           "domain": "ltss", "score": [0.6, 0.5, 0.7, 0.4, 0.6, 0.65, 0.7, 0.3]})
    row = domain_tests(None, 4, program, reading="domain_score", domain_scores=scores,
                       domains=["ltss"]).table().iloc[0]
    assert row["p_exact"] == approx(0.125, abs=1e-12)
    assert row["p_asymptotic"] == approx(0.0578, abs=1e-4)
    assert row["worse"] and row["decision_differs"]


def utilization_frame(ppa_observed: float, readmissions_observed: float) -> pd.DataFrame:
    """BP 4 rows (two ACOs) against a baseline O/E of 1.0 for both measures."""
    return pd.DataFrame({
        "entity_id": ["ACO 1", "ACO 2"] * 2, "budget_period": 4, "measure_id": ["ppa", "ppa", "readmissions",
                                                                                "readmissions"],
        "observed": [ppa_observed * 0.4, ppa_observed * 0.6, readmissions_observed / 2, readmissions_observed / 2],
        "expected": [40.0, 60.0, 50.0, 50.0], "member_months": 1.0})


BASELINE = pd.DataFrame({"measure_id": ["ppa", "readmissions"], "observed": [100.0, 100.0],
                         "expected": [100.0, 100.0]})


def test_step_3b_utilization_score_87_percent(program):
    # 12% PPA reduction (target 12%) -> 100%; 13% readmissions reduction (BP 4 target 15%; the
    # text's "BP 2" is a typo, D6) -> (13 - 7.5) / 7.5 = 73.33%; mean 86.67%, published 87%.
    result = state_utilization(utilization_frame(88.0, 87.0), 4, program, baseline=BASELINE)
    table = result.table().set_index("measure_id")
    assert table.at["ppa", "reduction"] == approx(0.12) and table.at["ppa", "score"] == 1.0
    assert table.at["readmissions", "score"] == approx(5.5 / 7.5, rel=1e-12)
    assert result.score == approx((1 + 5.5 / 7.5) / 2, rel=1e-12)
    assert round(result.score * 100) == 87
    # "roughly 87% of the Reduction Target": 13 / 15.
    assert table.at["readmissions", "reduction"] / table.at["readmissions", "target"] == approx(0.8667, abs=5e-5)


def test_exhibit_a8_quality_and_utilization_92_percent(program, example):
    published = example("appendix_c_exhibits_a6_a8").set_index("domain")
    scores = (published["dsrip_domain_score_percent"] / 100).to_dict()
    scores["avoidable_utilization"] = (1 + 5.5 / 7.5) / 2  # step 3(b), unrounded
    result = state_quality_score(scores, 4, program)
    table = result.table().set_index("domain")
    assert (table["exhibit_weight"] * 100).round(6).to_dict() == published["weight_percent"].astype(float).to_dict()
    assert result.score == approx(0.75 + 0.2 * (1 + 5.5 / 7.5) / 2, rel=1e-12)  # 92.33%
    assert round(result.score * 100) == 92
    # The exhibit's cells: the utilisation cell is 20% x 86.67% = 17.33%, published 17%; the
    # published 92% is also the sum of the published cells (D4).
    assert round(table.at["avoidable_utilization", "weighted"] * 100) == published.at["avoidable_utilization",
                                                                                      "weighted_percent"]
    assert published["weighted_percent"].sum() == 92
    assert (table["weighted"] * 100).drop("avoidable_utilization").round(9).to_dict() == approx(
        published["weighted_percent"].drop("avoidable_utilization").to_dict())


def test_step_3_end_to_end_from_exhibit_scores(program, a5):
    # The chain of functions on the exhibit's data (domain-score reading) and the step 3(b)
    # figures: every tested domain scores 100% (D60), so the total is 95% + 20% x 86.67%.
    scores, _ = a5
    tests = domain_tests(None, 4, program, reading="domain_score", domain_scores=scores)
    utilization = state_utilization(utilization_frame(88.0, 87.0), 4, program, baseline=BASELINE)
    total = state_quality_domain(tests, utilization, program)
    assert total.score == approx(0.80 + 0.2 * (1 + 5.5 / 7.5) / 2, rel=1e-12)
