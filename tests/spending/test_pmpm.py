"""PMPM cells from claims (Sec 5.2.1.2): exclusions, sharing by months, truncation, refusals."""

from __future__ import annotations

import datetime as dt
import math

import ibis
import pandas as pd
import pytest
from extracts import table

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.program.spending import Truncation
from dsrip_lib.spending.pmpm import member_year_spending, pmpm_cells, population_totals

D = dt.date.fromisoformat


def enrollment(rows):
    """(member, 'YYYY-MM', group, aco_eligible)."""
    return table("enrollment", [(m, f"{mo}-01", g, e, "pcc", "PCC", None, False) for m, mo, g, e in rows])


def attribution(rows):
    """(member, 'YYYY-MM', aco)."""
    df = pd.DataFrame([(m, D(f"{mo}-01"), a) for m, mo, a in rows], columns=["member_id", "month", "aco_id"])
    return ibis.memtable(df, schema={"member_id": "string", "month": "date", "aco_id": "string"})


def claims(rows):
    """(member, 'YYYY-MM-DD', paid, exclusion_category or None)."""
    return table("claims", [(f"c{i}", m, d, "1000000001", "other", False, p, x) for i, (m, d, p, x) in enumerate(rows)])


def risk(rows):
    return ibis.memtable(pd.DataFrame(rows, columns=["member_id", "year", "risk_score"]),
                         schema={"member_id": "string", "year": "int64", "risk_score": "float64"})


# m1: Base Families all 2018, attributed to A1 from July; m2: New Adult Jan-Jun 2018 then Base Families
# Jul-Dec, never attributed; m3: not ACO-eligible ('other') all year.
ENROLLMENT = enrollment(
    [("m1", f"2018-{k:02d}", "base_families", True) for k in range(1, 13)]
    + [("m2", f"2018-{k:02d}", "new_adult" if k <= 6 else "base_families", True) for k in range(1, 13)]
    + [("m3", f"2018-{k:02d}", "other", False) for k in range(1, 13)])
ATTRIBUTION = attribution([("m1", f"2018-{k:02d}", "A1") for k in range(7, 13)])
RISK = risk([("m1", 2018, 1.2), ("m2", 2018, 0.8), ("m3", 2018, 1.0)])
CLAIMS = [("m1", "2018-02-10", 1200.0, None), ("m1", "2018-08-01", 600.0, None),
          ("m1", "2018-03-03", 50_000.0, "hep_c_drug"), ("m2", "2018-05-05", 2400.0, None),
          ("m2", "2018-09-09", 99.0, "ltss"), ("m3", "2018-01-01", 700.0, None)]


def cells_of(rows=CLAIMS, enr=ENROLLMENT, att=ATTRIBUTION, rs=RISK, program=None, **kw):
    from dsrip_lib.program import load_program

    return pmpm_cells(claims(rows), enr, att, rs, program or load_program(), **kw)


def test_cells_share_each_members_year_by_months_and_drop_excluded_spending():
    got = cells_of().set_index(["eligibility_group", "aco_id"], drop=False)
    # m1: $1,800 included (the $50,000 hepatitis C drug is excluded), 12 months, 6 with A1
    a1 = got.loc[("base_families", "A1")]
    assert (a1.aco_member_months, a1.aco_spending, a1.aco_risk_months) == (6, 900.0, pytest.approx(7.2))
    assert (a1.aco_eligible_member_months, a1.aco_eligible_spending) == (6, 900.0)
    # m1's other 6 months and m2's 6 Base Families months ($2,400 / 12 x 6 = $1,200; the LTSS line excluded)
    bf = got[(got.eligibility_group == "base_families") & got.aco_id.isna()].iloc[0]
    assert (bf.aco_eligible_member_months, bf.aco_eligible_spending, bf.aco_member_months) == (12, 2100.0, 0)
    na = got[got.eligibility_group == "new_adult"].iloc[0]
    assert (na.aco_eligible_member_months, na.aco_eligible_spending) == (6, 1200.0)
    other = got[got.eligibility_group == "other"].iloc[0]  # counted, but in neither population
    assert (other.aco_eligible_member_months, other.aco_member_months) == (0, 0)


def test_population_totals_give_pmpm_and_member_month_weighted_risk():
    out = population_totals(cells_of(), "aco_eligible", ["eligibility_group"]).set_index("eligibility_group")
    assert out.loc["base_families", "pmpm"] == pytest.approx(3000.0 / 18)
    assert out.loc["base_families", "risk"] == pytest.approx((1.2 * 12 + 0.8 * 6) / 18)
    assert "other" not in out.index
    aco = population_totals(cells_of(), "aco", ["aco_id"])
    assert (aco.loc[0, "aco_id"], aco.loc[0, "pmpm"], aco.loc[0, "risk"]) == ("A1", 150.0, pytest.approx(1.2))


def test_moving_claims_between_months_of_a_year_leaves_every_cell_unchanged():
    moved = [(m, d.replace("-02-", "-11-").replace("-05-", "-01-"), p, x) for m, d, p, x in CLAIMS]
    pd.testing.assert_frame_equal(cells_of(moved), cells_of())


def test_scaling_every_paid_amount_scales_every_spending_sum():
    base, scaled = cells_of(), cells_of([(m, d, p * 3.7, x) for m, d, p, x in CLAIMS])
    for column in ("aco_eligible_spending", "aco_spending"):
        assert scaled[column].tolist() == pytest.approx((base[column] * 3.7).tolist())


def test_an_excluded_category_never_reaches_a_cell():
    only_excluded = [("m1", "2018-02-10", 1e6, c) for c in
                     ("hep_c_drug", "high_cost_drug", "ltss", "dsrip", "quality_incentive", "admin")]
    got = cells_of(only_excluded)
    assert got[["aco_eligible_spending", "aco_spending"]].to_numpy().sum() == 0


def test_truncation_caps_each_member_year(program):
    capped = cells_of(program=program, truncation=Truncation(method="dollar_cap", cap_usd=1000.0))
    bf = capped[(capped.eligibility_group == "base_families") & capped.aco_id.isna()].iloc[0]
    assert bf.aco_eligible_spending == 500.0 + 500.0  # m1 capped to $1,000 (half), m2 capped to $1,000 (half)
    # the 50th percentile of the year's member-years with spending ($700, $1,800, $2,400) is $1,800
    spend = member_year_spending(claims(CLAIMS), program, Truncation(method="percentile", percentile=0.5))
    assert spend.execute().set_index("member_id")["paid"].to_dict() == {"m1": 1800.0, "m2": 1800.0, "m3": 700.0}


@pytest.mark.parametrize("amount", [-1.0, math.nan])
def test_a_negative_or_nan_paid_amount_is_refused(program, amount):
    with pytest.raises(InputValidationError, match="claims.paid_amount: 1 row.*member_id='m2'"):
        cells_of([*CLAIMS, ("m2", "2018-04-04", amount, None)])


def test_a_member_month_without_an_eligibility_group_is_refused():
    enr = enrollment([("m1", "2018-01", None, True), ("m2", "2018-01", "new_adult", True)])
    with pytest.raises(InputValidationError, match="eligibility_group: 1 member-month.*member_id='m1'"):
        cells_of(enr=enr, att=attribution([]))
    # an attributed month with no enrollment row has no eligibility group either
    with pytest.raises(InputValidationError, match="no enrollment row.*aco_id='A9'"):
        cells_of(att=attribution([("m9", "2018-03", "A9")]))


def test_a_member_year_with_spending_and_no_risk_score_is_refused():
    with pytest.raises(InputValidationError, match="risk_scores: no risk score.*member_id='m2', year=2018"):
        cells_of(rs=risk([("m1", 2018, 1.2), ("m3", 2018, 1.0)]))
    # a member without spending needs no score
    cells_of([c for c in CLAIMS if c[0] != "m2"], rs=risk([("m1", 2018, 1.2), ("m3", 2018, 1.0)]))


def test_an_unknown_exclusion_category_in_the_program_is_refused(program):
    spending = program.spending.model_copy(update={"excluded_categories": {"hep_c": "Hepatitis C drugs"}})
    bad = program.model_copy(update={"spending": spending})
    with pytest.raises(ParameterError, match=r"excluded_categories \['hep_c'\] are not exclusion categories"):
        cells_of(program=bad)
