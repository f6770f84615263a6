"""The toolkit's questions: every dotted path names a Program field, typos are errors, not unanswered."""

from __future__ import annotations

import pytest
import yaml

from dsrip_lib.description import load_toolkit
from dsrip_lib.description.fields import is_stated, path_problem, value_at
from dsrip_lib.description.renderers import RENDERERS
from dsrip_lib.errors import ParameterError
from dsrip_lib.program import load_program


@pytest.fixture(scope="module")
def toolkit():
    return load_toolkit()


def test_every_path_of_every_question_names_a_field_of_the_program_model(toolkit):
    paths = {path for q in toolkit.questions for way in q.answers for path in way.paths}
    assert paths and {p: path_problem(p) for p in paths if path_problem(p)} == {}
    assert {way.renderer for q in toolkit.questions for way in q.answers} <= set(RENDERERS)


def test_the_issue_s_shared_savings_questions_are_all_asked(toolkit):
    ids = {q.id for q in toolkit.in_section("payment_methodology")}
    assert {"savings_attribution", "savings_payment_frequency", "savings_net_of_payments", "baseline_exclusions",
            "baseline_calculation", "trend_rate", "risk_adjustment", "risk_arrangement", "savings_calculation",
            "savings_quality_gate", "rebasing", "cost_shifting"} <= ids
    assert [s.key for s in toolkit.sections] == ["program_design", "quality_strategy", "payment_methodology"]


@pytest.mark.parametrize("path, problem", [
    ("settlement.sharing_rates", "no field 'sharing_rates'"),
    ("setlement.sharing_rate", "no field 'setlement'"),
    ("settlement.sharing_rate.low", "holds no fields"),
])
def test_a_path_naming_no_field_is_reported(path, problem):
    assert problem in path_problem(path)


def test_a_typo_in_the_questions_file_is_an_error_naming_question_and_path(tmp_path):
    raw = yaml.safe_load(open(_default_path(), encoding="utf-8"))
    question = next(q for q in raw["questions"] if q["id"] == "risk_arrangement")
    question["answers"][1]["fields"] = ["settlement.sharing_rates"]
    bad = tmp_path / "questions.yaml"
    bad.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ParameterError) as err:
        load_toolkit(bad)
    assert str(bad) in str(err.value) and "risk_arrangement" in str(err.value)
    assert "settlement.sharing_rates" in str(err.value)


def test_an_unknown_renderer_or_section_is_an_error(tmp_path):
    raw = yaml.safe_load(open(_default_path(), encoding="utf-8"))
    raw["questions"][0]["answers"][0]["renderer"] = "no_such_renderer"
    raw["questions"][1]["section"] = "no_such_section"
    bad = tmp_path / "questions.yaml"
    bad.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ParameterError, match="no_such_renderer") as err:
        load_toolkit(bad)
    assert "no_such_section" in str(err.value)


def test_empty_and_absent_values_are_not_stated():
    ct = load_program("ct_pcmh_plus")
    assert value_at(ct, "spending.truncation") is None  # no spending block: absent, not an error
    assert value_at(ct, "settlement.losses") is None
    assert value_at(ct, "settlement.sharing_rate") == ct.settlement.sharing_rate
    assert not is_stated(None) and not is_stated([]) and not is_stated({})
    assert is_stated(False) and is_stated(0) and is_stated(load_program().quality_domains)


def _default_path():
    from dsrip_lib.description.questions import toolkit_path

    return toolkit_path()
