"""The State's quality-domain tests (Sec 5.2.1.3): readings, decisions, properties, planted effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.quality.state_domains import (
    DEFAULT_READING,
    READINGS,
    aggregate_domain_scores,
    domain_tests,
    pooled_domain_scores,
    sensitivity,
    van_elteren_domains,
)

DOMAINS = ["prevention_wellness", "chronic_disease", "behavioral_health", "ltss", "integration", "member_experience"]
# (measure, domain, typical rate, higher is better); one lower-is-better measure in the planted domain
MEASURES = [(f"{d}_{i}", d, 0.3 + 0.1 * i, not (d == "behavioral_health" and i == 0))
            for d in DOMAINS for i in range(4)]


def scored(seed: int = 1, *, n_acos: int = 17, periods=(1, 2, 3), shift: dict | None = None) -> pd.DataFrame:
    """ACO x measure rates on the logit scale; ``shift`` {(domain, bp): logit} moves a domain's
    rates in the worse (negative) or better direction."""
    rng = np.random.default_rng(seed)
    level = rng.normal(0, 0.3, n_acos)
    rows = []
    for a in range(n_acos):
        for bp in periods:
            for measure, domain, rate, hib in MEASURES:
                move = level[a] + (shift or {}).get((domain, bp), 0.0) + rng.normal(0, 0.15)
                value = expit(logit(rate) + (move if hib else -move))
                rows.append((f"ACO{a:02d}", bp, measure, domain, value, hib, True))
    return pd.DataFrame(rows, columns=["entity_id", "budget_period", "measure_id", "domain", "rate",
                                       "higher_is_better", "eligible"])


def test_van_elteren_domains_exclude_utilization_and_unweighted(program):
    assert van_elteren_domains(program, 4) == DOMAINS
    assert "member_experience" not in van_elteren_domains(program, 1)  # weight 0 in BP 1


def test_planted_worsening_flags_that_domain_only(program):
    data = scored(shift={("behavioral_health", 3): -0.5})
    table = domain_tests(data, 3, program).table().set_index("domain")
    assert table["worse"].to_dict() == {d: d == "behavioral_health" for d in DOMAINS}
    assert table.at["behavioral_health", "z"] < 0 and table.at["behavioral_health", "score"] == 0.0
    assert set(table["score"]) <= {0.0, 1.0}
    assert (table["strata"] == 17).all() and (table["n_current"] * 2 == table["n_previous"]).all()
    # the exact (or Monte Carlo) p-value agrees on the planted domain
    assert table.at["behavioral_health", "p_exact"] < 0.01 and not table["decision_differs"].any()


def test_planted_improvement_is_not_worse(program):
    table = domain_tests(scored(shift={("ltss", 3): +0.5}), 3, program, exact=False).table().set_index("domain")
    assert table.at["ltss", "z"] > 2 and not table["worse"].any()


def test_identical_periods_are_never_worse(program):
    one = scored(seed=3, periods=(1,))
    data = pd.concat([one.assign(budget_period=bp) for bp in (1, 2, 3)], ignore_index=True)
    table = domain_tests(data, 3, program).table()
    assert np.allclose(table["z"], 0.0) and not table["worse"].any() and (table["score"] == 1.0).all()


def test_reordering_rows_changes_nothing(program):
    data = scored(seed=5, shift={("chronic_disease", 3): -0.3})
    expected = domain_tests(data, 3, program, exact=False).table()
    shuffled = data.sample(frac=1.0, random_state=2).reset_index(drop=True)
    renamed = shuffled.assign(entity_id="X" + shuffled["entity_id"].str[::-1])  # other labels, other sort order
    for frame in (shuffled, renamed):
        pd.testing.assert_frame_equal(domain_tests(frame, 3, program, exact=False).table(), expected,
                                      check_exact=False, rtol=1e-12)


def test_lower_is_better_is_oriented(program):
    # One lower-is-better measure whose rate rises in BP 3 (worse): flagged worse.
    rows = [(f"A{a}", bp, "a1c_poor_control", "ltss", 0.3 + 0.01 * a + (0.1 if bp == 3 else 0.0) + 0.001 * bp,
             False, True) for a in range(12) for bp in (1, 2, 3)]
    data = pd.DataFrame(rows, columns=["entity_id", "budget_period", "measure_id", "domain", "rate",
                                       "higher_is_better", "eligible"])
    worse = domain_tests(data, 3, program, domains=["ltss"]).table().iloc[0]
    better = domain_tests(data.assign(higher_is_better=True), 3, program, domains=["ltss"]).table().iloc[0]
    assert worse["worse"] and worse["z"] < 0
    assert not better["worse"] and better["z"] == pytest.approx(-worse["z"])


def test_ineligible_rows_are_ignored(program):
    data = scored(seed=7)
    noisy = data.copy()
    extra = data.loc[data["budget_period"] == 3].assign(measure_id=lambda f: f["measure_id"] + "_x", rate=0.0,
                                                        eligible=False)
    pd.testing.assert_frame_equal(domain_tests(pd.concat([noisy, extra]), 3, program, exact=False).table(),
                                  domain_tests(data, 3, program, exact=False).table())


def lower_in_bp2(n_acos: int) -> pd.DataFrame:
    """One measure, every ACO a little lower in BP 2 than in BP 1: z = -sqrt(n_acos) exactly."""
    rows = [(f"A{a}", bp, "m", "ltss", 0.5 + 0.01 * a - (0.05 if bp == 2 else 0.0), True, True)
            for a in range(n_acos) for bp in (1, 2)]
    return pd.DataFrame(rows, columns=["entity_id", "budget_period", "measure_id", "domain", "rate",
                                       "higher_is_better", "eligible"])


def test_asymptotic_decides_and_exact_disagreement_is_flagged(program):
    # 3 ACOs: z = -sqrt(3), asymptotic p 0.083 <= 0.1 (worse) but exact p 2/8 = 0.25.
    row = domain_tests(lower_in_bp2(3), 2, program, domains=["ltss"]).table().iloc[0]
    assert row["z"] == pytest.approx(-3 ** 0.5) and row["p_asymptotic"] == pytest.approx(0.0833, abs=1e-4)
    assert row["p_exact"] == pytest.approx(2 / 8) and row["exact_method"] == "exact"
    assert row["worse"] and row["score"] == 0.0 and row["decision_differs"]
    one_sided = domain_tests(lower_in_bp2(3), 2, program, reading="one_sided", domains=["ltss"]).table().iloc[0]
    assert one_sided["p_asymptotic"] == pytest.approx(row["p_asymptotic"] / 2)
    assert one_sided["p_exact"] == pytest.approx(1 / 8) and one_sided["decision_differs"]
    # 5 ACOs: asymptotic 0.025 and exact 2/32 = 0.0625 agree.
    row = domain_tests(lower_in_bp2(5), 2, program, domains=["ltss"]).table().iloc[0]
    assert row["p_exact"] == pytest.approx(2 / 32) and row["worse"] and not row["decision_differs"]


def test_p_equal_to_alpha_is_worse():
    # "an alpha value of <= 0.1": a p-value of exactly alpha counts as significant.
    from dsrip_lib.quality import state_domains

    assert state_domains._worse(0.1, -1.0, 0.1) and not state_domains._worse(0.10000000000000002, -1.0, 0.1)
    assert not state_domains._worse(0.05, +1.0, 0.1) and not state_domains._worse(float("nan"), -1.0, 0.1)


def test_member_level_reading(program):
    rng = np.random.default_rng(0)
    measures = scored(seed=9, n_acos=4, periods=(1, 2))
    members = [(r.entity_id, r.budget_period, r.measure_id, f"m{k}", float(rng.random() < r.rate))
               for r in measures.itertuples() for k in range(6)]
    member_measures = pd.DataFrame(members, columns=["entity_id", "budget_period", "measure_id", "member_id",
                                                     "value"])
    table = domain_tests(measures, 2, program, reading="member_level", member_measures=member_measures).table()
    assert (table["n_current"] == 4 * 4 * 6).all() and (table["strata"] <= 16).all()
    assert table["exact_method"].isin(["exact", "permutation"]).all()


def test_sensitivity_runs_every_applicable_reading(program):
    data = scored(seed=11, shift={("behavioral_health", 3): -0.5})
    domain_scores = (data.assign(score=data["rate"]).groupby(["entity_id", "budget_period", "domain"], as_index=False)
                     ["score"].mean())
    out = sensitivity(data, 3, program, exact=False)
    assert list(dict.fromkeys(out["reading"])) == [r for r in READINGS if r not in ("domain_score", "member_level")]
    assert out.loc[out["default"], "reading"].eq(DEFAULT_READING).all() and out.loc[out["default"],
                                                                                  "agrees_with_default"].all()
    with_scores = sensitivity(data, 3, program, domain_scores=domain_scores, exact=False)
    assert "domain_score" in set(with_scores["reading"])
    bh = with_scores.loc[with_scores["domain"] == "behavioral_health"]
    assert bh.set_index("reading")["agrees_with_default"].drop("domain_score").all()


def test_bad_input(program):
    data = scored(seed=13)
    with pytest.raises(ParameterError, match="reading"):
        domain_tests(data, 3, program, reading="t_test")
    with pytest.raises(ParameterError, match="domain_scores"):
        domain_tests(data, 3, program, reading="domain_score")
    with pytest.raises(ParameterError, match="member_measures"):
        domain_tests(data, 3, program, reading="member_level")
    with pytest.raises(InputValidationError, match="ltss"):  # no LTSS scores in BP 3
        domain_tests(data.loc[~((data["domain"] == "ltss") & (data["budget_period"] == 3))], 3, program)
    with pytest.raises(InputValidationError, match="no scores"):  # nothing before BP 1
        domain_tests(data, 1, program)
    with pytest.raises(InputValidationError, match="rate"):
        domain_tests(data.assign(rate=data["rate"].where(data.index != 5)), 3, program)
    with pytest.raises(InputValidationError, match="missing column"):
        domain_tests(data.drop(columns="eligible"), 3, program)


def test_aggregate_and_pooled_scores_properties():
    rng = np.random.default_rng(2)
    scores = pd.DataFrame([(f"A{a}", bp, d, rng.random()) for a in range(5) for bp in (1, 2, 3) for d in DOMAINS],
                          columns=["entity_id", "budget_period", "domain", "score"])
    members = pd.DataFrame([(f"A{a}", bp, int(rng.integers(1, 1000))) for a in range(5) for bp in (1, 2, 3)],
                           columns=["entity_id", "budget_period", "members"])
    aggregate = aggregate_domain_scores(scores, members)
    pooled = pooled_domain_scores(scores, members, 3)
    assert aggregate["score"].between(0, 1).all() and pooled["score"].between(0, 1).all()
    shuffled = aggregate_domain_scores(scores.sample(frac=1, random_state=1), members.sample(frac=1, random_state=2))
    pd.testing.assert_frame_equal(shuffled, aggregate)
    # pooled = aggregate scores of the earlier periods weighted by their members
    earlier = aggregate.loc[aggregate["budget_period"] < 3]
    expected = (earlier["score"] * earlier["members"]).groupby(earlier["domain"]).sum() / earlier.groupby(
        "domain")["members"].sum()
    assert np.allclose(pooled.set_index("domain")["score"], expected.loc[pooled["domain"]])


def test_aggregate_bad_input():
    scores = pd.DataFrame({"entity_id": ["A", "B"], "budget_period": 1, "domain": "ltss", "score": [0.5, 1.2]})
    members = pd.DataFrame({"entity_id": ["A", "B"], "budget_period": 1, "members": [10, 20]})
    with pytest.raises(InputValidationError, match="score"):
        aggregate_domain_scores(scores, members)
    with pytest.raises(InputValidationError, match="no members"):
        aggregate_domain_scores(scores.assign(score=0.5), members.iloc[:1])
    with pytest.raises(InputValidationError, match="members"):
        aggregate_domain_scores(scores.assign(score=0.5), members.assign(members=[10, 0]))
    with pytest.raises(InputValidationError, match="no scores before"):
        pooled_domain_scores(scores.assign(score=0.5), members, 1)


@pytest.fixture(scope="module")
def small_state(tmp_path_factory):
    from dsrip_lib.synth import generate

    return generate(profile="small", seed=7, out=tmp_path_factory.mktemp("synth") / "small")


def synthetic_scored_measures(directory, program) -> pd.DataFrame:
    """ACO scored measures built directly from the synthetic measure_results and survey_scores
    (rate = numerator / denominator where given), with the program slate's domains and directions:
    all the default reading needs."""
    slate = pd.DataFrame([{"measure_id": m.id, "domain": m.domain, "higher_is_better": m.higher_is_better}
                          for m in program.measures.slate("aco")])
    entities = pd.read_parquet(directory / "entities.parquet")
    acos = entities.loc[entities["entity_type"] == "aco", "entity_id"]
    results = pd.read_parquet(directory / "measure_results.parquet")
    results = results.loc[results["entity_id"].isin(acos)].assign(
        rate=lambda f: f["rate"].fillna(f["numerator"] / f["denominator"]), eligible=lambda f: f["eligible_members"] > 0)
    surveys = pd.read_parquet(directory / "survey_scores.parquet")
    surveys = surveys.loc[surveys["entity_id"].isin(acos)]
    surveys = pd.DataFrame({"entity_id": surveys["entity_id"], "budget_period": surveys["budget_period"],
                            "measure_id": surveys["survey"] + "." + surveys["composite"],
                            "rate": surveys["score"] / 100, "eligible": True})
    columns = ["entity_id", "budget_period", "measure_id", "rate", "eligible"]
    return pd.concat([results[columns], surveys], ignore_index=True).merge(slate, on="measure_id", validate="m:1")


def test_synthetic_planted_worsening_domain_is_found(program, small_state):
    import json

    truth = json.loads((small_state / "truth.json").read_text())["effects"]["worsening_domain"]
    data = synthetic_scored_measures(small_state, program)
    bp = truth["budget_period"]
    table = domain_tests(data, bp, program, exact=False).table().set_index("domain")
    assert table.index[table["worse"]].tolist() == [truth["domain"]]
