"""Credentials: masked in every message, refused inline, added only where a connection opens."""

from __future__ import annotations

import ibis
import pytest

from dsrip_lib.credentials import PASSWORD_ENV, inline_secrets, mask, with_password
from dsrip_lib.errors import ParameterError
from dsrip_lib.inputs.dataset import connect
from dsrip_lib.run.parameters import RunParams


@pytest.mark.parametrize(("text", "shown"), [
    ("postgres://analyst:s3cret@warehouse/medicaid", "postgres://analyst:***@warehouse/medicaid"),
    ('Cannot open file "/w/duckdb://user:secret@host/db"', 'Cannot open file "/w/duckdb://user:***@host/db"'),
    ("trino://u@h/c?access_token=abc.def&catalog=x", "trino://u@h/c?access_token=***&catalog=x"),
    ("https://acct.blob/c?sv=1&sig=Zm9v%2Bbar", "https://acct.blob/c?sv=1&sig=***"),
    ("duckdb:///data/state.ddb", "duckdb:///data/state.ddb"),
])
def test_mask_hides_url_passwords_and_secret_query_values(text, shown):
    assert mask(text) == shown


def test_mask_hides_the_environment_password_in_any_message(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, "p@ss/word")
    assert mask("login failed for p@ss/word (p%40ss%2Fword)") == "login failed for *** (***)"


def test_inline_secrets_are_found():
    assert inline_secrets("postgres://u:pw@h/db") == ["password"]
    assert inline_secrets("snowflake://u@acct/db?warehouse=w&Token=t") == ["Token"]
    assert inline_secrets("postgres://u@h/db?sslmode=require") == [] and inline_secrets("duckdb") == []


def test_a_backend_url_with_a_password_is_refused_without_echoing_it():
    with pytest.raises(ValueError) as info:
        RunParams.model_validate({"run_id": "r", "data_dir": ".", "backend": "duckdb://user:secret@host/db"})
    assert PASSWORD_ENV in str(info.value)


def test_the_password_is_added_from_the_environment_only_when_connecting(monkeypatch):
    opened = []
    monkeypatch.setattr(ibis, "connect", lambda url: opened.append(url) or "backend")
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    assert with_password("postgres://analyst@warehouse:5432/medicaid") == (
        "postgres://analyst:from-env@warehouse:5432/medicaid")
    assert connect("postgres://analyst@warehouse:5432/medicaid") == "backend"
    assert opened == ["postgres://analyst:from-env@warehouse:5432/medicaid"]
    assert with_password("duckdb:///file.ddb") == "duckdb:///file.ddb"  # no user: nothing to add


def test_a_driver_error_quoting_the_url_is_masked(monkeypatch):
    def refuse(url):
        raise RuntimeError(f"could not connect to {url}")

    monkeypatch.setattr(ibis, "connect", refuse)
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    with pytest.raises(ParameterError) as info:
        connect("postgres://analyst@warehouse/medicaid")
    assert "from-env" not in str(info.value) and "analyst:***@warehouse" in str(info.value)
