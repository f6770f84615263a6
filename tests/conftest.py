"""Shared fixtures: synthetic data is made by the generator, never read from an unshipped file."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# CI explores the same examples every run (a red CI must be reproducible); locally, new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def program():
    """The MassHealth DSRIP program definition (params/program/masshealth_dsrip.yaml)."""
    from dsrip_lib.program import load_program

    return load_program()


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """The tiny synthetic state (a few thousand members), generated once per test session."""
    from dsrip_lib.synth import generate

    return generate(profile="tiny", seed=7, out=tmp_path_factory.mktemp("synth") / "tiny")


@pytest.fixture(scope="session")
def small_state(tmp_path_factory):
    """The small synthetic state (30,000 members, 17 ACOs) with the default run's seed, generated once."""
    from dsrip_lib.synth import generate

    return generate(profile="small", seed=2017, out=tmp_path_factory.mktemp("synth") / "small_state")
