"""The protocol's worked examples: inputs and published results live in data/examples/<name>.csv."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dsrip_lib.program import load_program

EXAMPLES = Path(__file__).resolve().parents[2] / "data" / "examples"


@pytest.fixture(scope="session")
def example():
    """``example(name)``: data/examples/<name>.csv as a frame, identifiers kept as strings."""

    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(EXAMPLES / f"{name}.csv", dtype={"safety_net": str, "aco_model": str})

    return read


@pytest.fixture(scope="session")
def program():
    return load_program()
