"""A passed validation is reused only on the same bytes, program, code and packages; failures are never kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from dsrip_lib.cli import main
from dsrip_lib.errors import InputValidationError
from dsrip_lib.run import runner, validation_cache
from dsrip_lib.run.parameters import load_run_params

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(tiny_data, tmp_path):
    """A private copy of the tiny state, free to be changed."""
    return Path(shutil.copytree(tiny_data, tmp_path / "data"))


def start(tmp_path: Path, data: Path, run_id: str, calls: list, published: bool = True, **more) -> dict:
    """Start a run's record on ``data`` (the attribution report), counting the real validations; then,
    if the run is ``published``, keep its validation as the runner does after publishing."""
    path = tmp_path / f"{run_id}.yaml"
    path.write_text(yaml.safe_dump({"run_id": run_id, "data_dir": str(data), "reports": ["attribution"],
                                    "reports_dir": str(tmp_path / "reports"), **more}), encoding="utf-8")
    params, root = load_run_params(path, {})
    reports = runner.selected_reports(params, path, root)

    def validate(p):
        calls.append(p.run_id)
        return runner.validate_once(p)

    record = runner.start_record(params, path, root, reports, validate)
    if published:
        runner.remember_validation(params, record)
    return record.body


def test_a_second_run_on_the_same_bytes_reuses_the_first_runs_verdict(data, tmp_path):
    calls = []
    first = start(tmp_path, data, "first", calls)
    second = start(tmp_path, data, "second", calls)
    assert calls == ["first"]
    assert "reused_from" not in first["validation"] and first["validation"]["seconds"] > 0
    assert second["validation"]["reused_from"]["run_id"] == "first"
    assert second["validation"]["reused_from"]["seconds"] == first["validation"]["seconds"]
    assert second["validation"]["summary"] == first["validation"]["summary"]
    assert second["data_fingerprint"] == first["data_fingerprint"]


def test_changed_bytes_are_checked_again_and_a_failure_is_not_kept(data, tmp_path):
    calls = []
    start(tmp_path, data, "first", calls)
    entities = data / "entities.parquet"
    frame = pd.read_parquet(entities)
    frame.loc[0, "entity_type"] = "not_a_type"
    frame.to_parquet(entities, index=False)
    for run_id in ("broken", "broken_again"):  # a failing directory is checked, and refused, every time
        with pytest.raises(InputValidationError, match="entity_type"):
            start(tmp_path, data, run_id, calls)
    assert calls == ["first", "broken", "broken_again"]
    assert len(list((tmp_path / "reports" / validation_cache.DIRECTORY).glob("*.json"))) == 1


def test_a_run_that_is_not_published_keeps_nothing(data, tmp_path):
    calls = []
    start(tmp_path, data, "failed", calls, published=False)  # e.g. a report failed: nothing written
    assert not (tmp_path / "reports" / validation_cache.DIRECTORY).exists()
    start(tmp_path, data, "again", calls)
    assert calls == ["failed", "again"]


def test_revalidate_checks_again(data, tmp_path):
    calls = []
    start(tmp_path, data, "first", calls)
    again = start(tmp_path, data, "again", calls, revalidate=True)
    assert calls == ["first", "again"] and "reused_from" not in again["validation"]


def test_another_program_or_changed_library_is_a_new_key(data, tmp_path, monkeypatch):
    calls = []
    start(tmp_path, data, "first", calls)
    program = tmp_path / "program.yaml"
    program.write_text((REPO / "params" / "program" / "masshealth_dsrip.yaml").read_text(encoding="utf-8")
                       + "\n# a comment changes the program file's bytes\n", encoding="utf-8")
    start(tmp_path, data, "other_program", calls, program=str(program))
    monkeypatch.setattr(validation_cache, "library_fingerprint", lambda: "0" * 64)
    start(tmp_path, data, "other_code", calls)
    assert calls == ["first", "other_program", "other_code"]


@pytest.mark.parametrize("damaged", ["{not json", "[]", '{"program": "masshealth_dsrip"}'])
def test_an_unreadable_or_incomplete_verdict_is_checked_again(data, tmp_path, damaged):
    calls = []
    start(tmp_path, data, "first", calls)
    [kept] = (tmp_path / "reports" / validation_cache.DIRECTORY).glob("*.json")
    kept.write_text(damaged, encoding="utf-8")
    start(tmp_path, data, "second", calls)
    assert calls == ["first", "second"]


def test_a_report_reading_no_contract_table_does_not_validate(data, tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({"run_id": "d", "data_dir": str(data), "reports": ["program_description"],
                                    "reports_dir": str(tmp_path / "reports")}), encoding="utf-8")
    params, root = load_run_params(path, {})
    body = runner.start_record(params, path, root, runner.selected_reports(params, path, root),
                               lambda p: pytest.fail("validated")).body
    assert body["validation"] is None
    assert not (tmp_path / "reports" / validation_cache.DIRECTORY).exists()


def test_a_verdict_that_cannot_be_kept_does_not_fail_the_published_run(data, tmp_path):
    calls = []
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / validation_cache.DIRECTORY).write_text("a file where the directory would be")
    start(tmp_path, data, "first", calls)
    start(tmp_path, data, "second", calls)
    assert calls == ["first", "second"]


# -- dsrip validate --params: the check a run would make, kept for the runs --------------------------------


def _run_file(tmp_path: Path, data: Path, run_id: str = "first") -> Path:
    path = tmp_path / f"{run_id}.yaml"
    path.write_text(yaml.safe_dump({"run_id": run_id, "data_dir": str(data), "reports": ["attribution"],
                                    "reports_dir": str(tmp_path / "reports")}), encoding="utf-8")
    return path


def test_validate_command_keeps_its_pass_for_the_first_run(data, tmp_path, capsys):
    assert main(["validate", "--params", str(_run_file(tmp_path, data))]) == 0
    assert "conforms to the data contract" in capsys.readouterr().out
    calls = []
    body = start(tmp_path, data, "first", calls)
    assert calls == []  # the run reuses the command's verdict
    assert body["validation"]["reused_from"]["run_id"] == validation_cache.VALIDATE_COMMAND
    assert main(["validate", "--params", str(_run_file(tmp_path, data))]) == 0
    assert "not checked again: dsrip validate passed the same bytes" in capsys.readouterr().out


def test_validate_command_checks_again_when_asked_and_keeps_no_failure(data, tmp_path, capsys):
    path = _run_file(tmp_path, data)
    assert main(["validate", "--params", str(path)]) == 0
    assert main(["validate", "--params", str(path), "-p", "revalidate=true"]) == 0
    assert "not checked again" not in capsys.readouterr().out
    frame = pd.read_parquet(data / "entities.parquet")
    frame.loc[0, "entity_type"] = "hospital"
    frame.to_parquet(data / "entities.parquet", index=False)
    shutil.rmtree(tmp_path / "reports")
    assert main(["validate", "--params", str(path)]) == 2
    assert "entity_type" in capsys.readouterr().err
    assert not (tmp_path / "reports" / validation_cache.DIRECTORY).exists()


def test_validate_command_takes_a_data_directory_or_a_run_file_not_both(capsys):
    with pytest.raises(SystemExit) as exit_code:
        main(["validate", "--data", "d", "--params", "p"])
    assert exit_code.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "says"), [(["--data", "d", "-p", "x=1"], "give --params"),
                                            (["--params", "p", "--program", "masshealth_dsrip"], "-p program=")])
def test_validate_command_refuses_an_option_of_the_other_source(argv, says, capsys):
    assert main(["validate", *argv]) == 2
    assert says in capsys.readouterr().err
