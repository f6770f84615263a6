"""Claim volume of the synthetic state: services split into the lines of a real extract
(dsrip_lib.synth.claims.split_lines), calibrated by service category, with every cost and event
count as before the split."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from dsrip_lib.inputs.codes import EMERGENCY, INPATIENT, SERVICE_CATEGORIES
from dsrip_lib.synth import entity_tables
from dsrip_lib.synth.claims import Claims, simulate_claims, split_lines
from dsrip_lib.synth.config import Config
from dsrip_lib.synth.entities import build_world
from dsrip_lib.synth.population import simulate_block

# Public figures ([S6] of docs/synthetic_data.md): 11.4 prescriptions per Medicaid enrollee in
# FY2017 and 9.4 in FY2022 (KFF); a real extract carries roughly 30-50 lines per member-year.
PHARMACY_PER_MEMBER_YEAR = (9.0, 14.0)
LINES_PER_MEMBER_YEAR = (30.0, 50.0)


def _claims_of_first_block(cfg: Config, seed: int):
    """The first member block's claims as the generator makes them (same random streams)."""
    seeds = np.random.SeedSequence(seed).spawn(2 + cfg.profile.n_blocks)
    world = build_world(cfg, np.random.default_rng(seeds[0]))
    plants = entity_tables.choose_plants(world)
    rng = np.random.default_rng(seeds[2])
    block = simulate_block(cfg, world, rng, 0, min(cfg.profile.block_size, cfg.profile.members))
    claims, _ = simulate_claims(cfg, world, rng, block, plants.losing_aco)
    return cfg.calendar.first_year + claims.month // 12, claims


def _one_line_per_service(cfg: Config) -> Config:
    costs = {**cfg.costs, "lines_per_service": {s: 1.0 for s in SERVICE_CATEGORIES}}
    return dataclasses.replace(cfg, calibration={**cfg.calibration, "costs": costs})


@pytest.fixture(scope="module")
def before_after():
    """The tiny profile's claims, seed 7: unsplit (one line per service: the generator's services
    as they were before lines were calibrated) and split, as frames."""
    cfg = Config.load("tiny")
    out = []
    for c in (_one_line_per_service(cfg), cfg):
        year, claims = _claims_of_first_block(c, 7)
        out.append(pd.DataFrame({"row": claims.row, "year": year, "date": claims.service_date,
                                 "provider": claims.provider, "category": claims.category,
                                 "visit": claims.visit, "exclusion": claims.exclusion,
                                 "cents": np.round(claims.amount * 100).astype(np.int64)}))
    return out


def test_split_keeps_every_member_year_cost_to_the_cent(before_after):
    before, after = before_after
    assert len(after) > 3 * len(before)
    keys = ["row", "year", "category", "exclusion"]
    pd.testing.assert_series_equal(before.groupby(keys)["cents"].sum(), after.groupby(keys)["cents"].sum())
    assert (after["cents"] >= 0).all()


def test_split_keeps_visits_and_stays_as_distinct_dates(before_after):
    before, after = before_after
    events = {"visits": lambda d: d[d["visit"]],
              "emergency": lambda d: d[d["category"] == SERVICE_CATEGORIES.index(EMERGENCY)],
              "admissions": lambda d: d[d["category"] == SERVICE_CATEGORIES.index(INPATIENT)]}
    for name, pick in events.items():
        per_member = [pick(d).groupby("row")["date"].nunique() for d in (before, after)]
        pd.testing.assert_series_equal(*per_member, obj=name)
    # plurality attribution counts flagged lines per member and PCP: only the E&M line is flagged
    flagged = [d[d["visit"]].groupby(["row", "provider"]).size() for d in (before, after)]
    pd.testing.assert_series_equal(*flagged)


def test_lines_per_member_year_by_category_match_public_figures(tiny_data):
    claims = pq.read_table(tiny_data / "claims.parquet").to_pandas()
    member_years = pq.read_table(tiny_data / "enrollment.parquet").num_rows / 12
    per_category = claims.groupby("service_category").size() / member_years
    low, high = LINES_PER_MEMBER_YEAR
    assert low <= len(claims) / member_years <= high
    low, high = PHARMACY_PER_MEMBER_YEAR
    assert low <= per_category["pharmacy"] <= high
    services = claims.groupby("service_category")[["member_id", "service_date"]].apply(
        lambda d: len(d.drop_duplicates()))
    per_service = claims.groupby("service_category").size() / services
    # many lines per stay (revenue codes), a few per professional visit (procedure codes)
    assert per_service[INPATIENT] >= 8
    assert 1.5 <= per_service["primary_care"] <= 3
    assert (per_service[["outpatient", "emergency"]] >= 3).all()


def test_split_lines_adds_up_in_cents_with_one_flagged_line_per_visit():
    cfg = Config.load("tiny")
    n = 6
    pc = SERVICE_CATEGORIES.index("primary_care")
    services = Claims(row=np.arange(n), month=np.zeros(n, dtype=np.int64),
                      service_date=np.full(n, np.datetime64("2019-03-04")), provider=np.arange(n),
                      category=np.array([pc, pc, SERVICE_CATEGORIES.index(INPATIENT)] * 2),
                      visit=np.array([True, False, False] * 2),
                      amount=np.array([0.0, 0.01, 12345.67, 99.99, 150.0, 0.03]),
                      exclusion=np.full(n, -1), expected=np.zeros((n, 1)))
    lines = split_lines(cfg, np.random.default_rng(3), services)
    cents = np.round(lines.amount * 100).astype(np.int64)
    assert (cents >= 0).all()
    np.testing.assert_array_equal(np.bincount(lines.row, cents, minlength=n).astype(np.int64),
                                  np.round(services.amount * 100).astype(np.int64))
    np.testing.assert_array_equal(np.bincount(lines.row[lines.visit], minlength=n), services.visit.astype(int))
    assert np.bincount(lines.row)[2] > 1 and (lines.service_date == services.service_date[0]).all()
