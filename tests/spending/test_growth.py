"""The State spending-growth chain (Sec 5.2.1.2): every link of a hand-computed fixture, invariants, errors."""

from __future__ import annotations

import pandas as pd
import pytest

from dsrip_lib.errors import InputValidationError
from dsrip_lib.spending.growth import budget_period_of_year, dsti_by_calendar_year, spending_growth
from dsrip_lib.spending.pmpm import SUMS

COLUMNS = ["year", "eligibility_group", "aco_id", *(f"{p}_{s}" for p in ("aco_eligible", "aco") for s in SUMS)]


def cell(year, group, aco=None, eligible=(0, 0.0, 0.0), in_aco=(0, 0.0, 0.0)):
    """A row of pmpm_cells: (member-months, spending, risk x months) of each population, all months scored."""
    (em, es, er), (am, as_, ar) = eligible, in_aco
    return (year, group, aco, em, es, er, em, 0, am, as_, ar, am, 0)


def fixture_cells():
    """Two groups (Base Families, New Adult) x two years (CY2017 baseline, CY2021 = BP 4), one ACO.

    By hand: base PMPM 400.00 and 600.00; trended x 1.044^4 = 475.18 and 712.78; ACO mix 75% / 25%
    gives an average trended PMPM of 534.58; raw ACO PMPM 481.00 and 740.00; ACO risk 1.05 and 1.14
    against ACO-eligible 1.00 and 1.20 normalises to 1.05 and 0.95; risk-adjusted 458.10 and 778.95,
    weighted 538.31; DSTI: CY2017 $9,000 (half of SFY17 $10,000 + half of SFY18 $8,000) minus
    CY2021 $2,500 (halves of SFY21 $3,000 and SFY22 $2,000) over 800 member-months = $8.125;
    actual 530.18; reduction 0.8229%; BP 4 target 1.1%: gap-to-goal (0.8229 - 0.55) / 0.55 = 49.6%.
    """
    rows = [
        cell(2017, "base_families", eligible=(1000, 400_000.0, 1000.0)),
        cell(2017, "new_adult", eligible=(500, 300_000.0, 500.0)),
        cell(2021, "base_families", eligible=(400, 150_000.0, 400.0)),
        cell(2021, "base_families", "A1", eligible=(600, 288_600.0, 600.0), in_aco=(600, 288_600.0, 630.0)),
        cell(2021, "new_adult", eligible=(300, 200_000.0, 372.0)),
        cell(2021, "new_adult", "A1", eligible=(200, 148_000.0, 228.0), in_aco=(200, 148_000.0, 228.0)),
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


DSTI = pd.DataFrame({"hospital": ["H"] * 6, "sfy": [2017, 2018, 2019, 2020, 2021, 2022],
                     "amount": [10_000.0, 8_000.0, 6_000.0, 4_000.0, 3_000.0, 2_000.0]})


def by_group(table, column):
    return table.set_index("eligibility_group")[column].round(2).to_dict()


def test_every_link_of_the_hand_computed_chain_to_the_cent(program):
    r = spending_growth(fixture_cells(), program, DSTI)
    assert by_group(r.baseline, "pmpm") == {"base_families": 400.00, "new_adult": 600.00}
    assert r.baseline["eligible_share"].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert by_group(r.trended, "trended_pmpm") == {"base_families": 475.18, "new_adult": 712.78}
    assert by_group(r.average_trended, "aco_share") == {"base_families": 0.75, "new_adult": 0.25}
    assert by_group(r.raw, "raw_pmpm") == {"base_families": 481.00, "new_adult": 740.00}
    assert by_group(r.risk, "eligible_risk") == {"base_families": 1.00, "new_adult": 1.20}
    assert by_group(r.risk, "aco_risk") == {"base_families": 1.05, "new_adult": 1.14}
    assert r.risk["normalised_risk"].tolist() == pytest.approx([1.05, 0.95])
    assert by_group(r.risk_adjusted, "risk_adjusted_pmpm") == {"base_families": 458.10, "new_adult": 778.95}
    dsti = r.dsti.iloc[0]
    assert (dsti.baseline_dsti_usd, dsti.year_dsti_usd, dsti.aco_member_months) == (9_000.0, 2_500.0, 800)
    assert dsti.dsti_savings_pmpm == pytest.approx(8.125)
    s = r.summary_table.iloc[0]
    assert (s.year, s.budget_period) == (2021, 4)
    assert round(s.average_trended_pmpm, 2) == 534.58
    assert round(s.risk_adjusted_pmpm, 2) == 538.31
    assert round(s.actual_pmpm, 2) == 530.18
    assert s.percent_reduction == pytest.approx((450 * 1.044**4 - (0.75 * 481 / 1.05 + 0.25 * 740 / 0.95 - 8.125)) / (450 * 1.044**4), abs=1e-12)
    assert round(s.percent_reduction * 100, 4) == 0.8229
    assert s.target == pytest.approx(0.011)
    assert s.score == pytest.approx((s.percent_reduction - 0.0055) / 0.0055)
    assert round(s.score, 3) == 0.496
    assert not r.notes and "2021" in r.summary()


def test_scaling_every_amount_by_k_leaves_the_reduction_unchanged(program):
    cells = fixture_cells()
    base = spending_growth(cells, program).summary_table  # no DSTI: dollars of another source
    scaled = cells.assign(aco_eligible_spending=cells.aco_eligible_spending * 7.3, aco_spending=cells.aco_spending * 7.3)
    again = spending_growth(scaled, program).summary_table
    assert again["percent_reduction"].tolist() == pytest.approx(base["percent_reduction"].tolist(), rel=1e-12)
    assert again["score"].tolist() == pytest.approx(base["score"].tolist(), rel=1e-12)


def test_a_group_without_aco_members_carries_no_weight(program):
    cells = fixture_cells()
    extra = pd.DataFrame([cell(2017, "r2_disabled", eligible=(300, 900_000.0, 900.0)),
                          cell(2021, "r2_disabled", eligible=(300, 990_000.0, 900.0))], columns=COLUMNS)
    with_group = spending_growth(pd.concat([cells, extra], ignore_index=True), program, DSTI)
    plain = spending_growth(cells, program, DSTI)
    assert "r2_disabled" not in set(with_group.average_trended["eligibility_group"])
    pd.testing.assert_frame_equal(with_group.summary_table, plain.summary_table)
    assert set(with_group.baseline["eligibility_group"]) == {"base_families", "new_adult", "r2_disabled"}


def test_groups_outside_the_program_are_left_out(program):
    cells = fixture_cells()
    other = pd.DataFrame([cell(2021, "other", "A1", in_aco=(50, 99_999.0, 50.0))], columns=COLUMNS)
    got = spending_growth(pd.concat([cells, other], ignore_index=True), program, DSTI).summary_table
    pd.testing.assert_frame_equal(got, spending_growth(cells, program, DSTI).summary_table)


def test_dsti_savings_need_the_baseline_years_payments(program):
    r = spending_growth(fixture_cells(), program, DSTI[DSTI.sfy != 2017])
    assert r.summary_table["dsti_savings_pmpm"].tolist() == [0.0]
    assert "SFY2017 (needed for CY2017)" in r.notes[0]
    assert spending_growth(fixture_cells(), program, None).notes[0].startswith("DSTI Glide Path savings not")


def test_dsti_by_calendar_year_halves_each_sfy(program):
    out = dsti_by_calendar_year(DSTI, program.calendar, [2017, 2018, 2022])
    assert out["dsti_usd"].tolist() == pytest.approx([9_000.0, 7_000.0, 1_000.0])
    # SFY2023 is after the demonstration: no glide-path payment, not a gap
    assert out["missing_sfys"].tolist() == ["", "", ""]
    with pytest.raises(InputValidationError, match="dsti_payments, column amount"):
        dsti_by_calendar_year(DSTI.assign(amount=[1.0, -2.0, 0, 0, 0, 0]), program.calendar, [2017])


def test_budget_period_of_year(program):
    assert [budget_period_of_year(program.calendar, y) for y in (2017, 2018, 2022, 2023)] == [None, 1, 5, None]


def test_no_baseline_year_is_refused(program):
    cells = fixture_cells()
    with pytest.raises(InputValidationError, match="baseline year CY2017"):
        spending_growth(cells[cells.year != 2017], program)


def test_an_aco_group_without_baseline_months_is_refused(program):
    cells = fixture_cells()
    extra = pd.DataFrame([cell(2021, "r2_bccdp", "A1", in_aco=(10, 5_000.0, 10.0))], columns=COLUMNS)
    with pytest.raises(InputValidationError, match="r2_bccdp"):
        spending_growth(pd.concat([cells, extra], ignore_index=True), program)


def test_a_population_without_risk_scores_is_refused(program):
    cells = fixture_cells()
    cells.loc[cells.aco_id == "A1", ["aco_scored_months", "aco_risk_months"]] = 0
    with pytest.raises(InputValidationError, match="risk_scores"):
        spending_growth(cells, program)
