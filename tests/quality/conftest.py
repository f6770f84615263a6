"""Fixtures of the ACO scoring tests: the program with a known minimum denominator, and benchmarks for it."""

from __future__ import annotations

import pytest
from aco_cases import benchmarks_for, scoring_program


@pytest.fixture(scope="session")
def prog(program):
    """The program with ``measure_benchmarks.minimum_denominator`` = ``aco_cases.MINIMUM``."""
    return scoring_program(program)


@pytest.fixture(scope="session")
def bench(prog):
    """A threshold and benchmark for every benchmarked ACO measure and pay-for-performance period."""
    return benchmarks_for(prog)
