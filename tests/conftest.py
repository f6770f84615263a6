"""Shared fixtures: synthetic data is made by the generator, never read from an unshipped file."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    """The tiny synthetic state (a few thousand members), generated once per test session."""
    from dsrip_lib.synth import generate

    return generate(profile="tiny", seed=7, out=tmp_path_factory.mktemp("synth") / "tiny")
