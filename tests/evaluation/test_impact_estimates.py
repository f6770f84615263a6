"""The evaluation stage against the generator's planted program effect (truth.json effects.program_effect)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dsrip_lib.attribution.rules import monthly_attribution
from dsrip_lib.errors import InputValidationError
from dsrip_lib.evaluation.did import did, naive
from dsrip_lib.evaluation.event_study import event_study
from dsrip_lib.evaluation.panel import NEVER, event_cells, member_periods, outcome_panel
from dsrip_lib.inputs.dataset import open_dataset

SEEDS = (1, 2, 3, 4, 5)
# 99.9% intervals: with five seeds and two outcomes, all ten cover with probability about 0.99 when the
# estimator is right (a 95% interval would miss somewhere in 40% of such runs)
ALPHA = 0.001


def _periods(data_dir, program):
    d = open_dataset(data_dir, program=program, validate=False)
    att = monthly_attribution(*(d.table(n) for n in ("enrollment", "pcp_assignments", "providers", "entities")),
                              program)
    panel = outcome_panel(d.table("claims"), d.table("enrollment"), att, program)
    truth = json.loads((data_dir / "truth.json").read_text())["effects"]["program_effect"]
    return panel, member_periods(panel), {o["outcome"]: o for o in truth["outcomes"]}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, program):
    from dsrip_lib.synth import generate

    root = tmp_path_factory.mktemp("evaluation_seeds")
    return [_periods(generate(profile="tiny", seed=s, out=root / f"tiny{s}"), program) for s in SEEDS]


def test_did_intervals_cover_the_planted_effects_over_five_seeds(seeded):
    misses = []
    for seed, (panel, periods, truth) in zip(SEEDS, seeded):
        est = did(periods, panel.baseline_year, outcomes=list(truth), alpha=ALPHA).set_index("outcome")
        for outcome, t in truth.items():
            low, high = est.at[outcome, "relative_low"], est.at[outcome, "relative_high"]
            if not low <= t["relative_effect"] <= high:
                misses.append((seed, outcome, t["relative_effect"], low, high))
    assert misses == []


def test_placebo_launch_a_year_early_covers_zero(seeded):
    for panel, periods, truth in seeded:
        est = did(periods, panel.baseline_year, outcomes=list(truth), alpha=ALPHA, placebo=True)
        assert ((est["relative_low"] <= 0) & (est["relative_high"] >= 0)).all(), est


def test_naive_pre_post_is_biased_in_the_direction_of_selection(small_state, program):
    panel, periods, truth = _periods(small_state, program)
    crude = naive(periods, panel.baseline_year, outcomes=list(truth)).query("comparison == 'pre_post'")
    for r in crude.itertuples():
        t = truth[r.outcome]
        direction = 1 if t["selection_ratio"] > 1 else -1
        # the naive interval excludes the truth, on the side selection pushes it
        assert direction * (r.low - t["relative_effect"]) > 0 if direction > 0 else r.high < t["relative_effect"]


def test_a_period_without_comparison_members_is_refused(seeded):
    panel, periods, _ = seeded[0]
    broken = periods[~((periods["year"] == 2021) & (periods["phase"] == NEVER))]
    with pytest.raises(InputValidationError, match=r"outcome pmpm: 1 period.*year=2021"):
        did(broken, panel.baseline_year)


def test_too_few_aco_clusters_are_refused_or_corrected(seeded):
    panel, periods, _ = seeded[0]
    with pytest.raises(InputValidationError, match=r"cluster=aco: 6 clusters .* fewer than min_clusters=30"):
        did(periods, panel.baseline_year, cluster="aco", small_clusters="refuse")
    est = did(periods, panel.baseline_year, cluster="aco", small_clusters="cr1_t")
    assert (est["df"] == 5).all() and est["method"].str.contains("t\\(G-1\\)").all()
    member = did(periods, panel.baseline_year)
    # same point estimates, the ACO-clustered t(5) interval is the wider one here
    pd.testing.assert_series_equal(est["estimate"], member["estimate"])
    assert ((est["high"] - est["low"]) > (member["high"] - member["low"])).all()


def test_event_study_pre_periods_and_a_missing_comparison(seeded):
    panel, _, _ = seeded[0]
    cells = event_cells(panel, "quarter")
    es = event_study(cells)
    assert set(es["event_period"]) >= {-4, -3, -2, 0, 1} and -1 not in set(es["event_period"])
    assert (es["comparison_members"] > 0).all() and (es["low"] <= es["estimate"]).all()
    broken = cells[~((cells["event_period"] == 2) & (cells["group"] == NEVER))]
    with pytest.raises(InputValidationError, match="event period"):
        event_study(broken)
