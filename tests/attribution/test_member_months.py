"""Member-months and attributed-member counts, snapshot and average (protocol 4.4.4)."""

import datetime as dt

import pandas as pd
import pytest
from extracts import ENTITIES, PROVIDERS, assignments, enrollment

from dsrip_lib.attribution.member_months import attributed_members, member_months_by_period, monthly_counts
from dsrip_lib.attribution.rules import monthly_attribution
from dsrip_lib.errors import ParameterError
from dsrip_lib.program import load_program

D = dt.date.fromisoformat


@pytest.fixture(scope="module")
def counts():
    # m1 switches ACO_A -> ACO_B in July 2018; m2 in ACO_A all 2018 with a CHC PCP,
    # then in January 2019 (BP2); m3 in ACO_A March-May only (gaps around).
    enr = enrollment(
        *[("m1", f"2018-{m:02d}", "aco_a", "ACO_A") for m in range(1, 7)],
        *[("m1", f"2018-{m:02d}", "aco_b", "ACO_B") for m in range(7, 13)],
        *[("m2", f"2018-{m:02d}", "aco_a", "ACO_A") for m in range(1, 13)],
        ("m2", "2019-01", "aco_a", "ACO_A"),
        *[("m3", f"2018-{m:02d}", "aco_a", "ACO_A") for m in (3, 4, 5)],
    )
    pa = assignments(("m2", "1000000005", "2017-01-01", None))
    return monthly_counts(monthly_attribution(enr, pa, PROVIDERS, ENTITIES, load_program()))


def test_monthly_counts(counts):
    a = counts[counts.aco_id == "ACO_A"].set_index("month")
    assert a.loc[pd.Timestamp("2018-04-01"), "members"] == 3
    assert a.loc[pd.Timestamp("2018-04-01"), "chc_members"] == 1
    assert a.loc[pd.Timestamp("2018-07-01"), "members"] == 1


def test_member_months_by_budget_period(counts):
    periods = load_program().calendar.budget_periods("aco")
    out = member_months_by_period(counts, periods).set_index(["aco_id", "budget_period"])
    # ACO_A in BP1 (CY2018): m1 6 + m2 12 + m3 3
    assert out.loc[("ACO_A", 1), "member_months"] == 21
    assert out.loc[("ACO_A", 1), "chc_member_months"] == 12
    assert out.loc[("ACO_A", 2), "member_months"] == 1
    assert out.loc[("ACO_B", 1), "member_months"] == 6


def test_snapshot_count_is_the_last_month_by_default(counts):
    out = attributed_members(counts, D("2018-01-01"), D("2018-12-31"), "snapshot").set_index("aco_id")
    assert out["members"].to_dict() == {"ACO_A": 1, "ACO_B": 1}
    june = attributed_members(counts, D("2018-01-01"), D("2018-12-31"), "snapshot", D("2018-06-01"))
    assert june.set_index("aco_id")["members"].to_dict() == {"ACO_A": 2}


def test_average_count_is_mean_over_every_month_of_the_period(counts):
    out = attributed_members(counts, D("2018-01-01"), D("2018-12-31"), "average").set_index("aco_id")
    assert out.loc["ACO_A", "members"] == pytest.approx(21 / 12)
    assert out.loc["ACO_B", "members"] == pytest.approx(6 / 12)
    assert out.loc["ACO_A", "chc_share"] == pytest.approx(12 / 21)
    # a quarter (the protocol's example of an averaging period)
    q2 = attributed_members(counts, D("2018-04-01"), D("2018-06-30"), "average").set_index("aco_id")
    assert q2.loc["ACO_A", "members"] == pytest.approx((3 + 3 + 2) / 3)


def test_snapshot_outside_period_is_rejected(counts):
    with pytest.raises(ParameterError, match="snapshot_month"):
        attributed_members(counts, D("2018-01-01"), D("2018-12-31"), "snapshot", D("2019-01-01"))
