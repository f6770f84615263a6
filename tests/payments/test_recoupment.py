"""Recoupment and the Sec 5.1.3 cases: exact cents, no negative part, order never decides."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.payments.recoupment import DistributionCase, apply_reduction, class_split, recoup, to_cents

scores = st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=12)


def _frame(values, prefix):
    return pd.DataFrame({"entity_id": [f"{prefix}{i:02d}" for i in range(len(values))],
                         "accountability_score": values})


@given(total=st.integers(0, 10**11), aco=scores, cp=scores, method=st.sampled_from(["shortfall", "equal"]))
def test_parts_add_up_to_the_cent_and_none_is_negative(program, total, aco, cp, method):
    result = recoup(total, _frame(aco, "A"), _frame(cp, "C"), program, cp_method=method)
    assert int(result.rows["recouped_cents"].sum()) + int(result.classes["unallocated_cents"].sum()) == total
    assert (result.rows["recouped_cents"] >= 0).all()
    assert result.classes["amount_cents"].sum() == total


@given(aco=scores, seed=st.randoms())
def test_reordering_entities_changes_nothing(program, aco, seed):
    frame = _frame(aco, "A")
    shuffled = frame.sample(frac=1, random_state=seed.randint(0, 2**31))
    a = recoup(123_456_78, frame, None, program).rows
    b = recoup(123_456_78, shuffled, None, program).rows
    pd.testing.assert_frame_equal(a, b)


def test_a_perfect_aco_pays_nothing_and_lower_scores_pay_more(program):
    rows = recoup(1_000_00, _frame([1.0, 0.8, 0.5], "A"), None, program).rows.set_index("entity_id")
    assert rows.at["A00", "recouped_cents"] == 0
    assert rows.at["A02", "recouped_cents"] > rows.at["A01", "recouped_cents"] > 0


def test_all_perfect_scores_leave_the_class_amount_unallocated_and_say_why(program):
    result = recoup(100_00, _frame([1.0, 1.0], "A"), _frame([0.5], "C"), program)
    aco = result.classes.set_index("entity_class").loc["aco"]
    assert aco["unallocated_cents"] == 66_10 and "100%" in aco["note"]
    assert result.rows.set_index("entity_id").at["C00", "recouped_cents"] == 33_90


def test_the_equal_cp_method_ignores_scores(program):
    rows = recoup(100_00, _frame([0.5], "A"), _frame([0.9, 0.1, 1.0], "C"), program, cp_method="equal").rows
    assert rows.loc[rows["entity_class"] == "community_partners", "recouped_cents"].tolist() == [11_30, 11_30, 11_30]


def test_bad_inputs_are_refused(program):
    with pytest.raises(ParameterError, match="cp_method"):
        recoup(1, _frame([0.5], "A"), None, program, cp_method="withheld")
    with pytest.raises(ParameterError, match="negative"):
        recoup(-1, _frame([0.5], "A"), None, program)
    with pytest.raises(InputValidationError, match="accountability_score"):
        recoup(1, _frame([1.5], "A"), None, program)
    with pytest.raises(InputValidationError, match="entity_id"):
        recoup(1, pd.DataFrame({"entity_id": ["A", "A"], "accountability_score": [0.5, 0.5]}), None, program)


def test_class_split_sums_exactly(program):
    for total in (0, 1, 99, 100_00, 5_527_500_00):
        assert sum(class_split(total, program).values()) == total


@pytest.mark.parametrize(("undistributed", "reduction", "case", "left", "short"), [
    (500, 0, "not_reduced", 500, 0), (500, 500, "equal", 0, 0), (700, 500, "exceeds", 200, 0),
    (300, 500, "less", 0, 200), (0, 500, "less", 0, 500)])
def test_the_three_cases_of_sec_5_1_3(undistributed, reduction, case, left, short):
    outcome = DistributionCase(undistributed, reduction)
    assert (outcome.case, outcome.redistributable_cents, outcome.shortfall_cents) == (case, left, short)
    assert outcome.summary()


def test_reduction_applied_two_periods_later_or_recouped(program):
    assert apply_reduction(100, 3, program).applied_to == 5
    for bp in (4, 5):
        applied = apply_reduction(100, bp, program)
        assert applied.applied_to is None and applied.how == "recouped"
    with pytest.raises(ParameterError):
        apply_reduction(-1, 2, program)


def test_to_cents_rounds_half_up():
    assert to_cents(13.225) == 13_23 and to_cents(0.1 + 0.2) == 30 and to_cents(6_187_500) == 618_750_000
    with pytest.raises(InputValidationError):
        to_cents(float("nan"))
