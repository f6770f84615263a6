"""ACO DSRIP Accountability Score, earned at-risk funds, remediation earn-back (Sec 5.3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsrip_lib.accountability.aco import aco_accountability, earned_at_risk, remediation_earn_back
from dsrip_lib.errors import InputValidationError, ParameterError

unit = st.floats(0, 1)


def _quality(bps=(1, 2, 3), ids=("A", "B")):
    rows = [(e, bp, 0.5 + 0.1 * i + 0.01 * bp) for i, e in enumerate(ids) for bp in bps]
    return pd.DataFrame(rows, columns=["entity_id", "budget_period", "quality_score"])


def _tcoc(bps=(3,), ids=("A", "B")):
    rows = [(e, bp, 0.2 * (i + 1), "extra") for i, e in enumerate(ids) for bp in bps]
    return pd.DataFrame(rows, columns=["entity_id", "budget_period", "tcoc_component", "note"])


def test_blend_uses_exhibit_31_weights_per_period(program):
    out = aco_accountability(_quality(), _tcoc(), program)
    for row in out.itertuples():
        weights = program.aco_accountability.component_weights_in(row.budget_period)
        assert (row.quality_weight, row.tcoc_weight) == pytest.approx((weights["quality"], weights.get("tcoc", 0)))
    bp1 = out[out.budget_period == 1]
    assert bp1["accountability_score"].tolist() == pytest.approx(bp1["quality_score"].tolist())
    assert bp1["tcoc_component"].isna().all()  # not weighted: shown as missing, never as 0
    a3 = out[(out.entity_id == "A") & (out.budget_period == 3)].iloc[0]
    assert a3["accountability_score"] == pytest.approx(0.75 * 0.53 + 0.25 * 0.2)


def test_tcoc_not_needed_before_it_has_weight(program):
    out = aco_accountability(_quality(bps=(1, 2)), None, program)
    assert not out["accountability_score"].isna().any()


def test_missing_tcoc_component_names_the_aco(program):
    with pytest.raises(InputValidationError, match=r"tcoc_component.*entity_id='B', budget_period=3"):
        aco_accountability(_quality(), _tcoc(ids=("A",)), program)


def test_tcoc_without_quality_in_a_scored_period_is_refused(program):
    with pytest.raises(InputValidationError, match="entity_id='C'"):
        aco_accountability(_quality(), _tcoc(ids=("A", "B", "C")), program)
    # TCOC rows of periods not being scored are ignored
    out = aco_accountability(_quality(bps=(3,)), _tcoc(bps=(3, 4)), program)
    assert set(out.budget_period) == {3}


def test_prep_period_has_no_score(program):
    with pytest.raises(ParameterError, match="Exhibit 31.*\\[0\\]"):
        aco_accountability(_quality(bps=(0, 1)), None, program)


@pytest.mark.parametrize("bad", [1.2, -0.1, np.nan])
def test_quality_out_of_range_is_refused(program, bad):
    quality = _quality()
    quality.loc[2, "quality_score"] = bad
    with pytest.raises(InputValidationError, match="quality_score"):
        aco_accountability(quality, _tcoc(), program)


def test_duplicate_aco_period_is_refused(program):
    with pytest.raises(InputValidationError, match="one row per key"):
        aco_accountability(pd.concat([_quality(), _quality().head(1)]), _tcoc(), program)


def test_reordering_rows_changes_nothing(program):
    out = aco_accountability(_quality(), _tcoc(), program)
    shuffled = aco_accountability(_quality().sample(frac=1, random_state=3), _tcoc().iloc[::-1], program)
    pd.testing.assert_frame_equal(out, shuffled)


@settings(deadline=None, max_examples=40)
@given(q=unit, t=unit, bp=st.integers(1, 5))
def test_score_in_unit_interval(program, q, t, bp):
    quality = pd.DataFrame({"entity_id": ["A"], "budget_period": [bp], "quality_score": [q]})
    tcoc = pd.DataFrame({"entity_id": ["A"], "budget_period": [bp], "tcoc_component": [t]})
    score = aco_accountability(quality, tcoc, program)["accountability_score"].iloc[0]
    assert min(q, t) - 1e-12 <= score <= max(q, t) + 1e-12 and 0 <= score <= 1


def _withheld():
    return pd.DataFrame({"entity_id": ["A", "A", "B"], "budget_period": 3,
                         "stream": ["dsti_glide_path", "startup_ongoing_discretionary", "dsti_glide_path"],
                         "withheld_usd": [1000.0, 3000.0, 0.0]})


def _scores():
    return pd.DataFrame({"entity_id": ["A", "B"], "budget_period": 3, "accountability_score": [0.4, 1.0]})


def test_earned_is_score_times_withheld():
    out = earned_at_risk(_scores(), _withheld())
    assert out["earned_usd"].tolist() == pytest.approx([400.0, 1200.0, 0.0])
    assert (out["earned_usd"] + out["unearned_usd"]).tolist() == pytest.approx(out["withheld_usd"].tolist())


@settings(deadline=None, max_examples=40)
@given(score=unit, amount=st.floats(0, 1e9))
def test_earned_never_exceeds_withheld(score, amount):
    scores = pd.DataFrame({"entity_id": ["A"], "budget_period": [2], "accountability_score": [score]})
    withheld = pd.DataFrame({"entity_id": ["A"], "budget_period": [2], "stream": ["s"], "withheld_usd": [amount]})
    row = earned_at_risk(scores, withheld).iloc[0]
    assert 0 <= row["earned_usd"] <= row["withheld_usd"] and row["unearned_usd"] >= 0


def test_withheld_without_a_score_is_named():
    withheld = pd.concat([_withheld(), pd.DataFrame({"entity_id": ["Z"], "budget_period": [3], "stream": ["x"],
                                                     "withheld_usd": [5.0]})])
    with pytest.raises(InputValidationError, match="entity_id='Z', budget_period=3"):
        earned_at_risk(_scores(), withheld)


def test_negative_withheld_is_refused():
    with pytest.raises(InputValidationError, match="withheld_usd"):
        earned_at_risk(_scores(), _withheld().assign(withheld_usd=[1.0, -1.0, 0.0]))


def test_remediation_share_above_the_maximum_is_refused(program):
    assert remediation_earn_back(1000.0, 0.60, 10, program) == pytest.approx(600.0)
    with pytest.raises(ParameterError, match="60%"):
        remediation_earn_back(1000.0, 0.61, 10, program)
    with pytest.raises(ParameterError, match="Plan Score"):
        remediation_earn_back(1000.0, 0.5, 11, program)
    with pytest.raises(ParameterError):
        remediation_earn_back(1000.0, -0.1, 5, program)


def test_remediation_is_vectorised_and_rejects_negative_amounts(program):
    unearned = pd.Series([0.0, 100.0, 2500.0])
    assert remediation_earn_back(unearned, 0.4, 5, program).tolist() == pytest.approx([0.0, 20.0, 500.0])
    with pytest.raises(InputValidationError):
        remediation_earn_back(pd.Series([10.0, -1.0]), 0.4, 5, program)
