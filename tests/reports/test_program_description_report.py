"""The program_description report: both programs side by side, unanswered lists, counts, end to end without data."""

from __future__ import annotations

import json

import openpyxl
import pytest
import yaml

from dsrip_lib.errors import ParameterError
from dsrip_lib.reports import program_description as report
from dsrip_lib.run import runner

BOTH = ["masshealth_dsrip", "ct_pcmh_plus"]


@pytest.fixture(scope="module")
def run():
    return report.describe_all(report.open_description_report(program="masshealth_dsrip", options={"programs": BOTH}))


def test_the_run_s_program_is_the_default():
    ctx = report.open_description_report(program="ct_pcmh_plus", data_dir="no/such/dir")  # reads no data
    assert [p.name for p in ctx.programs] == ["ct_pcmh_plus"]


@pytest.mark.parametrize("options, message", [
    ({"programs": ["masshealth_dsrip", "masshealth_dsrip"]}, "share a name"),
    ({"programs": []}, "options.programs"),
    ({"program": ["masshealth_dsrip"]}, "options.program"),
    ({"programs": ["no_such_program"]}, "no_such_program"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(ParameterError, match=message):
        report.open_description_report(program="masshealth_dsrip", options=options)


def test_section_tables_put_the_programs_side_by_side(run):
    for section in run.toolkit.sections:
        table = report.section_table(run, section.key)
        assert list(table.columns) == ["question", *BOTH]
        assert table["question"].str.contains(": ").all()
        assert len(table) == len(run.toolkit.in_section(section.key))
        assert not table.isna().any().any()
        for name in BOTH:
            answers = run.answers[name]
            assert table[name].to_list() == answers.loc[answers["section"] == section.key, "answer"].to_list()


def test_unanswered_tables_and_counts_agree(run):
    counts = report.completeness_table(run)
    values = report.completeness_values(run)
    for program in run.programs:
        unanswered = report.unanswered_table(run, program.name)
        total = counts[(counts["program"] == program.title) & (counts["section"] == "All sections")].iloc[0]
        assert len(unanswered) == total["unanswered"] == values[f"{program.name}.unanswered_count"][0]
        assert total["answered"] + total["unanswered"] == total["questions"] == len(run.toolkit.questions)
        per_section = sum(values[f"{program.name}.{s.key}.unanswered_count"][0] for s in run.toolkit.sections)
        assert per_section == total["unanswered"]
    assert counts["answered_share"].between(0, 1).all() and not counts.isna().any().any()


def test_report_end_to_end_for_both_programs_without_data(tmp_path):
    empty = tmp_path / "no_data"
    empty.mkdir()
    params = tmp_path / "d.yaml"
    params.write_text(yaml.safe_dump({"run_id": "d", "data_dir": str(empty), "reports_dir": str(tmp_path / "r"),
                                      "options": {"program_description": {"programs": BOTH}}}))
    html = runner.run_notebook("program_description", params, {})
    values = json.loads(html.with_name("program_description.results.json").read_text())
    direct = report.completeness_values(
        report.describe_all(report.open_description_report(program="masshealth_dsrip", options={"programs": BOTH})))
    assert {k: v["value"] for k, v in values.items()} == {k: v for k, (v, _) in direct.items()}
    text = html.read_text()
    for heading in ("Program design", "Quality strategy", "Payment methodology", "Unanswered questions",
                    "Completeness", "UNANSWERED", "Connecticut PCMH+"):
        assert heading in text
    sheets = openpyxl.load_workbook(html.with_name("program_description.xlsx")).sheetnames
    assert {"program design", "quality strategy", "payment methodology", "completeness",
            "unanswered masshealth_dsrip", "unanswered ct_pcmh_plus"} <= set(sheets)
    manifest = json.loads(html.with_name("manifest.json").read_text())
    assert manifest["validation"] is None  # a report reading no data does not validate the data directory
