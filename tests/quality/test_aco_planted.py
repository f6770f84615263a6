"""The planted improving ACO (truth.json ``effects.improving_aco``) earns improvement points on the synthetic data."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from aco_cases import benchmarks_for, scoring_program

from dsrip_lib.quality.domain_scores import aco_domain_scores, aco_quality_score
from dsrip_lib.quality.experience import score_experience
from dsrip_lib.quality.measure_scores import score_aco_measures
from dsrip_lib.quality.utilization import score_utilization


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The small synthetic state (30,000 members, 17 ACOs), seed 2017."""
    from dsrip_lib.synth import generate

    return generate(profile="small", seed=2017, out=tmp_path_factory.mktemp("synth") / "small")


@pytest.fixture(scope="module")
def scored(small, program):
    prog = scoring_program(program)
    bench = benchmarks_for(prog)
    acos = pd.read_parquet(small / "entities.parquet").query("entity_type == 'aco'")["entity_id"]

    def read(name):
        frame = pd.read_parquet(small / f"{name}.parquet")
        return frame[frame["entity_id"].isin(acos)]

    measures = score_aco_measures(read("measure_results"), prog, bench)
    utilization = score_utilization(read("utilization"), prog)
    experience = score_experience(read("survey_scores"), prog, bench)
    return prog, measures, utilization, experience


def test_improving_aco_earns_improvement_points_on_more_measures_than_a_typical_aco(small, scored):
    truth = json.loads((small / "truth.json").read_text())["effects"]["improving_aco"]
    _, measures, _, experience = scored
    both = pd.concat([measures, experience])
    counts = both[both.improvement_points > 0].groupby("entity_id").size().reindex(
        both["entity_id"].unique(), fill_value=0)
    improving = counts.pop(truth["aco_id"])
    assert improving > 2 * counts.median(), (improving, counts.to_dict())
    assert improving >= counts.quantile(0.9)


def test_every_score_on_the_synthetic_state_is_in_0_1(scored):
    prog, measures, utilization, experience = scored
    domains = aco_domain_scores(measures, prog, utilization=utilization, survey_scores=experience,
                                missing_domain="reweight")
    quality = aco_quality_score(domains, prog, missing_domain="reweight")
    assert domains["score"].between(0, 1).all() and quality["quality_score"].between(0, 1).all()
    assert quality["quality_score"].notna().all()
