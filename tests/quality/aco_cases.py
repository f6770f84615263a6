"""Small hand-made inputs for the ACO scoring tests: a program with known minimum denominator and benchmarks."""

from __future__ import annotations

import pandas as pd

from dsrip_lib.program import Program
from dsrip_lib.program.measures import MeasureBenchmarks

MINIMUM = 30


def scoring_program(program: Program, minimum: int = MINIMUM) -> Program:
    """``program`` with measure benchmarks whose minimum denominator is ``minimum`` (the cells come from frames)."""
    current = program.measure_benchmarks
    benchmarks = (current.model_copy(update={"minimum_denominator": minimum}) if current is not None else
                  MeasureBenchmarks(illustrative=True, source="tests", minimum_denominator=minimum))
    return program.model_copy(update={"measure_benchmarks": benchmarks})


def benchmarks_for(program: Program, kinds=("binomial", "ratio", "engagement", "survey")) -> pd.DataFrame:
    """A threshold and benchmark for every ACO measure of ``kinds`` in each pay-for-performance period.

    Higher is better: 0.40 / 0.80; lower is better: 0.40 / 0.20 (ratio measures: 1.2 / 0.8; survey
    composites, on the 0-100 scale of their scores: 40 / 80).
    """
    rows = []
    for m in program.measures.slate("aco"):
        if m.kind not in kinds:
            continue
        for bp in m.performance_periods:
            if m.kind == "ratio":
                cell = (1.2, 0.8)
            elif m.kind == "survey":
                cell = (40.0, 80.0)
            else:
                cell = (0.40, 0.80) if m.higher_is_better else (0.40, 0.20)
            rows.append(("aco", m.id, bp, *cell))
    return pd.DataFrame(rows, columns=["entity_type", "measure_id", "budget_period", "attainment_threshold",
                                       "excellence_benchmark"])


def result(entity: str, bp: int, measure: str, numerator=None, denominator=None, rate=None, members=None) -> dict:
    """One measure_results row (``eligible_members`` defaults to the denominator)."""
    members = members if members is not None else (denominator if denominator is not None else 100)
    return dict(entity_id=entity, budget_period=bp, measure_id=measure, numerator=numerator, denominator=denominator,
                rate=rate, eligible_members=members)


def results_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["entity_id", "budget_period", "measure_id", "numerator", "denominator", "rate",
                                        "eligible_members"])
    return frame.astype({"numerator": float, "denominator": float, "rate": float})
