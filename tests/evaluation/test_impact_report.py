"""The midpoint assessment's impact sections on the tiny synthetic state: tables, figures, generated text."""

from __future__ import annotations

import re

import pytest

from dsrip_lib.reports import impact
from dsrip_lib.reports.context import open_report

NOT_A_NUMBER = re.compile(r"\b(nan|inf|<NA>|NaT)\b")


@pytest.fixture(scope="module")
def ctx(tiny_data):
    return open_report(impact.ImpactOptions, program="masshealth_dsrip", data_dir=tiny_data, data_validated=True)


@pytest.mark.parametrize("section", [impact.did_section, impact.event_study_section, impact.oe_section,
                                     impact.threats_section, impact.ratings_section])
def test_every_section_has_tables_and_numbers_in_its_sentences(ctx, section):
    out = section(ctx, ctx.options)
    assert out.tables and all(len(t) for t in out.tables.values())
    assert out.text and not any(NOT_A_NUMBER.search(t) for t in out.text)
    for table in out.tables.values():
        assert "member_id" not in table.columns and "member" not in table.columns


def test_did_section_states_the_interval_and_mde_and_the_naive_gap(ctx):
    out = impact.did_section(ctx, ctx.options)
    est = out.tables["impact estimates"]
    assert (est["mde"] > 0).all() and (est["low"] < est["high"]).all()
    assert any("naive comparison" in t for t in out.text)
    assert any("interval" in t for t in out.text)


def test_event_study_draws_one_chart_per_outcome_and_threats_flag_covid(ctx):
    es = impact.event_study_section(ctx, ctx.options)
    assert len(es.figures) == 4 and all(alt for _, alt in es.figures.values())
    threats = impact.threats_section(ctx, ctx.options)
    assert "covid sensitivity" in threats.tables
    assert any(t.startswith("COVID: 2020") for t in threats.text)
    none = impact.threats_section(ctx, ctx.options.model_copy(update={"covid_years": (2030,)}))
    assert "covid sensitivity" not in none.tables
