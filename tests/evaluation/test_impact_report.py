"""The evaluation stage as the midpoint assessment reads it (reports/impact.py) on the tiny synthetic state."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from dsrip_lib.reports import impact
from dsrip_lib.reports.context import open_report


@pytest.fixture(scope="module")
def ctx(tiny_data):
    return open_report(impact.ImpactOptions, program="masshealth_dsrip", data_dir=tiny_data, data_validated=True)


@pytest.fixture(scope="module")
def run(ctx):
    return impact.impact_run(ctx, ctx.options)


def test_every_frame_is_filled_and_holds_no_member(run):
    frames = {f.name: getattr(run, f.name) for f in dataclasses.fields(run)
              if isinstance(getattr(run, f.name), pd.DataFrame)}
    assert set(frames) >= {"estimates", "placebo", "naive", "event_study", "oe", "balance", "shares", "churn", "covid"}
    for name, frame in frames.items():
        assert len(frame) and "member" not in frame.columns and "member_id" not in frame.columns, name
    assert (run.estimates["mde"] > 0).all() and (run.estimates["low"] < run.estimates["high"]).all()
    assert set(run.naive["comparison"]) == {"pre_post", "cross_section"}


def test_covid_years_are_flagged_only_when_in_the_data(ctx, run):
    assert run.covid_years == (2020,) and set(run.covid["outcome"]) == set(run.estimates["outcome"])
    # without 2020 the estimates differ from those with every year
    assert not run.covid["relative"].equals(run.estimates["relative"])
    none = impact.impact_run(ctx, ctx.options.model_copy(update={"covid_years": (2030,)}))
    assert none.covid is None and none.covid_years == ()
