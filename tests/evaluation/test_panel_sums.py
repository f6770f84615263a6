"""The panel's one pass (period sums) against pandas sums taken straight from the member-months."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dsrip_lib.attribution.rules import monthly_attribution
from dsrip_lib.evaluation.panel import (EVENT_PERIODS, NEVER, NOT_YET, OUTCOMES, TREATED, baseline_members,
                                        event_cells, member_periods, outcome_panel)
from dsrip_lib.inputs.dataset import open_dataset


@pytest.fixture(scope="module")
def panel_and_months(tiny_data, program):
    d = open_dataset(tiny_data, program=program, validate=False)
    att = monthly_attribution(*(d.table(n) for n in ("enrollment", "pcp_assignments", "providers", "entities")),
                              program)
    panel = outcome_panel(d.table("claims"), d.table("enrollment"), att, program)
    return panel, panel.months.execute(), d


def test_member_periods_equal_the_sums_over_months(panel_and_months):
    panel, months, _ = panel_and_months
    keys = ["member", "year", "phase", "eligibility_group"]
    expected = months.groupby(keys, dropna=False).agg(
        months=("month", "size"), acos=("acos", "max"), **{o: (o, "sum") for o in OUTCOMES}).reset_index()
    got = member_periods(panel).merge(expected, on=keys, suffixes=("", "_expected"), validate="1:1")
    assert len(got) == len(expected) > 1000
    for c in ("months", "acos", *OUTCOMES):
        np.testing.assert_allclose(got[c], got[f"{c}_expected"], rtol=1e-12, atol=1e-8, err_msg=c)  # each month rounded to 1e-9 (exact_sum)


@pytest.mark.parametrize("period", ["quarter", "month"])
def test_event_cells_equal_the_means_over_months(panel_and_months, period):
    panel, months, _ = panel_and_months
    unit = EVENT_PERIODS[period]
    m = months.assign(period_start=months["month"].dt.to_period(unit).dt.start_time)
    launch = pd.Timestamp(panel.launch).to_period(unit).start_time
    cohort = m["first_month"].dt.to_period(unit).dt.start_time == launch
    m["group"] = np.where(m["phase"] == NEVER, NEVER, np.where(cohort & m["phase"].isin([TREATED, NOT_YET]),
                                                              TREATED, None))
    m = m[m["group"].notna()]
    per = m.groupby(["member", "group", "period_start"])[list(OUTCOMES)].mean()
    reference = launch - pd.offsets.MonthBegin(3 if period == "quarter" else 1)
    ref = m[(m["period_start"] >= reference) & (m["period_start"] < launch)].groupby("member")[list(OUTCOMES)].mean()
    diff = per.sub(ref, level="member").dropna().reset_index()
    expected = diff.groupby(["period_start", "group"]).agg(
        members=("member", "size"), **{f"{o}_sum": (o, "sum") for o in OUTCOMES}).reset_index()
    got = event_cells(panel, period).merge(expected, on=["period_start", "group"], suffixes=("", "_expected"),
                                           validate="1:1")
    assert len(got) == len(expected) > 10
    for c in ("members", *(f"{o}_sum" for o in OUTCOMES)):
        # each member's difference is rounded to 1e-9 before the exact sum
        np.testing.assert_allclose(got[c], got[f"{c}_expected"], rtol=1e-9, atol=1e-9 * got["members"].max(), err_msg=c)


def test_baseline_members_equal_the_means_over_baseline_months(panel_and_months):
    panel, months, _ = panel_and_months
    base = months[months["year"] == panel.baseline_year]
    per = base.groupby("member").agg(first=("first_month", "max"), **{o: (o, "mean") for o in OUTCOMES})
    per["group"] = np.where(per["first"].isna(), NEVER, "ever")
    expected = per.groupby("group").agg(members=("first", "size"), **{f"{o}_sum": (o, "sum") for o in OUTCOMES})
    got = baseline_members(panel, panel_and_months[2].table("members"), panel_and_months[2].table("risk_scores"))
    got = got.set_index("group").loc[expected.index]
    for c in expected.columns:  # each member's mean rounded to 1e-9 before the exact sum
        np.testing.assert_allclose(got[c], expected[c], rtol=1e-12, atol=1e-9 * expected["members"].max(), err_msg=c)
