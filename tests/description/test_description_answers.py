"""Answers come from the program definition: both programs, numbers quoted, a removed rule goes unanswered."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import yaml

from dsrip_lib.description import UNANSWERED, completeness, describe, load_toolkit
from dsrip_lib.params import params_dir
from dsrip_lib.program import load_program


@pytest.fixture(scope="module")
def toolkit():
    return load_toolkit()


def _unanswered(frame) -> set[str]:
    return set(frame.loc[~frame["answered"], "id"])


def _answer(frame, question_id: str) -> str:
    return frame.set_index("id").loc[question_id, "answer"]


def _percentages(text: str) -> list[Decimal]:
    """Every percentage written in a text, as an exact fraction (4.4% -> Decimal('0.044'))."""
    return [Decimal(x) / 100 for x in re.findall(r"(\d+(?:\.\d+)?)%", text)]


def _d(value: float) -> Decimal:
    """A program value as the decimal it is written as in the YAML."""
    return Decimal(str(value))


@pytest.mark.parametrize("name", ["masshealth_dsrip", "ct_pcmh_plus"])
def test_both_programs_answer_every_question_or_say_why_not(name, toolkit):
    frame = describe(load_program(name), toolkit)
    assert list(frame["id"]) == [q.id for q in toolkit.questions]
    answered = frame[frame["answered"]]
    assert len(answered) > 0 and (answered["answer"] != UNANSWERED).all() and (answered["fields"] != "").all()
    unanswered = frame[~frame["answered"]]
    assert (unanswered["answer"] == UNANSWERED).all() and (unanswered["reason"] != "").all()
    assert not frame["answer"].str.contains(r"\bnan\b|\binf\b", case=False).any()
    assert not frame["answer"].str.contains(r"\bNone\b|\[|\{").any()  # no Python value leaks into prose
    counts = completeness(frame, toolkit)
    assert counts.iloc[-1]["questions"] == len(toolkit.questions)
    assert counts.iloc[-1]["answered"] == len(answered) and counts.iloc[-1]["unanswered"] == len(unanswered)
    assert (counts["answered"] + counts["unanswered"] == counts["questions"]).all()


def test_the_programs_differ_where_their_models_differ(toolkit):
    mh = describe(load_program("masshealth_dsrip"), toolkit)
    ct = describe(load_program("ct_pcmh_plus"), toolkit)
    # MassHealth has no shared-savings settlement; PCMH+ has no spending block, trend or installments.
    assert {"savings_net_of_payments", "savings_share"} <= _unanswered(mh)
    assert {"savings_payment_frequency", "trend_rate", "baseline_exclusions"} <= _unanswered(ct)
    assert "savings_share" not in _unanswered(ct) and "trend_rate" not in _unanswered(mh)
    # The same question answered from alternative fields in each program.
    assert "claims plurality" in _answer(ct, "savings_attribution")
    assert "by enrollment" in _answer(mh, "savings_attribution")
    assert "risk corridors" in _answer(mh, "risk_arrangement")
    assert "Shared savings at" in _answer(ct, "risk_arrangement")


def test_answers_quote_the_program_s_numbers(toolkit):
    mh_program, ct_program = load_program("masshealth_dsrip"), load_program("ct_pcmh_plus")
    mh, ct = describe(mh_program, toolkit), describe(ct_program, toolkit)
    assert _percentages(_answer(mh, "trend_rate")) == [_d(mh_program.state_accountability.spending_growth.trend_rate)]
    installments = re.search(r"paid in (\d+) installments", _answer(mh, "savings_payment_frequency"))
    assert int(installments.group(1)) == mh_program.aco_payments.installments_per_budget_period
    lookback = re.search(r"(\d+)-month look-back", _answer(ct, "savings_attribution"))
    assert int(lookback.group(1)) == ct_program.attribution.plurality_lookback_months
    settlement = ct_program.settlement
    assert _percentages(_answer(ct, "savings_share"))[0] == _d(settlement.sharing_rate)
    assert _percentages(_answer(ct, "risk_arrangement")) == [_d(settlement.sharing_rate),
                                                             _d(settlement.cap_share_of_benchmark)]
    assert _percentages(_answer(ct, "savings_quality_gate"))[0] == _d(settlement.quality_gate.minimum_score)
    bands = mh_program.partnership_plan_risk_corridors.bands
    quoted = _percentages(_answer(mh, "risk_arrangement"))
    assert {_d(b.state_share_of_gains) for b in bands} | {_d(b.up_to_share) for b in bands[:-1]} <= set(quoted)


def _copy_without(tmp_path, name: str, *keys: str):
    """A copy of a program definition with the dotted ``keys`` removed, loaded through the loader (by path)."""
    raw = yaml.safe_load((params_dir() / "program" / f"{name}.yaml").read_text(encoding="utf-8"))
    for key in keys:
        *parents, leaf = key.split(".")
        block = raw
        for part in parents:
            block = block[part]
        del block[leaf]
    path = tmp_path / f"{name}_edited.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return load_program(path)


@pytest.mark.parametrize("name, removed, newly_unanswered", [
    ("masshealth_dsrip", "partnership_plan_risk_corridors", {"risk_arrangement"}),
    ("masshealth_dsrip", "spending.truncation", set()),  # the model's default (no truncation) still answers
    ("ct_pcmh_plus", "settlement.care_coordination_addon", {"services_care_coordination", "payment_tiers"}),
    ("ct_pcmh_plus", "settlement.quality_measures", {"quality_metrics", "quality_services_rendered"}),
])
def test_removing_a_rule_leaves_exactly_its_questions_unanswered(tmp_path, toolkit, name, removed, newly_unanswered):
    before = describe(load_program(name), toolkit)
    after = describe(_copy_without(tmp_path, name, removed), toolkit)
    assert _unanswered(after) - _unanswered(before) == newly_unanswered
    assert _unanswered(before) <= _unanswered(after)
    for question in newly_unanswered:
        assert removed in after.set_index("id").loc[question, "reason"]


def test_removing_the_corridors_is_counted_in_the_payment_section(tmp_path, toolkit):
    before = completeness(describe(load_program("masshealth_dsrip"), toolkit), toolkit).set_index("section")
    after = completeness(describe(_copy_without(tmp_path, "masshealth_dsrip", "partnership_plan_risk_corridors"),
                                  toolkit), toolkit).set_index("section")
    assert after.loc["payment_methodology", "unanswered"] == before.loc["payment_methodology", "unanswered"] + 1
    assert after.loc["program_design", "unanswered"] == before.loc["program_design", "unanswered"]
