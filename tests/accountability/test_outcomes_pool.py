"""Outcomes-based pools (Sec 4.5.3, 4.5.6, 5.4.5): eligibility, pools by type and period, errors."""

from __future__ import annotations

import pandas as pd
import pytest

from dsrip_lib.accountability.outcomes_pool import outcomes_pool_awards, pool_shares
from dsrip_lib.errors import InputValidationError, ParameterError


def _frames(bp=3):
    engaged = pd.DataFrame({"entity_id": ["B1", "B2", "L1", "L2", "S1"],
                            "entity_type": ["cp_bh", "cp_bh", "cp_ltss", "cp_ltss", "csa"],
                            "budget_period": bp, "engaged_members": [300, 100, 50, 150, 999]})
    scores = pd.DataFrame({"entity_id": ["B1", "B2", "L1", "L2", "S1", "B1"],
                           "entity_type": ["cp_bh", "cp_bh", "cp_ltss", "cp_ltss", "csa", "cp_bh"],
                           "budget_period": bp, "domain": ["avoidable_utilization"] * 5 + ["engagement"],
                           "score": [1.0, 1.0, 0.999, 1.0, 1.0, 0.2]})
    return scores, engaged


def test_pools_are_separate_by_cp_type_and_csas_are_out(program):
    out = outcomes_pool_awards(*_frames(), program).set_index("entity_id")
    assert "S1" not in out.index
    assert out.loc[["B1", "B2"], "award_usd"].tolist() == pytest.approx([750_000, 250_000])
    assert out.loc["L1", "eligible"] == False  # noqa: E712  0.999 is not 1
    assert out.loc[["L1", "L2"], "award_usd"].tolist() == pytest.approx([0, 500_000])


def test_no_pool_before_bp3(program):
    assert outcomes_pool_awards(*_frames(bp=2), program).empty


def test_no_eligible_cp_awards_nothing():
    assert pool_shares(pd.Series([5, 6]), pd.Series([False, False])).tolist() == [0.0, 0.0]


def test_missing_domain_score_is_not_eligible(program):
    scores, engaged = _frames()
    out = outcomes_pool_awards(scores[scores.entity_id != "B2"], engaged, program).set_index("entity_id")
    assert not out.loc["B2", "eligible"] and out.loc["B1", "award_usd"] == pytest.approx(1_000_000)


def test_pool_override_and_reordering(program):
    scores, engaged = _frames()
    out = outcomes_pool_awards(scores, engaged, program, pool_usd={"cp_bh": 2_000.0})
    assert out.loc[out.entity_id == "B1", "award_usd"].item() == pytest.approx(1_500)
    shuffled = outcomes_pool_awards(scores.iloc[::-1], engaged.sample(frac=1, random_state=1), program,
                                    pool_usd={"cp_bh": 2_000.0})
    pd.testing.assert_frame_equal(out, shuffled)
    with pytest.raises(ParameterError, match="pool_usd"):
        outcomes_pool_awards(scores, engaged, program, pool_usd={"csa": 5.0})


def test_bad_inputs_are_named(program):
    scores, engaged = _frames()
    with pytest.raises(InputValidationError, match="engaged_members.*entity_id='B2'"):
        outcomes_pool_awards(scores, engaged.assign(engaged_members=[1, -1, 1, 1, 1]), program)
    with pytest.raises(InputValidationError, match="one row per key"):
        outcomes_pool_awards(pd.concat([scores, scores.head(1)]), engaged, program)
