"""Outcomes-based pool examples: $171,400 (D2), $80,000 and 20%.

MassHealth DSRIP Protocol, Sec 4.5.3 (line 781): five eligible BH CPs engage 7,000 members; a CP
with 1,200 "would be eligible for 17.14% of the pool or $171,400" of $1M. Sec 4.5.6 (line 817):
four eligible LTSS CPs engage 5,000; a CP with 800 gets 16% of $500,000 = $80,000. Sec 5.4.5:
1,000 of 5,000 engaged members is 20% of the pool. D2: 1,200 / 7,000 x $1M is $171,428.57; the
published figure multiplies the share rounded to 17.14%.
"""

from __future__ import annotations

import pandas as pd
from pytest import approx

from dsrip_lib.accountability.outcomes_pool import outcomes_pool_awards, pool_shares


def _cps(entity_type, engaged, eligible, bp=3):
    ids = [f"{entity_type}-{i}" for i in range(len(engaged))]
    engaged_frame = pd.DataFrame({"entity_id": ids, "entity_type": entity_type, "budget_period": bp,
                                  "engaged_members": engaged})
    scores = pd.DataFrame({"entity_id": ids, "entity_type": entity_type, "budget_period": bp,
                           "domain": "avoidable_utilization", "score": [1.0 if e else 0.5 for e in eligible]})
    return scores, engaged_frame


def test_bh_cp_171400_d2(program):
    # five eligible BH CPs with 7,000 engaged members, one with 1,200; a sixth, ineligible CP is not in the pool
    scores, engaged = _cps("cp_bh", [1200, 1500, 1400, 1300, 1600, 3000], [True] * 5 + [False])
    out = outcomes_pool_awards(scores, engaged, program).set_index("entity_id")
    cp = out.loc["cp_bh-0"]
    assert cp["pool_usd"] == approx(1_000_000)  # the program's anticipated BH CP pool
    assert cp["eligible_engaged_members"] == 7000
    assert cp["award_usd"] == approx(171_428.5714, abs=1e-3)  # unrounded formula
    assert round(cp["pool_share"], 4) == approx(0.1714)  # the published share
    assert round(cp["pool_share"], 4) * 1_000_000 == approx(171_400)  # how the published figure follows
    assert out.loc["cp_bh-5", "award_usd"] == 0.0
    assert out["award_usd"].sum() == approx(1_000_000)


def test_ltss_cp_80000(program):
    scores, engaged = _cps("cp_ltss", [800, 1200, 1500, 1500], [True] * 4, bp=4)
    out = outcomes_pool_awards(scores, engaged, program).set_index("entity_id")
    assert out.loc["cp_ltss-0", "pool_share"] == approx(0.16)
    assert out.loc["cp_ltss-0", "award_usd"] == approx(80_000)


def test_sec_5_4_5_twenty_percent():
    shares = pool_shares(pd.Series([1000, 4000, 2500]), pd.Series([True, True, False]))
    assert shares.tolist() == approx([0.20, 0.80, 0.0])
