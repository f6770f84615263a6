"""The payment ledger: invariants, releases, CMS-64 dates, bad input, reproducibility (dsrip_lib.payments.ledger)."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from dsrip_lib.errors import DsripError, InputValidationError
from dsrip_lib.payments.ledger import (
    RELEASED,
    WITHHELD,
    authority_by_budget_period,
    build_ledger,
    check_ledger,
    ledger_from_tables,
)
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
