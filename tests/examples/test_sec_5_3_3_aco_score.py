"""Sec 5.3.3: the ACO DSRIP Accountability Score in BP 4 (published 76.2%; discrepancy D3).

MassHealth DSRIP Protocol, Sec 5.3.3 (line 1938 of the published text): quality component 75%,
TCOC component 80%, Exhibit 31 weights 75% / 25% in BP 4: "(75% * 75%) + (80% * 25%) = 76.2%".
The formula gives 76.25% exactly; the published 76.2% is that value cut to one decimal place
(truncation or round-half-even; half-up gives 76.3%).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import pandas as pd
from pytest import approx

from dsrip_lib.accountability.aco import aco_accountability, earned_at_risk

PUBLISHED = Decimal("76.2")


def _score(program):
    quality = pd.DataFrame({"entity_id": ["ACO-X"], "budget_period": [4], "quality_score": [0.75]})
    tcoc = pd.DataFrame({"entity_id": ["ACO-X"], "budget_period": [4], "tcoc_component": [0.80]})
    return aco_accountability(quality, tcoc, program).iloc[0]


def test_weights_are_exhibit_31_bp4(program):
    row = _score(program)
    assert (row["quality_weight"], row["tcoc_weight"]) == approx((0.75, 0.25))


def test_unrounded_score_is_76_25_percent(program):
    assert _score(program)["accountability_score"] == approx(0.7625, abs=1e-12)


def test_published_76_2_follows_by_truncation_or_half_even_not_half_up(program):
    percent = Decimal(repr(round(float(_score(program)["accountability_score"]) * 100, 10)))
    assert percent.quantize(Decimal("0.1"), rounding=ROUND_DOWN) == PUBLISHED
    assert percent.quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN) == PUBLISHED
    assert percent.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) == Decimal("76.3")


def test_score_applies_to_sub_streams_2_and_4(program):
    # Sec 5.3.3: the score multiplies the at-risk amount of sub-streams 2 and 4 (Exhibit 20).
    scores = pd.DataFrame({"entity_id": ["ACO-X"], "budget_period": [4], "accountability_score": [0.7625]})
    withheld = pd.DataFrame({"entity_id": "ACO-X", "budget_period": 4,
                             "stream": ["dsti_glide_path", "startup_ongoing_discretionary"],
                             "withheld_usd": [100_000.0, 400_000.0]})
    out = earned_at_risk(scores, withheld)
    assert out["earned_usd"].tolist() == approx([76_250.0, 305_000.0])
    assert out["unearned_usd"].tolist() == approx([23_750.0, 95_000.0])
