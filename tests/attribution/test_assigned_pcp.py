"""The PCP assignment in effect on a month's snapshot day, read from per-span month bounds (Sec 4.4.4)."""

import datetime as dt

import pandas as pd
import pytest
from extracts import D, assignments, enrollment, providers

from dsrip_lib.attribution.rules import assignment_months, with_assigned_pcp
from dsrip_lib.errors import ParameterError

MONTHS = [D(f"{y}-{m:02d}-01") for y, m in [(2019, 12), (2020, 1), (2020, 2), (2020, 3), (2020, 4)]]
# every day from late November 2019 to early May 2020 (a leap February inside), and open ends
DAYS = [D("2019-11-25") + dt.timedelta(days=i) for i in range(0, 165, 1)]


def _snapshot(month: dt.date, day: str) -> dt.date:
    if day == "first":
        return month
    following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


@pytest.mark.parametrize("day", ["last", "first"])
def test_span_bounds_cover_exactly_the_months_whose_snapshot_day_the_span_covers(day):
    # one member per (start, end) pair around month boundaries; the direct rule says which months it covers
    starts = [d for d in DAYS if d.day in (1, 2, 27, 28, 29, 30, 31) or d == D("2020-02-29")][::2]
    ends = [*starts, None]
    spans = [(f"m{i}", "P1", s, e) for i, (s, e) in enumerate((s, e) for s in starts for e in ends
                                                              if e is None or e >= s)]
    bounds = assignment_months(assignments(*spans), day).execute().set_index("member_id")
    for member, _, start, end in spans:
        first, after = bounds.loc[member, "first_month"], bounds.loc[member, "end_month"]
        for month in MONTHS:
            snap = _snapshot(month, day)
            expected = start <= snap and (end is None or end >= snap)
            got = pd.Timestamp(first) <= pd.Timestamp(month) and (pd.isna(after)
                                                                  or pd.Timestamp(month) < pd.Timestamp(after))
            assert got == expected, (start, end, month, day)


def test_unknown_snapshot_day_is_refused():
    with pytest.raises(ParameterError, match="assignment_snapshot_day"):
        assignment_months(assignments(("m1", "P1", "2020-01-01", None)), "middle")


def test_restricted_join_keeps_every_month_and_reads_the_pcp_of_the_named_plan_types_only():
    enr = enrollment(("m1", "2020-01", "mco", None), ("m1", "2020-02", "aco_a", "ACO_A"),
                     ("m2", "2020-01", "pcc", None))
    pa = assignments(("m1", "P1", "2019-06-01", None), ("m2", "P1", "2019-06-01", None))
    prov = providers(("P1", True, "ACO_C", True))
    every = with_assigned_pcp(enr, pa, prov).execute().sort_values(["member_id", "month"], ignore_index=True)
    mco = with_assigned_pcp(enr, pa, prov, plan_types=("mco",)).execute().sort_values(
        ["member_id", "month"], ignore_index=True)
    assert list(every.pcp_npi) == ["P1", "P1", "P1"]
    assert list(mco.pcp_npi.fillna("-")) == ["P1", "-", "-"]
    assert list(mco.pcp_apm_paid.astype(object).where(mco.pcp_apm_paid.notna(), None)) == [True, None, None]
    assert mco.drop(columns=["pcp_npi", "pcp_is_chc", "pcp_apm_paid", "pcp_aco_id"]).equals(
        every.drop(columns=["pcp_npi", "pcp_is_chc", "pcp_apm_paid", "pcp_aco_id"]))
