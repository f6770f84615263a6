"""Sec 5.1.1's recoupment example: $100 split by Table F, then between two ACOs by 1 - score.

"ACOs and CPs will need to pay back $66.10 and $33.90 ... ACO 1 would need to pay back $66.10 *
(10% / (10% + 40%)) = $13.22, and ACO 2 ... $52.88." MassHealth DSRIP Protocol, Sec 5.1.1.
"""

from __future__ import annotations

import pandas as pd

from dsrip_lib.payments.recoupment import class_split, recoup


def test_table_f_split_of_100_dollars(program):
    assert class_split(100_00, program) == {"aco": 66_10, "community_partners": 33_90}


def test_two_acos_scoring_90_and_60_percent_pay_13_22_and_52_88(program):
    acos = pd.DataFrame({"entity_id": ["ACO 1", "ACO 2"], "accountability_score": [0.90, 0.60]})
    result = recoup(100_00, acos, None, program)
    paid = result.rows.set_index("entity_id")["recouped_cents"]
    assert paid.to_dict() == {"ACO 1": 13_22, "ACO 2": 52_88}
    assert result.rows["weight"].tolist() == [0.10, 0.40]
