"""Appendix C, step 2: an actual reduction of 0.9% against BP 4's 1.1% target scores 64%, through the chain.

MassHealth DSRIP Protocol, Appendix C step 2 (lines 2620-2660) and Exhibit A3 (= Exhibit 27):
"assume that the State's Actual Reduction is 0.9% in BP 4, which is roughly 82% of the Reduction
Target ... the State receives an accountability domain score of 64%". The spending chain is fed
PMPM cells whose ACO population spends 0.9% less than the trended CY2017 PMPM in CY2021 (BP 4).
"""

from __future__ import annotations

import pandas as pd
import pytest

from dsrip_lib.spending.growth import spending_growth
from tests.spending.test_growth import COLUMNS, cell


def test_appendix_c_step_2_through_the_spending_chain(program):
    base, mm = 500.0, 10_000
    trended = base * 1.044 ** 4
    actual = trended * (1 - 0.009)
    cells = pd.DataFrame([
        cell(2017, "base_families", eligible=(mm, base * mm, float(mm))),
        cell(2021, "base_families", eligible=(mm, 1.0, float(mm))),
        cell(2021, "base_families", "A1", in_aco=(mm, actual * mm, float(mm))),
    ], columns=COLUMNS)
    row = spending_growth(cells, program).summary_table.iloc[0]
    assert (row.year, row.budget_period, row.target) == (2021, 4, pytest.approx(0.011))
    assert row.percent_reduction == pytest.approx(0.009, abs=1e-12)
    assert row.percent_reduction / row.target == pytest.approx(0.818, abs=5e-4)  # "roughly 82%"
    # (0.9% - 0.55%) / (1.1% - 0.55%) = 7/11 = 63.64%, published rounded as 64% (D4)
    assert row.score == pytest.approx(7 / 11, abs=1e-9)
    assert round(row.score, 2) == 0.64
