"""ILLUSTRATIVE actuals of the Connecticut SIM driver diagram (the contract's optional ``target_actuals``).

The synthetic state is a MassHealth state; these rows only let the default run show the
driver-diagram tracker (option ``driver_diagram`` of the targets report). They are made up, not
Connecticut's: every numbered target of PIP, PY1 and PY2 is reported two months after its period
ends, a little above the target (counts +10%, shares +2 points), with three plants that
``truth.json`` (``effects.target_actuals``) names: one PY2 actual below its target, one PY2
actual never reported, and one PY1 actual first reported below its target and revised above it.
A mid-PY3 report makes PY3 not yet due on the latest reporting date. No random draw: the other
tables do not change.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from dsrip_lib.params import params_dir, read_mapping

DIAGRAM = "ct_sim_driver_diagram"
REPORTED_AFTER_DAYS = 59  # a period's actuals are reported about two months after it ends
COUNT_FACTOR, SHARE_POINTS = 1.1, 0.02
MISSED = ("3.1.1", "PY2", 390_000.0)  # beneficiaries in PCMH+ below the 429,000 target
UNREPORTED = ("2.1.4", "PY2")  # fully-insured employers adopting VBID: no actual
REVISED = ("2.1.3", "PY1", 25.0)  # self-insured employers: first 25 (< 30), then revised
MID_PY3 = ("3.1.1", "PY3", 400_000.0, dt.date(2018, 7, 31))  # a partial report during PY3


def _measures(diagram: dict):
    for driver in diagram["primary_drivers"]:
        for secondary in driver["secondary_drivers"]:
            yield from secondary["measures"]


def target_actuals() -> tuple[pd.DataFrame, dict]:
    """The table and its truth: the diagram, the latest reporting date, the planted cells."""
    diagram = read_mapping(params_dir() / "targets" / f"{DIAGRAM}.yaml", "driver diagram")
    reported = {p: span["end"] + dt.timedelta(days=REPORTED_AFTER_DAYS) for p, span in diagram["periods"].items()}
    rows = []
    for measure in _measures(diagram):
        share = measure.get("unit") == "share"
        for period in ("PIP", "PY1", "PY2"):
            target = measure["targets"][period]
            if isinstance(target, str) or (measure["id"], period) == UNREPORTED:
                continue
            value = min(1.0, target + SHARE_POINTS) if share else float(math.ceil(target * COUNT_FACTOR))
            if (measure["id"], period) == MISSED[:2]:
                value = MISSED[2]
            rows.append((measure["id"], period, value, reported[period]))
    revised_at = reported[REVISED[1]]
    rows.append((REVISED[0], REVISED[1], REVISED[2], revised_at - dt.timedelta(days=REPORTED_AFTER_DAYS // 2)))
    rows.append(MID_PY3)
    frame = pd.DataFrame(rows, columns=["measure_id", "period", "value", "as_of"])
    truth = {"illustrative": True, "diagram": DIAGRAM, "as_of": max(frame["as_of"]).isoformat(),
             "missed": list(MISSED[:2]), "unreported": list(UNREPORTED), "revised": list(REVISED[:2])}
    return frame, truth
