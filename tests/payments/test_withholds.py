"""ACO startup/ongoing funding and the discretionary withhold (Sec 4.4.1, Exhibits 6-8 and 20), by hand."""

from __future__ import annotations

import pandas as pd
import pytest
from pytest import approx

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.payments.withholds import aco_withholds, calibrated_base_pmpm, startup_ongoing_funding

ENTITIES = pd.DataFrame({
    "entity_id": ["PC2", "MC1", "LATE", "CP1"],
    "entity_type": ["aco", "aco", "aco", "cp_bh"],
    "aco_model": ["B", "C", "A", None],
    "risk_track": [2.0, 1.0, float("nan"), float("nan")],
    "safety_net_category": [3.0, 1.0, 5.0, float("nan")],
    "join_budget_period": [0, 0, 3, 1],
})


def months(rows):
    return pd.DataFrame(rows, columns=["entity_id", "budget_period", "member_months", "chc_member_months"])


def test_sec_4_4_1_example_pmpms_and_chc_months(program):
    # $10 base, Primary Care ACO risk track 2, safety-net category 3: $16; CHC members $18 (lines 531-535).
    # 60% of 1,000 member-months at CHCs: 600 x 18 + 400 x 16 = 17,200.
    f = startup_ongoing_funding(months([("PC2", 1, 1000, 600)]), ENTITIES, program, base_pmpm_usd={1: 10.0})
    row = f.iloc[0]
    assert row.pmpm_usd == approx(16.0) and row.chc_pmpm_usd == approx(18.0)
    assert row.funding_usd == approx(17_200.0)
    assert row.primary_care_usd == approx(4.0 * 1000)  # BP 1 primary-care PMPM $4
    assert row.discretionary_usd == approx(13_200.0)
    plain = startup_ongoing_funding(months([("PC2", 1, 1000, 600)]), ENTITIES, program, base_pmpm_usd={1: 10.0},
                                    chc_adjustment=False)
    assert plain.iloc[0].funding_usd == approx(16_000.0)


def test_hand_computed_withholds_with_join_lag(program):
    mm = months([("PC2", 3, 1200, 0), ("MC1", 3, 800, 200), ("LATE", 3, 500, 100), ("LATE", 4, 600, 0)])
    f = startup_ongoing_funding(mm, ENTITIES, program, base_pmpm_usd={3: 5.0, 4: 3.0})
    w = aco_withholds(f, program).set_index(["entity_id", "budget_period"])
    # PC2 BP3: 5 x 1.6 x 1200 = 9,600; primary care 3 x 1200 = 3,600; discretionary 6,000; 30% withheld.
    assert w.loc[("PC2", 3), "withheld_usd"] == approx(0.30 * 6_000)
    # MC1 (model C track 1: 0%, category 1: 0%): 600 x 5 + 200 x 5 x 1.4 = 4,400; minus 2,400 = 2,000; 30%.
    assert w.loc[("MC1", 3), "withheld_usd"] == approx(0.30 * 2_000)
    # LATE joined in BP 3: its schedule starts at the BP 1 share (5%), then 15% in BP 4 (line 1072).
    # BP3: 5 x 1.8 x 500 = 4,500 - 1,500 = 3,000 (CHC months also +40%: same PMPM for category 5).
    assert w.loc[("LATE", 3), "at_risk_share"] == approx(0.05)
    assert w.loc[("LATE", 3), "withheld_usd"] == approx(0.05 * 3_000)
    # BP4: 3 x 1.8 x 600 = 3,240 - 1 x 600 = 2,640; 15%.
    assert w.loc[("LATE", 4), "withheld_usd"] == approx(0.15 * 2_640)
    assert set(w["stream"]) == {"startup_ongoing_discretionary"}


def test_calibrated_base_reproduces_the_exhibit_6_average(program):
    mm = months([("PC2", 2, 1000, 300), ("MC1", 2, 3000, 0), ("LATE", 4, 10, 0)])
    base = calibrated_base_pmpm(mm, ENTITIES, program)
    f = startup_ongoing_funding(mm, ENTITIES, program)
    for bp, rows in f.groupby("budget_period"):
        average = rows["funding_usd"].sum() / rows["member_months"].sum()
        assert average == approx(program.aco_payments.startup_ongoing_average_pmpm_usd[bp])
        assert rows["base_pmpm_usd"].iloc[0] == approx(base[bp])


def test_discretionary_never_negative_and_prep_is_not_at_risk(program):
    mm = months([("MC1", 5, 100, 0), ("MC1", 0, 100, 0)])
    f = startup_ongoing_funding(mm, ENTITIES, program, base_pmpm_usd={5: 0.5, 0: 10.0})
    bp5 = f[f["budget_period"] == 5].iloc[0]
    assert bp5.primary_care_usd == approx(bp5.funding_usd) and bp5.discretionary_usd == 0
    w = aco_withholds(f, program)
    assert (w["withheld_usd"] >= 0).all()
    assert w.loc[w["budget_period"] == 0, "withheld_usd"].iloc[0] == 0


def test_reordering_changes_nothing(program):
    mm = months([("PC2", 3, 1200, 10), ("MC1", 3, 800, 200), ("LATE", 3, 500, 100)])
    a = startup_ongoing_funding(mm, ENTITIES, program)
    b = startup_ongoing_funding(mm.iloc[::-1], ENTITIES.iloc[::-1], program)
    pd.testing.assert_frame_equal(a, b)


def test_empty_member_months_give_an_empty_table(program):
    f = startup_ongoing_funding(months([]), ENTITIES, program)
    assert f.empty and aco_withholds(f, program).empty


@pytest.mark.parametrize("rows, match", [
    ([("CP1", 3, 10, 0)], "an ACO of the entities table"),
    ([("PC2", 3, 10, 11)], "chc_member_months"),
    ([("PC2", 3, 10, 0), ("PC2", 3, 5, 0)], "one row per key"),
])
def test_bad_member_months_are_named(program, rows, match):
    with pytest.raises(InputValidationError, match=match):
        startup_ongoing_funding(months(rows), ENTITIES, program)


def test_missing_base_and_unknown_category_are_refused(program):
    with pytest.raises(ParameterError, match="base startup/ongoing PMPM"):
        startup_ongoing_funding(months([("PC2", 3, 10, 0)]), ENTITIES, program, base_pmpm_usd={2: 1.0})
    odd = ENTITIES.assign(safety_net_category=[9.0, 1.0, 5.0, None])
    with pytest.raises(ParameterError, match="Exhibit 7"):
        startup_ongoing_funding(months([("PC2", 3, 10, 0)]), odd, program)
