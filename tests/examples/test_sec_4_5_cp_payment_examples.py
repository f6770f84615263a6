"""Sec 4.5 and 4.6.5 worked examples: CP infrastructure maxima, the $160 care-coordination month, TA cost share."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dsrip_lib.payments.streams import cp_care_coordination, infrastructure_cap_usd, technical_assistance_split


def test_bh_and_ltss_infrastructure_maxima():
    # Sec 4.5.2: $40.00 x 12 x 1,000 = $480,000; Sec 4.5.5: $35.00 x 12 x 1,000 = $420,000
    assert infrastructure_cap_usd(40.0, 1000) == 480_000
    assert infrastructure_cap_usd(35.0, 1000) == 420_000


def test_the_160_pmpm_care_coordination_month(program):
    # Sec 4.5.1: one month = (assigned but not engaged + engaged) x $160; here 3 + 7 members
    entities = pd.DataFrame({"entity_id": ["BH1"], "entity_type": ["cp_bh"], "join_budget_period": [1]})
    month = dt.date(2018, 6, 1)
    rows = pd.DataFrame({"member_id": [f"M{i}" for i in range(10)], "month": month, "cp_id": "BH1",
                         "engaged": [False] * 3 + [True] * 7})
    out = cp_care_coordination(rows, entities, program, pmpm_usd={"cp_bh": 160.0})
    assert out["allotted_usd"].tolist() == [(3 + 7) * 160.0]


@pytest.mark.parametrize("plan,state,recipient,unused", [
    (1_000_000, 700_000, 300_000, 0), (1_100_000, 700_000, 400_000, 0), (900_000, 630_000, 270_000, 70_000)])
def test_technical_assistance_cost_share(plan, state, recipient, unused):
    # Sec 4.6.5: a 30% contribution and a $700,000 PMPM allocation
    got = technical_assistance_split(plan, 700_000, 0.30)
    assert got == pytest.approx((state, recipient, unused), abs=1e-6)
