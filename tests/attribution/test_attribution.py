"""Attribution rules on hand-built tiny tables (protocol 4.4.4, CT PCMH method)."""


import pandas as pd
import pytest
from extracts import ENTITIES, PROVIDERS, D, assignments, enrollment, providers, table
from pydantic import ValidationError

from dsrip_lib.attribution.flows import aco_flow_summary, flow_matrix, flows
from dsrip_lib.attribution.plurality import compare_with_plurality, plurality_attribution
from dsrip_lib.attribution.rules import monthly_attribution
from dsrip_lib.errors import ParameterError
from dsrip_lib.program import load_program
from dsrip_lib.reports.attribution import AttributionOptions

PROGRAM = load_program()


def claims(*rows):
    """Primary-care visit rows (member, npi, date[, primary_care_visit])."""
    return table("claims", [
        (f"c{i}", m, d, n, "primary_care", r[3] if len(r) > 3 else True, 100.0, None)
        for i, r in enumerate(rows) for m, n, d in [r[:3]]
    ])


def attribution(enr, pa=None, day="last"):
    pa = pa if pa is not None else assignments()
    out = monthly_attribution(enr, pa, PROVIDERS, ENTITIES, PROGRAM, day).execute()
    out["month"] = pd.to_datetime(out["month"]).dt.date
    return out.sort_values(["member_id", "month"], ignore_index=True)


# -- enrollment-based attribution (models A and B) ---------------------------

def test_enrollment_attribution_follows_enrolled_aco_and_skips_gaps():
    enr = enrollment(
        ("m1", "2018-01", "aco_a", "ACO_A"),
        ("m1", "2018-03", "aco_a", "ACO_A"),  # February: not enrolled (gap)
        ("m2", "2018-01", "aco_b", "ACO_B"),
        ("m3", "2018-01", "pcc", None),
        ("m4", "2018-01", "ffs", None),
    )
    out = attribution(enr)
    assert list(zip(out.member_id, out.month, out.aco_id, out.method)) == [
        ("m1", D("2018-01-01"), "ACO_A", "enrollment"),
        ("m1", D("2018-03-01"), "ACO_A", "enrollment"),
        ("m2", D("2018-01-01"), "ACO_B", "enrollment"),
    ]


def test_member_switching_acos_mid_period_is_attributed_month_by_month():
    enr = enrollment(
        *[("m1", f"2018-{m:02d}", "aco_a", "ACO_A") for m in range(1, 7)],
        *[("m1", f"2018-{m:02d}", "aco_b", "ACO_B") for m in range(7, 13)],
    )
    out = attribution(enr)
    assert out.groupby("aco_id").size().to_dict() == {"ACO_A": 6, "ACO_B": 6}
    assert out.loc[out.month == D("2018-07-01"), "aco_id"].item() == "ACO_B"


# -- PCP-assignment attribution (model C) ------------------------------------

def test_mco_enrollee_follows_pcp_assignment_to_model_c_aco_only():
    enr = enrollment(
        ("m1", "2018-01", "mco", None),
        ("m2", "2018-01", "mco", None),
        ("m3", "2018-01", "mco", None),
        ("m4", "2018-01", "mco", None),
    )
    pa = assignments(
        ("m1", "1000000001", "2017-06-01", None),        # model C PCP
        ("m2", "1000000003", "2017-06-01", None),        # model B PCP
        ("m3", "1000000004", "2017-06-01", None),        # no ACO
    )
    out = attribution(enr, pa)
    assert list(zip(out.member_id, out.aco_id, out.method)) == [("m1", "ACO_C", "pcp_assignment")]


def test_pcp_assignment_ending_mid_month_uses_snapshot_day():
    enr = enrollment(*[("m1", f"2018-{m:02d}", "mco", None) for m in (1, 2, 3)])
    pa = assignments(
        ("m1", "1000000001", "2017-06-01", "2018-02-14"),  # ends mid-February
        ("m1", "1000000004", "2018-02-15", None),          # then a non-ACO PCP
    )
    last = attribution(enr, pa, day="last")
    assert list(last.month) == [D("2018-01-01")]
    first = attribution(enr, pa, day="first")
    assert list(first.month) == [D("2018-01-01"), D("2018-02-01")]


def test_assignment_ending_on_last_day_still_covers_the_month():
    enr = enrollment(("m1", "2018-02", "mco", None), ("m1", "2018-03", "mco", None))
    pa = assignments(("m1", "1000000001", "2018-02-01", "2018-02-28"))
    assert list(attribution(enr, pa).month) == [D("2018-02-01")]


def test_chc_flag_comes_from_the_assigned_pcp():
    enr = enrollment(
        ("m1", "2018-01", "mco", None),
        ("m2", "2018-01", "aco_a", "ACO_A"),
        ("m3", "2018-01", "aco_a", "ACO_A"),  # no assignment: not CHC
    )
    pa = assignments(
        ("m1", "1000000002", "2017-01-01", None),
        ("m2", "1000000005", "2017-01-01", None),
    )
    out = attribution(enr, pa)
    assert dict(zip(out.member_id, out.chc)) == {"m1": True, "m2": True, "m3": False}


# -- claims plurality (CT PCMH method) ---------------------------------------

PLURALITY_PROVIDERS = providers(
    ("1000000001", False, "ACO_A", False),
    ("1000000002", False, "ACO_B", False),
    ("1000000003", False, "ACO_C", False),
    ("1000000009", False, None, False),  # not participating
)


def plurality(visits, as_of="2018-12-31", lookback=24, tie_break=("most_recent_visit", "provider_id")):
    out = plurality_attribution(visits, PLURALITY_PROVIDERS, D(as_of), lookback, tie_break).execute()
    return dict(zip(out.member_id, out.npi))


def test_plurality_picks_provider_with_most_visits():
    v = claims(
        ("m1", "1000000001", "2018-01-10"), ("m1", "1000000001", "2018-02-10"),
        ("m1", "1000000002", "2018-12-01"),
        # more visits to a non-participating PCP do not count
        *[("m1", "1000000009", f"2018-0{k}-05") for k in range(1, 5)],
        # non-qualifying visits do not count
        *[("m1", "1000000002", f"2018-0{k}-06", False) for k in range(1, 5)],
    )
    assert plurality(v) == {"m1": "1000000001"}


def test_plurality_tie_broken_by_most_recent_visit_then_provider_id():
    v = claims(
        # m1: 2-2 tie, provider ...2 saw the member later
        ("m1", "1000000001", "2018-01-10"), ("m1", "1000000001", "2018-03-10"),
        ("m1", "1000000002", "2018-01-11"), ("m1", "1000000002", "2018-06-10"),
        # m2: tie on count and on last visit: the smaller NPI wins
        ("m2", "1000000003", "2018-05-05"), ("m2", "1000000002", "2018-05-05"),
    )
    assert plurality(v) == {"m1": "1000000002", "m2": "1000000002"}
    # provider id first: m1's tie goes to the smaller NPI instead
    assert plurality(v, tie_break=("provider_id", "most_recent_visit")) == {
        "m1": "1000000001", "m2": "1000000002"}


def test_plurality_counts_only_visits_in_the_lookback_window():
    v = claims(
        # 24 months to 2018-12-31 is 2017-01-01..2018-12-31
        ("m1", "1000000001", "2016-12-31"), ("m1", "1000000001", "2016-12-30"),
        ("m1", "1000000001", "2019-01-01"), ("m1", "1000000001", "2019-01-02"),
        ("m1", "1000000002", "2017-01-01"),
        ("m2", "1000000003", "2016-06-01"),  # only outside: not attributed
    )
    assert plurality(v) == {"m1": "1000000002"}
    # a 12-month window drops the 2017 visit too
    assert plurality(v, lookback=12) == {}


def test_plurality_rejects_incomplete_tie_break():
    with pytest.raises(ParameterError, match="tie_break"):
        plurality(claims(), tie_break=("provider_id",))


def test_options_validate_and_reject_unknown_keys():
    assert AttributionOptions().plurality_lookback_months == 24
    with pytest.raises(ValidationError):
        AttributionOptions(lookback=12)
    with pytest.raises(ValidationError):
        AttributionOptions(plurality_tie_break=("provider_id", "provider_id"))
    with pytest.raises(ValidationError, match="earlier"):
        AttributionOptions(flow_periods=(4, 3))
    # command-line overrides arrive as strings
    opts = AttributionOptions(flow_periods="3, 4", plurality_tie_break="provider_id,most_recent_visit")
    assert opts.flow_periods == (3, 4)
    assert opts.plurality_tie_break == ("provider_id", "most_recent_visit")


# -- flows --------------------------------------------------------------------

@pytest.fixture(scope="module")
def flow():
    enr = enrollment(
        ("m1", "2018-12", "aco_a", "ACO_A"), ("m1", "2019-12", "aco_b", "ACO_B"),
        ("m2", "2018-12", "mco", None), ("m2", "2019-12", "mco", None),
        ("m3", "2018-12", "ffs", None),
        ("m4", "2019-12", "pcc", None),
        ("m5", "2018-12", "mco", None), ("m5", "2019-12", "mco", None),
        ("m6", "2018-12", "aco_a", "ACO_A"), ("m6", "2019-12", "aco_a", "ACO_A"),
        ("m7", "2018-12", "aco_b", "ACO_B"), ("m7", "2019-12", "ffs", None),
    )
    pa = assignments(("m2", "1000000001", "2019-06-01", None))
    att = monthly_attribution(enr, pa, PROVIDERS, ENTITIES, PROGRAM)
    return flows(enr, att, D("2018-12-01"), D("2019-12-01"))


def test_flows_between_two_months(flow):
    got = {(r.from_category, r.from_aco, r.to_category, r.to_aco): r.members
           for r in flow.fillna("-").itertuples()}
    assert got == {
        ("ACO", "ACO_A", "ACO", "ACO_B"): 1,
        ("MCO", "-", "ACO", "ACO_C"): 1,
        ("FFS", "-", "Not enrolled", "-"): 1,
        ("Not enrolled", "-", "PCC", "-"): 1,
        ("MCO", "-", "MCO", "-"): 1,
        ("ACO", "ACO_A", "ACO", "ACO_A"): 1,
        ("ACO", "ACO_B", "FFS", "-"): 1,
    }


def test_flow_matrix_splits_aco_stayers_from_switchers(flow):
    m = flow_matrix(flow)
    assert m.loc["ACO", "ACO (same)"] == 1
    assert m.loc["ACO", "ACO (other)"] == 1
    assert m.loc["ACO", "FFS"] == 1
    assert m.loc["MCO", "ACO"] == 1
    assert m.loc["Not enrolled", "PCC"] == 1
    assert int(m.to_numpy().sum()) == 7


def test_aco_flow_summary(flow):
    out = aco_flow_summary(flow).set_index("aco_id")
    assert out.loc["ACO_A"].to_dict() == {
        "members_before": 2, "kept": 1, "lost_to_other_aco": 1, "lost_to_non_aco": 0,
        "gained_from_other_aco": 0, "gained_from_non_aco": 0, "members_after": 1}
    assert out.loc["ACO_B"].to_dict() == {
        "members_before": 1, "kept": 0, "lost_to_other_aco": 0, "lost_to_non_aco": 1,
        "gained_from_other_aco": 1, "gained_from_non_aco": 0, "members_after": 1}
    assert out.loc["ACO_C", "gained_from_non_aco"] == 1


def test_compare_with_plurality():
    pl = pd.DataFrame({"member_id": ["m1", "m2", "m3"], "aco_id": ["ACO_A", "ACO_A", "ACO_B"]})
    rule = pd.DataFrame({"member_id": ["m1", "m2", "m4"], "aco_id": ["ACO_A", "ACO_B", "ACO_B"]})
    out = compare_with_plurality(pl, rule).set_index("aco_id")
    assert out.to_dict("index") == {
        "ACO_A": {"plurality": 2, "enrollment_or_pcp": 1, "agree": 1},
        "ACO_B": {"plurality": 1, "enrollment_or_pcp": 2, "agree": 0},
    }


# -- the program's calendar bounds attribution (Sec 3.1.1, 4.4.1, 4.4.4) --------------------

LATE_ENTITIES = table("entities", [
    ("ACO_A", "aco", "A", "A", 2, 1, None, 0),
    ("ACO_B2", "aco", "B joining BP 2", "B", 2, 1, None, 2),
    ("ACO_C2", "aco", "C joining BP 2", "C", 1, 1, "MCO1", 2),
    ("MCO1", "mco", "MCO 1", None, None, None, None, 0),
])
LATE_PROVIDERS = providers(("1000000001", False, "ACO_C2", True), ("1000000005", True, "ACO_A", False))


def test_no_member_is_attributed_to_an_aco_before_its_join_period():
    enr = enrollment(
        ("m1", "2018-12", "mco", None), ("m1", "2019-01", "mco", None),          # model C via its PCP
        ("m2", "2018-12", "aco_b", "ACO_B2"), ("m2", "2019-01", "aco_b", "ACO_B2"),  # enrolled early: not counted
    )
    pa = assignments(("m1", "1000000001", "2018-01-01", None))
    out = monthly_attribution(enr, pa, LATE_PROVIDERS, LATE_ENTITIES, PROGRAM).execute()
    got = sorted((r.member_id, str(r.month)[:7], r.aco_id) for r in out.itertuples())
    assert got == [("m1", "2019-01", "ACO_C2"), ("m2", "2019-01", "ACO_B2")]


def test_no_member_is_attributed_outside_the_budget_periods_with_members():
    """Assigned to a model C PCP since January 2017: MassHealth ACOs have no members in Prep, so from BP 1."""
    enr = enrollment(*[("m1", f"2017-{m:02d}", "mco", None) for m in range(1, 13)], ("m1", "2018-01", "mco", None),
                     ("m1", "2023-01", "mco", None))
    pa = assignments(("m1", "1000000001", "2017-01-01", None))
    out = monthly_attribution(enr, pa, PROVIDERS, ENTITIES, PROGRAM).execute()
    assert sorted(str(m)[:7] for m in out.month) == ["2018-01"]
    # a program that attributes from its first budget period: from July 2017 (Prep) on, never before
    from_prep = PROGRAM.model_copy(update={"attribution": None})
    out = monthly_attribution(enr, pa, PROVIDERS, ENTITIES, from_prep).execute()
    assert sorted(str(m)[:7] for m in out.month) == [f"2017-{m:02d}" for m in range(7, 13)] + ["2018-01"]


# -- look-back windows are whole calendar months ---------------------------------------------

@pytest.mark.parametrize(("as_of", "months", "inside", "outside"), [
    ("2021-06-30", 1, "2021-06-01", "2021-05-31"),
    ("2021-02-28", 12, "2020-03-01", "2020-02-29"),  # leap day before the window
    ("2020-02-29", 1, "2020-02-01", "2020-01-31"),   # as-of on a leap day
    ("2020-02-29", 12, "2019-03-01", "2019-02-28"),
    ("2018-12-31", 24, "2017-01-01", "2016-12-31"),
])
def test_plurality_window_is_whole_calendar_months_ending_with_the_as_of_month(as_of, months, inside, outside):
    v = claims(("m1", "1000000001", inside), ("m2", "1000000001", outside), ("m3", "1000000001", as_of))
    assert plurality(v, as_of=as_of, lookback=months) == {"m1": "1000000001", "m3": "1000000001"}


def test_plurality_counts_visits_to_participating_pcps_only():
    """A primary-care visit flagged on a participating provider that is not a PCP does not count."""
    mixed = table("providers", [("1000000001", "pcp", False, "ACO_A", False),
                                ("1000000002", "specialist", False, "ACO_B", False)])
    v = claims(("m1", "1000000001", "2018-03-01"), *[("m1", "1000000002", f"2018-0{k}-01") for k in (4, 5, 6)])
    out = plurality_attribution(v, mixed, D("2018-12-31"), 24, ("most_recent_visit", "provider_id")).execute()
    assert dict(zip(out.member_id, out.npi)) == {"m1": "1000000001"}
