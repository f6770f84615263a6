"""The payment ledger: invariants, releases, CMS-64 dates, bad input, reproducibility (dsrip_lib.payments.ledger)."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from dsrip_lib.accountability.outcomes_pool import outcomes_pool_awards
from dsrip_lib.errors import DsripError, InputValidationError, ParameterError
from dsrip_lib.payments.ledger import (
    FORFEITED,
    OUTCOMES_POOL,
    RECOUPED,
    RELEASED,
    REMEDIATION,
    WITHHELD,
    authority_by_budget_period,
    build_ledger,
    check_ledger,
    ledger_from_tables,
)
from dsrip_lib.payments.recoupment import class_split, recoup
from dsrip_lib.payments.streams import ALLOTMENT_COLUMNS
from dsrip_lib.program import load_program

EMPTY_FLEX = pd.DataFrame(columns=ALLOTMENT_COLUMNS)
EMPTY_REIMB = pd.DataFrame(columns=["request_id", "entity_id", "budget_period", "quarter", "amount_approved",
                                    "reimbursed_usd"])
APPROVALS = pd.DataFrame({"budget_period": [1, 2, 3], "submitted_on": ["2019-10-01", "2020-10-01", "2021-10-01"],
                          "approved_on": ["2019-12-15", "2020-12-15", "2021-12-15"]})


def _allotment(entity, bp, usd, share, sub="startup_ongoing_discretionary", etype="aco", schedule="quarterly"):
    stream = {"aco": "aco", "cp_bh": "community_partners"}[etype]
    return dict(entity_id=entity, entity_type=etype, stream=stream, sub_stream=sub, budget_period=bp,
                calendar="aco" if etype == "aco" else "cp", schedule=schedule, at_risk_share=share, allotted_usd=usd)


def _build(allotments, program, **kw):
    return build_ledger(pd.DataFrame(allotments, columns=ALLOTMENT_COLUMNS), pd.DataFrame(), EMPTY_FLEX, EMPTY_REIMB,
                        program, **kw)


def test_withheld_is_released_by_score_on_the_approval_date(program):
    scores = pd.DataFrame({"entity_id": ["A"], "budget_period": [2], "accountability_score": [0.6]})
    ledger = _build([_allotment("A", 2, 1000.01, 0.15)], program, scores=scores, approvals=APPROVALS)
    rows = ledger.rows
    kinds = rows.groupby("kind")["cents"].sum().to_dict()
    assert kinds["paid"] + kinds["withheld"] == 100_001
    assert kinds["withheld"] == 15_000  # 15% of $1,000.01 = $150.0015 -> $150.00
    assert kinds["released"] == 9_000 and kinds["forfeited"] == 6_000  # Sec 5.1.2: a score of 0.6 gets 60%
    released = rows[rows["kind"] == RELEASED]
    assert (released["date"] == pd.Timestamp("2020-12-15")).all()
    assert (released["claimable_on"] == pd.Timestamp("2020-12-15")).all()  # at risk: after CMS approval
    paid = rows[rows["kind"] == "paid"]
    assert (paid["claimable_on"] == paid["date"]).all()  # not at risk: when paid
    assert rows.loc[rows["kind"] == WITHHELD, "claimable_on"].isna().all()
    check_ledger(ledger)


def test_no_release_without_approval_and_a_balance_remains(program):
    scores = pd.DataFrame({"entity_id": ["A"], "budget_period": [4], "accountability_score": [1.0]})
    ledger = _build([_allotment("A", 4, 400.0, 0.4)], program, scores=scores, approvals=APPROVALS)
    assert RELEASED not in set(ledger.rows["kind"])
    assert ledger.withheld_balances(pd.Timestamp("2023-01-01"))["balance_usd"].tolist() == [160.0]


def test_an_approval_before_its_submission_is_refused(program):
    bad = APPROVALS.assign(approved_on=["2019-09-30", "2020-12-15", "2021-12-15"])
    scores = pd.DataFrame({"entity_id": ["A"], "budget_period": [1], "accountability_score": [1.0]})
    with pytest.raises(InputValidationError, match="(?s)approved on or after its submission.*budget_period=1"):
        _build([_allotment("A", 1, 100.0, 0.05)], program, scores=scores, approvals=bad)
    early = APPROVALS.assign(submitted_on=["2018-06-01", "2020-10-01", "2021-10-01"])
    with pytest.raises(InputValidationError, match="after the period ends"):
        _build([_allotment("A", 1, 100.0, 0.05)], program, scores=scores, approvals=early)


def test_a_score_outside_zero_one_is_refused(program):
    scores = pd.DataFrame({"entity_id": ["A"], "budget_period": [1], "accountability_score": [1.2]})
    with pytest.raises(InputValidationError, match="accountability_score"):
        _build([_allotment("A", 1, 100.0, 0.05)], program, scores=scores, approvals=APPROVALS)


def test_payments_above_exhibit_1_authority_need_a_recorded_allowance(program):
    authority = authority_by_budget_period(program).set_index(["stream", "budget_period"])["authority_usd"]
    limit = authority[("aco", 1)]
    assert limit == pytest.approx((329.2e6 + 289.9e6) / 2)  # BP 1 = half of DY1 + half of DY2 (Sec 3.1.1)
    over = [_allotment("A", 1, limit + 100.0, 0.0, sub="startup_ongoing_primary_care")]
    with pytest.raises(DsripError, match="aco budget period 1"):
        _build(over, program)
    allowance = pd.DataFrame({"stream": ["aco"], "budget_period": [1], "amount_usd": [100.0]})
    check_ledger(_build(over, program, allowances=allowance))


def _tiny_tables():
    entities = pd.DataFrame({"entity_id": ["A1", "A2"], "entity_type": "aco", "aco_model": ["A", "C"],
                             "risk_track": [None, 2], "safety_net_category": [2, 5], "join_budget_period": [0, 2]})
    months = pd.DataFrame({"entity_id": ["A1", "A1", "A2", "A2"], "budget_period": [1, 5, 2, 5],
                           "member_months": [12_000, 11_000, 6_000, 7_000], "chc_member_months": [0, 500, 100, 0]})
    requests = pd.DataFrame({"request_id": ["r1", "r2", "r3"], "aco_id": ["A1", "A1", "A2"], "budget_period": [1, 5, 5],
                             "quarter": [2, 1, 1], "amount_requested": [50_000.0, 9_000.0, 100.0],
                             "amount_approved": [50_000.0, 8_000.0, 100.0]})
    return entities, months, requests


def test_flexible_services_forfeited_and_bp5_returned(program):
    entities, months, requests = _tiny_tables()
    ledger = ledger_from_tables(months, entities, program, flexible_requests=requests)
    check_ledger(ledger)
    flex = ledger.rows[ledger.rows["sub_stream"] == "flexible_services"].set_index(["entity_id", "budget_period",
                                                                                    "kind"])["cents"]
    assert flex[("A1", 1, "paid")] == 45_000_00  # 12,000 x $3.75 allotment caps the $50,000 approved
    assert ("A1", 1, "forfeited") not in flex.index
    # BP 5: 11,000 x $2.25 = $24,750 paid prospectively, $8,000 used, $16,750 returned
    assert flex[("A1", 5, "paid")] == 24_750_00 and flex[("A1", 5, "returned")] == 16_750_00
    dates = ledger.rows.set_index(["entity_id", "budget_period", "sub_stream", "kind"])["date"]
    assert dates[("A1", 1, "flexible_services", "paid")] == pd.Timestamp("2018-07-01")  # after its quarter


def test_payment_for_an_aco_that_did_not_exist_is_refused(program):
    entities, months, _ = _tiny_tables()
    early = pd.concat([months, pd.DataFrame({"entity_id": ["A2"], "budget_period": [1], "member_months": [10],
                                             "chc_member_months": [0]})], ignore_index=True)
    with pytest.raises(InputValidationError, match="(?s)ACO member-months.*entity_id='A2', budget_period=1"):
        ledger_from_tables(early, entities, program)


def test_reproducible_and_independent_of_row_order(program):
    entities, months, requests = _tiny_tables()
    first = ledger_from_tables(months, entities, program, flexible_requests=requests).rows
    again = ledger_from_tables(months.iloc[::-1], entities.iloc[::-1], program,
                               flexible_requests=requests.iloc[::-1]).rows
    pd.testing.assert_frame_equal(first, again)


amounts = st.integers(min_value=0, max_value=10**10)


@settings(max_examples=60, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(st.lists(st.tuples(st.integers(0, 5), amounts, st.sampled_from([0, 0.05, 0.15, 0.3, 0.4, 0.5]),
                          st.sampled_from(["quarterly", "biannual"]), st.floats(0, 1)), min_size=1, max_size=12),
       st.lists(st.tuples(st.integers(1, 12), st.integers(0, 50), st.integers(0, 50)), max_size=6))
def test_ledger_invariants(allots, months):
    program = load_program()
    rows = [_allotment(f"E{i}", bp, cents / 100, share, schedule=schedule,
                       etype="aco" if schedule == "quarterly" else "cp_bh",
                       sub="startup_ongoing_discretionary" if schedule == "quarterly" else "infrastructure")
            for i, (bp, cents, share, schedule, _) in enumerate(allots)]
    scores = pd.DataFrame({"entity_id": [f"E{i}" for i in range(len(allots))],
                           "budget_period": [a[0] for a in allots], "accountability_score": [a[4] for a in allots]})
    monthly = pd.DataFrame({"entity_id": "CC", "entity_type": "cp_bh", "budget_period": 2,
                            "month": [pd.Timestamp(2019, m, 1) for m, _, _ in months],
                            "engaged_members": [e for _, e, _ in months], "outreach_members": [o for _, _, o in months],
                            "pmpm_usd": 180.0, "at_risk_share": 0.05})
    monthly = monthly.drop_duplicates("month")
    monthly["allotted_usd"] = (monthly["engaged_members"] + monthly["outreach_members"]) * 180.0
    approvals = APPROVALS.assign(budget_period=[1, 2, 3])
    ledger = build_ledger(pd.DataFrame(rows, columns=ALLOTMENT_COLUMNS), monthly, EMPTY_FLEX, EMPTY_REIMB, program,
                          scores=scores, approvals=approvals,
                          allowances=pd.DataFrame({"stream": ["aco", "community_partners"] * 6,
                                                   "budget_period": np.repeat(range(6), 2), "amount_usd": 1e9}))
    check_ledger(ledger)  # paid + withheld = allotted, released + forfeited <= withheld, nothing negative
    r = ledger.rows
    assert (r["cents"] > 0).all()
    by = r.pivot_table(index=["entity_id", "budget_period"], columns="kind", values="cents", aggfunc="sum",
                       fill_value=0)
    for kind in ("paid", "withheld", "released", "forfeited"):
        if kind not in by:
            by[kind] = 0
    assert (by["released"] <= by["withheld"]).all()
    released = by[by["released"] + by["forfeited"] > 0]
    assert (released["released"] + released["forfeited"] == released["withheld"]).all()
    allotted = ledger.allotments.groupby(["entity_id", "budget_period"])["allotted_cents"].sum()
    assert (by["paid"] + by["withheld"]).reindex(allotted.index).fillna(0).astype(int).equals(allotted.astype(int)) \
        or ((by["paid"] + by["withheld"]).reindex(allotted.index).fillna(0).to_numpy() == allotted.to_numpy()).all()


# -- outcomes-based pools (Sec 4.5.3, 4.5.6, 5.4.5) ------------------------------------------------
APPROVALS_4 = pd.concat([APPROVALS, pd.DataFrame({"budget_period": [4], "submitted_on": ["2022-01-15"],
                                                  "approved_on": ["2022-03-01"]})], ignore_index=True)
DUMMY = _allotment("A", 3, 100.0, 0.0, sub="startup_ongoing_primary_care")


def _pool_inputs(bp=3):
    """Sec 4.5.3: five eligible BH CPs engaging 7,000 members, one engaging 1,200; one CP not eligible."""
    engaged = {"B1": 1200, "B2": 1500, "B3": 1500, "B4": 1400, "B5": 1400, "B6": 3000}
    frame = pd.DataFrame({"entity_id": list(engaged), "entity_type": "cp_bh", "budget_period": bp,
                          "engaged_members": list(engaged.values())})
    scores = frame[["entity_id", "entity_type", "budget_period"]].assign(
        domain="avoidable_utilization", score=[1.0] * 5 + [0.9])
    return scores, frame


def _pool_ledger(program, bp=3, approvals=APPROVALS):
    awards = outcomes_pool_awards(*_pool_inputs(bp), program)
    return _build([DUMMY], program, approvals=approvals, pool_awards=awards)


def test_outcomes_pool_pays_the_eligible_cps_the_pool_on_the_approval_date(program):
    ledger = _pool_ledger(program)
    check_ledger(ledger)
    pool = ledger.rows[ledger.rows["sub_stream"] == OUTCOMES_POOL].set_index("entity_id")
    assert set(pool.index) == {"B1", "B2", "B3", "B4", "B5"}  # B6 scored 0.9 on avoidable utilisation
    assert pool["cents"].sum() == 1_000_000_00  # the $1M pool, to the cent
    # 1,200 / 7,000 x $1M = $171,428.57 (the protocol's $171,400 rounds the share to 17.14% first, D2)
    assert pool.loc["B1", "cents"] == 171_428_57
    assert round(round(1200 / 7000, 4) * 1_000_000) == 171_400
    # 1,500 / 7,000 x $1M = $214,285.714..: the one cent left goes to the tied remainder with the smaller key
    assert pool.loc["B2", "cents"] == 214_285_72 and pool.loc["B3", "cents"] == 214_285_71
    assert (pool["kind"] == "paid").all() and not pool["at_risk"].any()  # Exhibit 22 excepts outcomes payments
    assert (pool["date"] == pd.Timestamp("2021-12-15")).all() and (pool["claimable_on"] == pool["date"]).all()
    assert (pool["stream"] == "community_partners").all()


def test_no_pool_without_an_approval_or_before_bp3(program):
    no_approval = _pool_ledger(program, approvals=APPROVALS[APPROVALS["budget_period"] != 3])
    assert OUTCOMES_POOL not in set(no_approval.rows["sub_stream"])
    assert OUTCOMES_POOL not in set(_pool_ledger(program, bp=2).rows["sub_stream"])  # pools start in BP 3


def test_ledger_from_tables_counts_pool_members_as_infrastructure_does(program):
    entities = pd.DataFrame({"entity_id": ["A1", "P1", "P2"], "entity_type": ["aco", "cp_bh", "cp_bh"],
                             "aco_model": ["A", None, None], "risk_track": [None, None, None],
                             "safety_net_category": [2, None, None], "join_budget_period": [0, 0, 0]})
    months = pd.DataFrame({"entity_id": ["A1"], "budget_period": [3], "member_months": [1200],
                           "chc_member_months": [0]})
    # P1 engages 2 members every month of 2020 and P2 1: the monthly averages 2 and 1 share the pool 2:1
    engagement = pd.DataFrame([{"cp_id": cp, "member_id": f"{cp}-{m}", "month": pd.Timestamp(2020, mo, 1),
                                "engaged": True} for cp, n in (("P1", 2), ("P2", 1)) for m in range(n)
                               for mo in range(1, 13)])
    domains = pd.DataFrame({"entity_id": ["P1", "P2"], "entity_type": "cp_bh", "budget_period": 3,
                            "domain": "avoidable_utilization", "score": [1.0, 1.0]})
    ledger = ledger_from_tables(months, entities, program, engagement=engagement, cp_domain_scores=domains,
                                approvals=APPROVALS)
    pool = ledger.rows[ledger.rows["sub_stream"] == OUTCOMES_POOL].set_index("entity_id")["cents"]
    assert pool.to_dict() == {"P1": 666_666_67, "P2": 333_333_33}
    check_ledger(ledger)


# -- remediation earn-back (Sec 5.3.4, 5.4.6.1) -----------------------------------------------------
PLAN = pd.DataFrame({"entity_id": ["A"], "budget_period": [4], "approved_share": [0.5], "plan_score": [7.0],
                     "approved_on": ["2022-09-01"]})


def _remediated(program, plans=PLAN, score=0.75):
    # $1,000,000 at BP 4's 40%: $400,000 withheld; a score of 0.75 leaves $100,000 unearned
    scores = pd.DataFrame({"entity_id": ["A"], "budget_period": [4], "accountability_score": [score]})
    return _build([_allotment("A", 4, 1_000_000.0, 0.4)], program, scores=scores, approvals=APPROVALS_4,
                  remediation=plans)


def test_remediation_earns_back_the_sec_5_3_4_example_out_of_forfeited(program):
    ledger = _remediated(program)
    check_ledger(ledger)
    rows = ledger.rows
    back = rows[rows["note"] == REMEDIATION]
    assert back["cents"].sum() == 35_000_00  # $100,000 x 50% x 7/10 (Sec 5.3.4)
    assert (back["kind"] == RELEASED).all() and (back["date"] == pd.Timestamp("2022-09-01")).all()
    assert (back["claimable_on"] == pd.Timestamp("2022-09-01")).all()
    kinds = rows.groupby("kind")["cents"].sum()
    assert kinds[FORFEITED] == 65_000_00 and kinds[RELEASED] == 335_000_00
    assert kinds[RELEASED] + kinds[FORFEITED] == kinds[WITHHELD] == 400_000_00
    assert kinds["paid"] + kinds[WITHHELD] == 1_000_000_00
    # between the scores' and the plan's approval the earn-back is still withheld, then released
    assert ledger.withheld_balances(pd.Timestamp("2022-06-01"))["balance_usd"].sum() == 35_000.0
    assert ledger.withheld_balances(pd.Timestamp("2022-09-01")).empty


def test_remediation_rounds_the_exact_rate_half_up(program):
    # 0.01 x 1.3 / 10 is 0.0013 exactly, though 0.01 * (1.3 / 10) prints 0.0013000000000000002
    plans = PLAN.assign(approved_share=[0.01], plan_score=[1.3])
    back = _remediated(program, plans).rows.query("note == @REMEDIATION")["cents"].sum()
    assert back == 130_00  # $100,000 x 0.0013


def test_nothing_to_earn_back_after_a_full_score(program):
    ledger = _remediated(program, score=1.0)
    assert REMEDIATION not in set(ledger.rows["note"]) and FORFEITED not in set(ledger.rows["kind"])


@pytest.mark.parametrize("change, error, message", [
    ({"approved_on": ["2022-02-01"]}, InputValidationError, "(?s)on or after CMS approved.*budget_period=4"),
    ({"budget_period": [5]}, InputValidationError, "on or after CMS approved"),  # BP 5 scores not approved
    ({"approved_share": [0.7]}, ParameterError, "at most 60%"),
    ({"plan_score": [11.0]}, ParameterError, "Plan Score must be in"),
])
def test_a_bad_remediation_plan_is_refused(program, change, error, message):
    with pytest.raises(error, match=message):
        _remediated(program, PLAN.assign(**change))


# -- recoupment (Sec 5.1.1) ------------------------------------------------------------------------
def test_recouped_rows_follow_the_sec_5_1_1_split_and_reduce_cash(program):
    rows = [_allotment(e, 4, 10_000.0, 0.4) for e in ("A", "B", "C")]
    rows.append(_allotment("P", 4, 10_000.0, 0.1, sub="infrastructure", etype="cp_bh", schedule="biannual"))
    ledger = _build(rows, program)
    aco = pd.DataFrame({"entity_id": ["A", "B", "C"], "accountability_score": [0.9, 0.6, 1.0]})
    cp = pd.DataFrame({"entity_id": ["P"], "accountability_score": [0.5]})
    recoupment = recoup(100_00, aco, cp, program)
    after = ledger.with_recoupment(recoupment, 5, pd.Timestamp("2023-03-01"))
    check_ledger(after)
    recouped = after.rows[after.rows["kind"] == RECOUPED].set_index("entity_id")
    # the $100 example: $66.10 to the ACOs, $13.22 and $52.88 for scores of 90% and 60%; nothing from 100%
    assert recouped["cents"].to_dict() == {"A": 13_22, "B": 52_88, "P": 33_90}
    assert recouped.groupby("stream")["cents"].sum().to_dict() == class_split(100_00, program)  # 66.1% / 33.9%
    assert (recouped["date"] == pd.Timestamp("2023-03-01")).all()
    assert (recouped["claimable_on"] == recouped["date"]).all()
    assert (recouped["budget_period"] == 5).all()
    assert round(ledger.cash()["cash_usd"].sum() - after.cash()["cash_usd"].sum(), 2) == 100.0
    assert len(after.rows) == len(ledger.rows) + 3


def test_recouping_from_an_unknown_entity_is_refused(program):
    ledger = _build([_allotment("A", 4, 10_000.0, 0.4)], program)
    cp = pd.DataFrame({"entity_id": ["S"], "accountability_score": [0.5]})
    recoupment = recoup(100_00, pd.DataFrame({"entity_id": ["Z"], "accountability_score": [0.5]}), cp, program)
    with pytest.raises(InputValidationError, match=r"\['S', 'Z'\] are neither paid"):
        ledger.with_recoupment(recoupment, 5, pd.Timestamp("2023-03-01"))
    # a scored CSA the contract's tables allot nothing to is typed from the entities table
    entities = pd.DataFrame({"entity_id": ["S", "Z"], "entity_type": ["csa", "aco"]})
    after = ledger.with_recoupment(recoupment, 5, pd.Timestamp("2023-03-01"), entities)
    recouped = after.rows[after.rows["kind"] == RECOUPED].set_index("entity_id")
    assert recouped["entity_type"].to_dict() == {"S": "csa", "Z": "aco"}
    assert recouped["stream"].to_dict() == {"S": "community_partners", "Z": "aco"}


@settings(max_examples=40, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 10**10), st.floats(0, 1), st.integers(0, 60),
                          st.integers(0, 20)),
                min_size=1, max_size=8),
       st.integers(0, 10**9))
def test_earn_back_and_recoupment_keep_the_invariants(entities, total):
    program = load_program()
    shares = {1: 0.05, 2: 0.15, 3: 0.3, 4: 0.4}
    ids = [f"E{i}" for i in range(len(entities))]
    rows = [_allotment(e, bp, cents / 100, shares[bp]) for e, (bp, cents, *_) in zip(ids, entities)]
    scores = pd.DataFrame({"entity_id": ids, "budget_period": [e[0] for e in entities],
                           "accountability_score": [e[2] for e in entities]})
    plans = pd.DataFrame({"entity_id": ids, "budget_period": [e[0] for e in entities],
                          "approved_share": [e[3] / 100 for e in entities], "plan_score": [e[4] / 2 for e in entities],
                          "approved_on": "2022-06-01"})
    ledger = build_ledger(pd.DataFrame(rows, columns=ALLOTMENT_COLUMNS), pd.DataFrame(), EMPTY_FLEX, EMPTY_REIMB,
                          program, scores=scores, approvals=APPROVALS_4, remediation=plans,
                          allowances=pd.DataFrame({"stream": "aco", "budget_period": range(6), "amount_usd": 1e9}))
    check_ledger(ledger)
    by = ledger.rows.pivot_table(index="entity_id", columns="kind", values="cents", aggfunc="sum", fill_value=0)
    by = by.reindex(columns=["paid", WITHHELD, RELEASED, FORFEITED], fill_value=0)
    allotted = ledger.allotments.groupby("entity_id")["allotted_cents"].sum()
    assert ((by["paid"] + by[WITHHELD]).reindex(allotted.index, fill_value=0) == allotted).all()
    assert (by[RELEASED] + by[FORFEITED] == by[WITHHELD]).all()  # every period here is approved
    aco = scores.groupby("entity_id", as_index=False)["accountability_score"].first()
    after = ledger.with_recoupment(recoup(total, aco, None, program), 5, pd.Timestamp("2023-03-01"))
    check_ledger(after)
    recouped = after.rows[after.rows["kind"] == RECOUPED]
    full = set(aco.loc[aco["accountability_score"] == 1.0, "entity_id"])
    assert not set(recouped["entity_id"]) & full  # nothing from an entity that scored 100%
    expected = class_split(total, program)["aco"] if (aco["accountability_score"] < 1).any() else 0
    assert recouped["cents"].sum() == expected
