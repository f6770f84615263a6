"""Exhibit 11: DSTI glide-path funding by ACO budget period, derived from Exhibit 10 by Sec 4.4.3.

MassHealth DSRIP Protocol, Sec 4.4.3, Exhibits 10 and 11 (lines 673-734 of the published
text). Each SFY's amount is split half-and-half over the two budget periods it spans.
Exhibit 11 rounds nine half-cent cells down and the others half-up: discrepancy D1 in
docs/protocol_discrepancies.md. Published cells: data/examples/exhibit_11_dsti_glide_path.csv.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from pytest import approx


def _half_up(value: float, step: str = "0.01") -> float:
    return float(Decimal(repr(round(value, 9))).quantize(Decimal(step), rounding=ROUND_HALF_UP))


def test_every_published_cell_is_the_half_sum_rounded_as_recorded(program, example):
    derived = program.aco_payments.dsti_glide_path_by_budget_period(program.calendar)
    published = example("exhibit_11_dsti_glide_path")
    assert set(derived) == set(published.hospital)
    assert len(published) == 42
    for cell in published.itertuples():
        exact = derived[cell.hospital][cell.budget_period]
        assert abs(exact - cell.published_musd) <= 0.005 + 1e-9, cell
        rounded = _half_up(exact) if cell.rounding == "half_up" else _half_up(exact) - 0.01
        assert cell.published_musd == approx(rounded), cell
    assert (published.rounding == "down (D1)").sum() == 9


def test_row_totals_agree_with_the_published_totals_to_the_published_precision(program, example):
    derived = program.aco_payments.dsti_glide_path_by_budget_period(program.calendar)
    for row in example("exhibit_11_dsti_glide_path_totals").itertuples():
        assert sum(derived[row.hospital].values()) == approx(row.published_total_musd, abs=0.05)


def test_d1_worked_cells(program):
    derived = program.aco_payments.dsti_glide_path_by_budget_period(program.calendar)
    # BMC BP 2 = 13.53/2 + 10.10/2 = 11.815 (published 11.81)
    assert derived["boston_medical_center"][2] == approx(11.815)
    assert derived["holyoke_medical_center"][0] == approx(0.915)
