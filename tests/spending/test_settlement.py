"""Shared-savings settlement (dsrip_lib/spending/settlement.py): hand-computed cases to the cent.

The rules are built here, not read from params/program/ct_pcmh_plus.yaml (whose values are
illustrative), except where a test is about that program.
"""

from __future__ import annotations

import pandas as pd
import pytest

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.program import load_program
from dsrip_lib.program.settlement import Settlement
from dsrip_lib.spending.settlement import care_coordination_addon_usd, compare_programs, settle
from tests.boundaries import check_boundary

BASE = {
    "participating_entity_types": ["fqhc", "advanced_network"],
    "eligible_population": {"exclude_dual_eligible": True},
    "minimum_savings_rate": {"fixed": 0.02},
    "sharing_rate": 0.5,
}


def rules(**changes) -> Settlement:
    return Settlement.model_validate({**BASE, **changes})


def entity(entity_id="E1", benchmark=500.0, actual=480.0, months=12_000, members=1_000, addon=0.0, **extra):
    return {"entity_id": entity_id, "benchmark_pmpm": benchmark, "actual_pmpm": actual, "member_months": months,
            "attributed_members": members, "addon_payments_usd": addon, **extra}


def one(row: dict, settlement: Settlement, **kwargs) -> pd.Series:
    return settle(pd.DataFrame([row]), settlement, **kwargs).entities.iloc[0]


def test_hand_computed_upside_only_settlement():
    # B = 500 x 12,000 = $6,000,000; A = 480 x 12,000 = $5,760,000; S = $240,000 = 4% >= 2% MSR;
    # shared = 50% x 240,000 = $120,000 (cap 10% x B = $600,000 does not bind).
    row = one(entity(), rules(cap_share_of_benchmark=0.10))
    assert (row.benchmark_usd, row.actual_usd, row.savings_usd) == (6_000_000.00, 5_760_000.00, 240_000.00)
    assert row.savings_rate == pytest.approx(0.04)
    assert row.msr == 0.02 and row.passes_msr and row.quality_gate_met
    assert row.shared_savings_usd == 120_000.00 and row.net_of_addon_usd == 120_000.00
    assert row.losses_owed_usd == 0.0 and row.total_payment_usd == 120_000.00


def test_cents_are_exact_for_awkward_pmpms():
    # B = 333.33 x 7 = $2,333.31; A = 301.17 x 7 = $2,108.19; S = $225.12 (9.648%); shared 37% = $83.2944 -> $83.29.
    row = one(entity(benchmark=333.33, actual=301.17, months=7, members=7), rules(sharing_rate=0.37))
    assert (row.benchmark_usd, row.actual_usd, row.savings_usd) == (2_333.31, 2_108.19, 225.12)
    assert row.shared_savings_usd == 83.29


def test_savings_exactly_at_the_msr_pass_where_floats_say_otherwise():
    # B = 333.30 x 1,000 = $333,300.00; A = 326.634 x 1,000 = $326,634.00; S = $6,666.00 = exactly 2%.
    # In floating point (333.3 - 326.634) / 333.3 = 0.01999999999999999 < 0.02.
    assert (333.3 - 326.634) / 333.3 < 0.02
    row = one(entity(benchmark=333.30, actual=326.634, months=1_000), rules())
    assert row.passes_msr and row.shared_savings_usd == 3_333.00
    below = one(entity(benchmark=333.30, actual=326.63401, months=1_000), rules())  # one cent less saved
    assert below.savings_usd == 6_665.99 and not below.passes_msr and below.shared_savings_usd == 0


@pytest.mark.parametrize("msr", [0.02, 0.039, 0.1, "0.027"])
def test_msr_boundary_in_cents(msr):
    settlement = rules(minimum_savings_rate={"fixed": float(msr)})

    def passes(part_cents: int, whole_cents: int) -> bool:
        row = entity(benchmark=whole_cents / 100, actual=(whole_cents - part_cents) / 100, months=1, members=1)
        return bool(one(row, settlement).passes_msr)

    check_boundary(passes, msr, inclusive=True, wholes=(5, 7, 100, 1_000, 12_345, 10**9 + 7))


def test_sliding_msr_by_attributed_population():
    sliding = {"sliding": [{"min_attributed": 5000, "rate": 0.039}, {"min_attributed": 10000, "rate": 0.03},
                           {"min_attributed": 60000, "rate": 0.02}]}
    settlement = rules(minimum_savings_rate=sliding)
    frame = pd.DataFrame([entity("small", members=5_000, actual=481.0), entity("mid", members=9_999, actual=481.0),
                          entity("large", members=60_000, actual=481.0)])
    out = settle(frame, settlement).entities.set_index("entity_id")
    assert out["msr"].to_dict() == {"small": 0.039, "mid": 0.039, "large": 0.02}
    # S = 19/500 = 3.8%: under 3.9%, over 2%.
    assert out["passes_msr"].to_dict() == {"small": False, "mid": False, "large": True}
    with pytest.raises(InputValidationError, match=r"attributed_members: below 5000.*'tiny'"):
        settle(pd.DataFrame([entity("tiny", members=4_999)]), settlement)


def test_losses_under_upside_only_owe_nothing():
    row = one(entity(actual=600.0), rules())
    assert row.savings_usd == -1_200_000.00 and row.savings_rate == pytest.approx(-0.2)
    assert row.losses_owed_usd == 0.0 and row.shared_savings_usd == 0.0 and row.total_payment_usd == 0.0


def test_two_sided_losses_against_the_minimum_loss_rate_and_the_loss_cap():
    settlement = rules(losses={"minimum_loss_rate": 0.02, "sharing_rate": 0.4, "cap_share_of_benchmark": 0.05})
    # loss 1.5% of B: under the MLR, nothing owed
    assert one(entity(actual=507.5), settlement).losses_owed_usd == 0.0
    # loss exactly 2% of B ($120,000): owed 40% = $48,000
    assert one(entity(actual=510.0), settlement).losses_owed_usd == 48_000.00
    # loss 20% of B ($1,200,000): 40% = $480,000 capped at 5% x $6,000,000 = $300,000
    capped = one(entity(actual=600.0), settlement)
    assert capped.losses_owed_usd == 300_000.00 and capped.shared_savings_usd == 0.0


def test_cap_binds():
    # S = 30% of B = $1,800,000; 50% = $900,000 capped at 10% x $6,000,000 = $600,000.
    row = one(entity(actual=350.0), rules(cap_share_of_benchmark=0.10))
    assert row.shared_savings_usd == 600_000.00


def test_sharing_only_above_the_msr():
    # S = $240,000, MSR 2% x B = $120,000: 50% of $120,000 = $60,000.
    assert one(entity(), rules(share_from_first_dollar=False)).shared_savings_usd == 60_000.00


def test_quality_gate_and_quality_scaled_sharing():
    settlement = rules(quality_gate={"minimum_score": 0.6, "scale_sharing": True})
    passed = one(entity(quality_score=0.8), settlement)
    assert passed.sharing_rate == pytest.approx(0.4) and passed.shared_savings_usd == 96_000.00
    at_gate = one(entity(quality_score=0.6), settlement)
    assert at_gate.quality_gate_met and at_gate.shared_savings_usd == 72_000.00
    failed = one(entity(quality_score=0.59), settlement)
    assert not failed.quality_gate_met and failed.passes_msr
    assert failed.shared_savings_usd == 0.0 and failed.withheld_by_gate_usd == 70_800.00  # 0.5 x 0.59 x 240,000
    with pytest.raises(InputValidationError, match="quality gate but no quality_score"):
        settle(pd.DataFrame([entity()]), settlement)
    with pytest.raises(InputValidationError, match=r"quality_score: must be in \[0, 1\]"):
        settle(pd.DataFrame([entity(quality_score=80)]), settlement)


def test_quality_argument_overrides_the_column():
    settlement = rules(quality_gate={"minimum_score": 0.6})
    scores = pd.Series({"E1": 0.2})
    assert not one(entity(quality_score=0.9), settlement, quality=scores).quality_gate_met
    frame = pd.DataFrame({"entity_id": ["E1"], "quality_score": [0.9]})
    assert one(entity(quality_score=0.2), settlement, quality=frame).quality_gate_met


def test_net_of_care_coordination_addon_never_below_zero():
    settlement = rules(net_of_care_coordination_addon=True)
    assert one(entity(addon=54_000.0), settlement).net_of_addon_usd == 66_000.00
    over = one(entity(addon=200_000.0), settlement)
    assert over.shared_savings_usd == 120_000.00 and over.net_of_addon_usd == 0.0
    assert one(entity(addon=54_000.0), rules()).net_of_addon_usd == 120_000.00  # not netted unless the program says


def test_challenge_pool_redistributes_withheld_savings_by_quality_times_members():
    settlement = rules(quality_gate={"minimum_score": 0.5}, challenge_pool=True)
    frame = pd.DataFrame([
        entity("fail", quality_score=0.4),                                # withholds 50% x 240,000 = 120,000
        entity("a", members=1_000, actual=520.0, quality_score=0.8),      # losses, but met the gate: weight 800
        entity("b", members=2_000, quality_score=0.9),                    # weight 1,800
        entity("c", members=300, quality_score=0.5),                      # weight 150
    ])
    result = settle(frame, settlement)
    out = result.entities.set_index("entity_id")
    assert result.pool_usd == 120_000.00 and result.pool_allocated_usd == 120_000.00
    assert result.pool_unallocated_usd == 0.0
    # 120,000 x 800/2,750 = 34,909.0909; x 1,800/2,750 = 78,545.4545; x 150/2,750 = 6,545.4545. Floored
    # to the cent they leave one cent over, which goes to the largest remainder (.45 cents, b and c
    # tie; the smaller entity_id wins, so row order cannot move it): b.
    assert out["challenge_pool_usd"].to_dict() == {"fail": 0.0, "a": 34_909.09, "b": 78_545.46, "c": 6_545.45}
    assert out.loc["b", "total_payment_usd"] == 198_545.46
    assert "challenge pool $120,000.00" in result.summary()


def test_challenge_pool_with_nobody_to_receive_it_stays_with_the_state():
    settlement = rules(quality_gate={"minimum_score": 0.5}, challenge_pool=True)
    result = settle(pd.DataFrame([entity("fail", quality_score=0.1)]), settlement)
    assert result.pool_usd == 120_000.00 and result.pool_allocated_usd == 0.0
    assert result.pool_unallocated_usd == 120_000.00


def test_zero_members_settle_to_zero():
    row = one(entity(months=0, members=0, actual=float("nan")), rules())
    assert (row.benchmark_usd, row.actual_usd, row.savings_usd, row.savings_rate) == (0.0, 0.0, 0.0, 0.0)
    assert not row.passes_msr and row.shared_savings_usd == 0.0


@pytest.mark.parametrize("bad, message", [
    ({"benchmark": float("nan")}, "every entity needs a positive benchmark"),
    ({"benchmark": 0.0}, "every entity needs a positive benchmark"),
    ({"actual": float("nan")}, "actual_pmpm: must be a finite number where member_months > 0"),
    ({"months": -1}, "member_months"),
    ({"members": 2.5}, "attributed_members: must be a whole number"),
    ({"addon": -5.0}, "addon_payments_usd"),
])
def test_bad_entities_are_named(bad, message):
    frame = pd.DataFrame([entity("good"), entity("nobench", **bad)])
    with pytest.raises(InputValidationError, match=message) as info:
        settle(frame, rules())
    assert "nobench" in str(info.value) and "'good'" not in str(info.value)


def test_missing_column_and_duplicate_entity():
    with pytest.raises(InputValidationError, match="missing column"):
        settle(pd.DataFrame([entity()]).drop(columns="addon_payments_usd"), rules())
    with pytest.raises(InputValidationError, match="entity_id: must be unique"):
        settle(pd.DataFrame([entity(), entity()]), rules())


def test_a_program_without_settlement_is_refused_by_name():
    with pytest.raises(ParameterError, match="no 'settlement' block"):
        settle(pd.DataFrame([entity()]), load_program("masshealth_dsrip"))


def _varied_frame() -> pd.DataFrame:
    return pd.DataFrame([
        entity("a", 512.37, 470.11, 13_579, 1_200, 2_000.0, quality_score=0.81),
        entity("b", 433.10, 452.99, 24_000, 2_100, 0.0, quality_score=0.66),
        entity("c", 301.55, 280.00, 5_431, 480, 900.0, quality_score=0.42),
        entity("d", 620.00, 590.25, 60_123, 5_100, 0.0, quality_score=0.93),
    ])


def test_scaling_every_pmpm_scales_dollars_and_keeps_rates():
    settlement = rules(quality_gate={"minimum_score": 0.5, "scale_sharing": True}, cap_share_of_benchmark=0.1,
                       challenge_pool=True, losses={"minimum_loss_rate": 0.01, "sharing_rate": 0.3,
                                                    "cap_share_of_benchmark": 0.04})
    frame = _varied_frame()
    base = settle(frame, settlement).entities
    k = 3
    scaled = settle(frame.assign(benchmark_pmpm=frame["benchmark_pmpm"] * k, actual_pmpm=frame["actual_pmpm"] * k,
                                 addon_payments_usd=frame["addon_payments_usd"] * k), settlement).entities
    for column in ("savings_rate", "msr", "passes_msr", "quality_gate_met", "sharing_rate"):
        assert scaled[column].tolist() == pytest.approx(base[column].tolist()), column
    for column in ("benchmark_usd", "actual_usd", "savings_usd", "shared_savings_usd", "net_of_addon_usd",
                   "losses_owed_usd"):
        # each amount is rounded to the cent once, so k x a rounded amount is within k/2 cents
        assert scaled[column].to_numpy() == pytest.approx(k * base[column].to_numpy(), abs=k * 0.005 + 1e-9), column
    # a pool share is a share of a sum of rounded amounts, rounded again (largest remainder: < 1 cent)
    pool_tolerance = k * (0.005 * len(frame) + 0.01)
    assert scaled["challenge_pool_usd"].to_numpy() == pytest.approx(k * base["challenge_pool_usd"].to_numpy(),
                                                                    abs=pool_tolerance)
    assert base["losses_owed_usd"].gt(0).any() and base["challenge_pool_usd"].gt(0).any()


def test_row_order_does_not_change_any_entitys_settlement():
    settlement = rules(quality_gate={"minimum_score": 0.5}, challenge_pool=True)
    frame = pd.concat([_varied_frame(), pd.DataFrame([entity("e", members=1_200, quality_score=0.81)])])
    forward = settle(frame, settlement).entities.set_index("entity_id").sort_index()
    backward = settle(frame.iloc[::-1], settlement).entities.set_index("entity_id").sort_index()
    pd.testing.assert_frame_equal(forward, backward[forward.columns])


def test_care_coordination_addon_goes_to_fqhcs_only():
    program = load_program("ct_pcmh_plus")
    entities = pd.DataFrame({"entity_type": ["fqhc", "advanced_network"], "member_months": [1_000, 1_000]})
    pmpm = program.settlement.care_coordination_addon.pmpm_usd
    assert care_coordination_addon_usd(entities, program).tolist() == [round(1_000 * pmpm, 2), 0.0]


def test_both_programs_side_by_side_on_exhibit_39():
    # Sec 5.3.2, Exhibit 39: benchmark $500 PMPM; performance $490 (savings, 100%), $550 (0%), $520 (20%).
    masshealth, pcmh = load_program("masshealth_dsrip"), load_program("ct_pcmh_plus")
    frame = pd.DataFrame([entity(f"s{n}", 500.0, actual, 12_000, 1_000, 0.0, quality_score=0.9, budget_period=3)
                          for n, actual in ((1, 490.0), (2, 550.0), (3, 520.0))])
    variation = pd.DataFrame({"entity_id": ["s1", "s2", "s3"], "pvalue": [0.2, 0.9, 0.7], "savings_usd": [0, 0, 0]})
    both = compare_programs(frame, masshealth, pcmh, variation=variation).set_index("entity_id")
    assert both["tcoc_component"].tolist() == pytest.approx([1.0, 0.0, 0.2])
    assert both["savings_usd"].tolist() == [120_000.00, -600_000.00, -240_000.00]  # from settle, not variation
    # Under PCMH+ savings of 2% miss the illustrative 3.9% MSR; losses are never repaid (upside-only).
    assert not both["passes_msr"].any() and both["total_payment_usd"].eq(0).all()
    assert both["losses_owed_usd"].eq(0).all() and both["pvalue"].tolist() == [0.2, 0.9, 0.7]
    with pytest.raises(InputValidationError, match="budget_period"):
        compare_programs(frame.drop(columns="budget_period"), masshealth, pcmh)
