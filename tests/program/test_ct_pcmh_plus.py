"""The second program definition, Connecticut PCMH+ (params/program/ct_pcmh_plus.yaml), and its validation.

What the MQISSP primer states is asserted from the primer's words; illustrative values are
checked only for shape (they are placeholders, docs/methodology/shared_savings.md).
"""

from __future__ import annotations

import copy

import pytest
import yaml

from dsrip_lib.errors import ParameterError
from dsrip_lib.program import load_program, program_path
from dsrip_lib.program.settlement import MinimumSavingsRate


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load(program_path("ct_pcmh_plus").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def pcmh():
    return load_program("ct_pcmh_plus")


def _load_changed(tmp_path, raw, change) -> None:
    data = copy.deepcopy(raw)
    change(data)
    path = tmp_path / "changed.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    load_program(path)


def test_the_program_loads_with_its_own_shape(pcmh):
    assert pcmh.name == "ct_pcmh_plus"
    # no MassHealth exhibit blocks; the settlement block is this program's own
    assert pcmh.funding is None and pcmh.aco_accountability is None and pcmh.settlement is not None
    assert [p.label for p in pcmh.calendar.budget_periods("aco")] == ["PY 1", "PY 2", "PY 3"]
    # primer, timing and participation: the second wave "effective January 1, 2017"
    assert str(pcmh.calendar.budget_period(1).start) == "2017-01-01"


def test_what_the_primer_states(pcmh):
    s = pcmh.settlement
    # target population: PCMH attribution; single-eligible only ("will not include any full or partial dually-eligible")
    assert pcmh.attribution.method == "claims_plurality" and pcmh.attribution.plurality_lookback_months >= 1
    assert s.eligible_population.exclude_dual_eligible is True
    # overview of financial model: upside-only; add-on care coordination payments ONLY to FQHCs
    assert s.upside_only and s.losses is None
    assert s.care_coordination_addon.entity_types == ["fqhc"]
    assert sorted(s.participating_entity_types) == ["advanced_network", "fqhc"]
    # statement of purpose: savings on the condition of meeting quality benchmarks; process steps:
    # measures "including measures of under-service"
    assert s.quality_gate is not None and s.needs_quality
    assert any(m.under_service for m in s.quality_measures)
    assert any(not m.under_service for m in s.quality_measures)


def test_masshealth_has_no_shared_savings_but_has_illustrative_corridors():
    masshealth = load_program("masshealth_dsrip")
    assert masshealth.settlement is None
    bands = masshealth.partnership_plan_risk_corridors.bands
    assert bands[-1].up_to_share is None and len(bands) >= 2
    with pytest.raises(ParameterError, match="no 'settlement' block"):
        masshealth.require("settlement")


def test_the_sliding_msr_follows_the_mssp_table(pcmh):
    # 42 CFR 425.604(b): 3.9% at 5,000-5,999 ... 3.0% at 10,000-14,999, 2.7% at 15,000-19,999, 2.0% at 60,000+.
    msr = pcmh.settlement.minimum_savings_rate
    assert [msr.rate_for(n) for n in (5_000, 5_999, 6_000, 10_000, 14_999, 15_000, 59_999, 60_000, 10**6)] == [
        0.039, 0.039, 0.036, 0.030, 0.030, 0.027, 0.022, 0.020, 0.020]
    assert msr.rate_for(0) == 0.039  # the illustrative extension below MSSP's 5,000
    fixed = MinimumSavingsRate(fixed=0.02)
    assert fixed.rate_for(0) == fixed.rate_for(10**6) == 0.02 and fixed.smallest_population == 0
    table = MinimumSavingsRate(sliding=[{"min_attributed": 5000, "rate": 0.039}])
    with pytest.raises(ValueError, match="below the sliding MSR table's smallest population 5000"):
        table.rate_for(4_999)


@pytest.mark.parametrize("change, key", [
    (lambda d: d["settlement"].update(sharing_rate=1.5), "settlement.sharing_rate"),
    (lambda d: d["settlement"].update(cap_share_of_benchmark=-0.1), "settlement.cap_share_of_benchmark"),
    (lambda d: d["settlement"]["minimum_savings_rate"]["sliding"][2].update(rate=0.037),
     "settlement.minimum_savings_rate.sliding"),
    (lambda d: d["settlement"]["minimum_savings_rate"]["sliding"][2].update(min_attributed=6000),
     "settlement.minimum_savings_rate.sliding"),
    (lambda d: d["settlement"]["minimum_savings_rate"].update(fixed=0.02), "settlement.minimum_savings_rate"),
    (lambda d: d["settlement"].update(minimum_savings_rate={}), "settlement.minimum_savings_rate"),
    (lambda d: d["settlement"].pop("quality_gate"), "settlement"),  # the challenge pool needs a gate
    (lambda d: d["settlement"].update(losses={"minimum_loss_rate": 0.02, "sharing_rate": 1.2,
                                              "cap_share_of_benchmark": 0.05}), "settlement.losses.sharing_rate"),
    (lambda d: d["settlement"]["care_coordination_addon"].update(entity_types=["hospital"]),
     "settlement"),
    (lambda d: d["settlement"]["quality_measures"].append(d["settlement"]["quality_measures"][0]), "settlement"),
    (lambda d: d["settlement"].update(sharing_ratio=0.5), "settlement.sharing_ratio"),
    (lambda d: d["attribution"].pop("plurality_lookback_months"), "attribution"),
])
def test_bad_settlement_parameters_name_the_key(tmp_path, raw, change, key):
    with pytest.raises(ParameterError) as info:
        _load_changed(tmp_path, raw, change)
    lines = str(info.value).splitlines()
    assert any(line.strip().startswith(f"{key}:") for line in lines[1:]), str(info.value)


@pytest.mark.parametrize("bands", [
    [{"up_to_share": 0.05, "state_share_of_gains": 0.5, "state_share_of_losses": 0.5},
     {"up_to_share": 0.03, "state_share_of_gains": 0.9, "state_share_of_losses": 0.9},
     {"up_to_share": None, "state_share_of_gains": 0.9, "state_share_of_losses": 0.9}],
    [{"up_to_share": 0.03, "state_share_of_gains": 0.5, "state_share_of_losses": 0.5}],
    [{"up_to_share": None, "state_share_of_gains": 1.5, "state_share_of_losses": 0.5}],
])
def test_bad_corridor_bands_name_the_key(tmp_path, bands):
    raw = yaml.safe_load(program_path("masshealth_dsrip").read_text(encoding="utf-8"))
    with pytest.raises(ParameterError, match="partnership_plan_risk_corridors.bands"):
        _load_changed(tmp_path, raw, lambda d: d.update(partnership_plan_risk_corridors={"bands": bands}))
