"""ACO/APM adoption rate: the three paths of protocol 5.2.1.1 and Exhibit 26."""

import json

import pytest
from extracts import ENTITIES, PROVIDERS, assignments, enrollment, table

from dsrip_lib.accountability.adoption import adoption_members, adoption_rate, adoption_rates
from dsrip_lib.errors import InputValidationError
from dsrip_lib.inputs.dataset import open_dataset
from dsrip_lib.program import load_program

PROGRAM = load_program()
BP1 = PROGRAM.calendar.budget_period(1)
THRESHOLD = PROGRAM.require("state_accountability").adoption.apm_non_primary_care_share_threshold

# PROVIDERS: ...01 model C PCP (APM), ...03 model B PCP (no APM),
# ...04 non-participating APM-paid, ...05 model A PCP (no APM)


def spending(*rows):
    """Claims rows (member, npi, date, category, paid)."""
    return table("claims", [
        (f"c{i}", m, d, n, cat, False, paid, None) for i, (m, n, d, cat, paid) in enumerate(rows)
    ])


NO_CLAIMS = spending()


def paths(enr, pa=None, claims=NO_CLAIMS):
    pa = pa if pa is not None else assignments()
    out = adoption_members(enr, pa, PROVIDERS, ENTITIES, claims, PROGRAM, [BP1]).execute()
    return {r.member_id: (r.path_aco, r.path_apm_pcp, r.path_apm_spending) for r in out.itertuples()}


def test_denominator_is_aco_eligible_members_of_the_period():
    enr = enrollment(
        ("m1", "2018-05", "ffs", None),
        ("m2", "2018-05", "ffs", None, False),  # not ACO-eligible
        ("m3", "2017-12", "ffs", None),         # Prep, not BP1
    )
    assert paths(enr) == {"m1": (False, False, False)}


def test_path_aco_enrollment_and_model_c_attribution():
    enr = enrollment(
        ("m1", "2018-05", "aco_b", "ACO_B"),
        ("m2", "2018-05", "mco", None),
        ("m3", "2018-05", "aco_a", "ACO_A", False),  # in an ACO only while ineligible
        ("m3", "2018-06", "ffs", None),
    )
    pa = assignments(("m2", "1000000001", "2018-05-01", None))
    got = paths(enr, pa)
    assert got["m1"] == (True, False, False)
    assert got["m2"][0] is True
    assert got["m3"] == (False, False, False)


def test_path_apm_pcp_alone():
    enr = enrollment(("m1", "2018-05", "mco", None), ("m2", "2018-05", "mco", None))
    pa = assignments(
        ("m1", "1000000004", "2018-01-01", None),  # APM-paid PCP, not in an ACO
        ("m2", "1000000003", "2018-01-01", None),  # ACO B PCP, not APM-paid
    )
    assert paths(enr, pa) == {"m1": (False, True, False), "m2": (False, False, False)}


def test_path_apm_pcp_ending_mid_month_does_not_count():
    enr = enrollment(("m1", "2018-05", "mco", None))
    pa = assignments(("m1", "1000000004", "2018-01-01", "2018-05-30"))
    assert paths(enr, pa) == {"m1": (False, False, False)}


def test_path_apm_spending_is_strictly_more_than_the_threshold():
    enr = enrollment(*[(m, "2018-05", "ffs", None) for m in ("m1", "m2", "m3", "m4")])
    claims = spending(
        # m1: exactly the threshold (20 of 100) does not count
        ("m1", "1000000004", "2018-03-01", "inpatient", 100.0 * THRESHOLD),
        ("m1", "1000000003", "2018-03-01", "inpatient", 100.0 * (1 - THRESHOLD)),
        # m2: just above counts
        ("m2", "1000000004", "2018-03-01", "specialist", 20.5),
        ("m2", "1000000003", "2018-03-01", "specialist", 79.5),
        # m3: primary care to APM providers is not in the share; none outside BP1
        ("m3", "1000000004", "2018-03-01", "primary_care", 900.0),
        ("m3", "1000000004", "2019-01-01", "inpatient", 900.0),
        ("m3", "1000000003", "2018-03-01", "inpatient", 100.0),
        # m4: no non-primary-care spending at all
        ("m4", "1000000004", "2018-03-01", "primary_care", 50.0),
    )
    got = paths(enr, claims=claims)
    assert {m: p[2] for m, p in got.items()} == {"m1": False, "m2": True, "m3": False, "m4": False}


def test_member_meeting_every_path_counts_once():
    enr = enrollment(
        ("m1", "2018-05", "mco", None),
        ("m2", "2018-05", "ffs", None),
        ("m3", "2018-05", "ffs", None),
    )
    pa = assignments(("m1", "1000000001", "2018-01-01", None))  # model C and APM-paid
    claims = spending(("m1", "1000000001", "2018-03-01", "inpatient", 10.0),
                      ("m2", "1000000004", "2018-03-01", "inpatient", 10.0))
    members = adoption_members(enrollment(("m1", "2018-05", "mco", None)), pa, PROVIDERS,
                               ENTITIES, claims, PROGRAM, [BP1]).execute()
    assert members[["path_aco", "path_apm_pcp", "path_apm_spending"]].values.tolist() == [[True] * 3]
    result = adoption_rate(PROGRAM, 1, enr, pa, PROVIDERS, ENTITIES, claims)
    assert (result.numerator, result.denominator) == (2, 3)
    assert result.by_path == {"path_aco": 1, "path_apm_pcp": 1, "path_apm_spending": 2}
    assert result.rate == pytest.approx(2 / 3)
    assert result.target == PROGRAM.require("state_accountability").adoption.target(1)
    assert result.passed is (2 / 3 >= PROGRAM.require("state_accountability").adoption.target(1))


def test_prep_period_has_no_target_and_no_aco_members():
    """Prep: no Exhibit 26 target, and ACOs have no members yet (Sec 5.3): only the APM paths count."""
    enr = enrollment(("m1", "2017-08", "mco", None), ("m2", "2017-08", "aco_a", "ACO_A"))
    pa = assignments(("m1", "1000000004", "2017-01-01", None))  # an APM-paid PCP
    result = adoption_rate(PROGRAM, 0, enr, pa, PROVIDERS, ENTITIES, NO_CLAIMS)
    assert (result.rate, result.target, result.passed) == (0.5, None, None)
    assert result.by_path == {"path_aco": 0, "path_apm_pcp": 1, "path_apm_spending": 0}


def test_period_without_aco_eligible_members_is_an_error_not_a_nan():
    enr = enrollment(("m1", "2018-05", "ffs", None, False))  # enrolled, not ACO-eligible
    with pytest.raises(InputValidationError, match="no member has an aco_eligible month in ACO budget period 1"):
        adoption_rate(PROGRAM, 1, enr, assignments(), PROVIDERS, ENTITIES, NO_CLAIMS)


def test_reproduces_synthetic_truth(tiny_data):
    truth = json.loads((tiny_data / "truth.json").read_text())
    ds = open_dataset(tiny_data)
    tables = [ds.table(n) for n in ("enrollment", "pcp_assignments", "providers", "entities", "claims")]
    expected = truth["adoption"]
    assert expected, "truth.json has no adoption rates"
    for bp, want in expected.items():
        got = adoption_rate(PROGRAM, int(bp), *tables)
        assert got.rate == pytest.approx(want["rate"], abs=1e-12)
        assert got.target == want["target"]
        assert (got.numerator, got.denominator) == (want["numerator"], want["denominator"])
        assert got.by_path == {p: want[p] for p in got.by_path}
        assert got.passed == want["meets_target"]


def test_one_pass_over_all_periods_equals_each_period_alone(tiny_data):
    ds = open_dataset(tiny_data)
    tables = [ds.table(n) for n in ("enrollment", "pcp_assignments", "providers", "entities", "claims")]
    together = adoption_rates(PROGRAM, [0, 1, 2, 3, 4, 5], *tables)
    assert [r.budget_period for r in together] == [0, 1, 2, 3, 4, 5]
    assert together == [adoption_rate(PROGRAM, bp, *tables) for bp in range(6)]


def test_a_member_is_counted_in_each_period_on_its_own_months():
    """One member, two periods: enrolled in an ACO in BP 1 only, in fee-for-service in BP 2."""
    enr = enrollment(("m1", "2018-05", "aco_a", "ACO_A"), ("m1", "2019-05", "ffs", None))
    bp1, bp2 = adoption_rates(PROGRAM, [1, 2], enr, assignments(), PROVIDERS, ENTITIES, NO_CLAIMS)
    assert (bp1.numerator, bp1.denominator) == (1, 1) and (bp2.numerator, bp2.denominator) == (0, 1)


def test_an_aco_joining_in_bp_2_adds_nobody_to_bp_1s_numerator():
    """An MCO enrollee whose PCP is in a model C ACO that joins in BP 2 is not adopted in BP 1."""
    entities = table("entities", [("ACO_C2", "aco", "C joining BP 2", "C", 1, 1, "MCO1", 2),
                                  ("MCO1", "mco", "MCO 1", None, None, None, None, 0)])
    pcps = table("providers", [("1000000001", "pcp", False, "ACO_C2", False)])
    enr = enrollment(("m1", "2018-06", "mco", None), ("m1", "2019-06", "mco", None))
    pa = assignments(("m1", "1000000001", "2018-01-01", None))
    bp1, bp2 = adoption_rates(PROGRAM, [1, 2], enr, pa, pcps, entities, NO_CLAIMS)
    assert (bp1.numerator, bp1.by_path["path_aco"]) == (0, 0)
    assert (bp2.numerator, bp2.by_path["path_aco"]) == (1, 1)


def test_apm_spending_of_exactly_the_threshold_to_the_cent_does_not_count():
    """0.10 + 0.20 of 1.50 is 20.00%: as floats the share comes out a few ulps above 0.2."""
    claims = spending(("m1", "1000000004", "2018-03-01", "inpatient", 0.1),
                      ("m1", "1000000004", "2018-03-02", "inpatient", 0.2),
                      ("m1", "1000000003", "2018-03-03", "inpatient", 1.2),
                      ("m2", "1000000004", "2018-03-01", "inpatient", 0.31),   # 0.31 of 1.51: more than 20%
                      ("m2", "1000000003", "2018-03-03", "inpatient", 1.2))
    enr = enrollment(("m1", "2018-05", "ffs", None), ("m2", "2018-05", "ffs", None))
    assert paths(enr, claims=claims) == {"m1": (False, False, False), "m2": (False, False, True)}


@pytest.mark.parametrize(("adopted", "eligible", "passed"), [(1, 4, True), (1, 5, False), (2, 7, True)])
def test_a_rate_exactly_at_its_target_passes(adopted, eligible, passed):
    """BP 1's target is 25% (Exhibit 26): 1 of 4 meets it, 1 of 5 does not."""
    enr = enrollment(*[(f"m{i}", "2018-05", "aco_a" if i < adopted else "ffs", "ACO_A" if i < adopted else None)
                       for i in range(eligible)])
    result = adoption_rate(PROGRAM, 1, enr, assignments(), PROVIDERS, ENTITIES, NO_CLAIMS)
    assert (result.numerator, result.denominator, result.passed) == (adopted, eligible, passed)
