"""Calendar of the MassHealth program definition (protocol Sec 1.1, 3.1.1, 3.1.2, 5.2.1.2)."""

import datetime as dt

import pytest

from dsrip_lib.program import load_program, lookback_window

D = dt.date


@pytest.fixture(scope="module")
def calendar():
    return load_program("masshealth_dsrip").calendar


def test_aco_budget_periods_match_section_3_1_1(calendar):
    # Sec 3.1.1, lines 113-117: Prep Jul-Dec 2017, BP 1-5 = CY2018..CY2022.
    periods = calendar.budget_periods("aco")
    assert [(p.number, p.label) for p in periods] == [(0, "Prep")] + [(n, f"BP {n}") for n in range(1, 6)]
    assert (periods[0].start, periods[0].end) == (D(2017, 7, 1), D(2017, 12, 31))
    assert [(p.start, p.end) for p in periods[1:]] == [(D(y, 1, 1), D(y, 12, 31)) for y in range(2018, 2023)]
    assert len(periods[0].months) == 6


def test_cp_bp1_is_nine_months(calendar):
    # Sec 3.1.2, line 127: CP/CSA BP 1 = 2018-04-01..2018-12-31, nine months.
    bp1 = calendar.budget_period(1, kind="cp")
    assert (bp1.start, bp1.end) == (D(2018, 4, 1), D(2018, 12, 31))
    assert bp1.months == [D(2018, m, 1) for m in range(4, 13)]
    assert calendar.budget_period(0, kind="cp").end == D(2018, 3, 31)


def test_same_date_falls_in_different_periods_by_kind(calendar):
    # Feb 2018 is ACO BP 1 but still the CP Preparation Budget Period.
    assert calendar.budget_period_of(D(2018, 2, 15), kind="aco").number == 1
    assert calendar.budget_period_of(D(2018, 2, 15), kind="cp").number == 0
    assert calendar.budget_period_of(D(2018, 3, 31), kind="cp").number == 0
    assert calendar.budget_period_of(D(2018, 4, 1), kind="cp").number == 1


def test_dates_outside_every_period(calendar):
    assert calendar.budget_period_of(D(2017, 6, 30)) is None
    assert calendar.budget_period_of(D(2023, 1, 1), kind="cp") is None
    assert calendar.demonstration_year_of(D(2022, 7, 1)) is None
    with pytest.raises(ValueError, match="budget period 6"):
        calendar.budget_period(6)
    with pytest.raises(ValueError, match="kind"):
        calendar.budget_periods("mco")


def test_sfy_boundaries(calendar):
    # SFY runs July-June and is named for the year it ends (SFY2018 = 2017-07-01..2018-06-30).
    assert calendar.sfy_of(D(2017, 7, 1)) == 2018
    assert calendar.sfy_of(D(2018, 6, 30)) == 2018
    assert calendar.sfy_of(D(2018, 7, 1)) == 2019
    assert calendar.sfy(2018).start == D(2017, 7, 1) and calendar.sfy(2018).end == D(2018, 6, 30)


def test_demonstration_years(calendar):
    # Sec 1.1: approval period 2017-07-01..2022-06-30, five demonstration years aligned with SFYs.
    assert calendar.demonstration_year_of(D(2017, 7, 1)) == 1
    assert calendar.demonstration_year_of(D(2022, 6, 30)) == 5
    assert calendar.demonstration_year(5).start == D(2021, 7, 1)


def test_quarters_and_baseline(calendar):
    q = calendar.quarter_of(D(2018, 5, 3))
    assert (q.year, q.quarter, q.start, q.end, str(q)) == (2018, 2, D(2018, 4, 1), D(2018, 6, 30), "2018Q2")
    assert calendar.quarter_of(D(2018, 12, 31)).end == D(2018, 12, 31)
    assert calendar.baseline_year == 2017  # Sec 5.2.1.2: CY2017 baseline
    assert calendar.baseline_period.start == D(2017, 1, 1)


def test_split_sfy_amounts_by_shared_months(calendar):
    # Sec 4.4.3, line 660: Prep = SFY18/2, BP 1 = SFY18/2 + SFY19/2, BP 5 = SFY22/2.
    split = calendar.split_sfy_amounts({2018: 10.0, 2019: 20.0, 2022: 4.0})
    assert split == pytest.approx({0: 5.0, 1: 15.0, 2: 10.0, 3: 0.0, 4: 2.0, 5: 2.0})
    # On the CP calendar the 9-month Prep (Jul 2017-Mar 2018) shares 9 months with SFY18.
    assert calendar.split_sfy_amounts({2018: 12.0}, kind="cp") == pytest.approx(
        {0: 9.0, 1: 3.0, 2: 0.0, 3: 0.0, 4: 0.0, 5: 0.0}
    )
    # SFY23 runs past BP 5: money would be lost, so it is an error.
    with pytest.raises(ValueError, match="SFY2023"):
        calendar.split_sfy_amounts({2023: 1.0})


@pytest.mark.parametrize(("as_of", "months", "start"), [
    (D(2021, 6, 30), 1, D(2021, 6, 1)),
    (D(2021, 2, 28), 12, D(2020, 3, 1)),
    (D(2020, 2, 29), 12, D(2019, 3, 1)),
    (D(2018, 12, 31), 24, D(2017, 1, 1)),
    (D(2018, 1, 15), 13, D(2017, 1, 1)),
])
def test_lookback_window_is_whole_calendar_months_ending_with_the_as_of_month(as_of, months, start):
    window = lookback_window(as_of, months)
    assert (window.start, window.end) == (start, as_of)
    assert len(window.months) == months


def test_lookback_window_needs_a_month():
    with pytest.raises(ValueError, match="at least one month"):
        lookback_window(D(2020, 1, 31), 0)
