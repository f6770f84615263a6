"""The synthetic state's recorded funding moves (the contract's optional ``funding_moves`` table).

A few moves of the kind the quarterly DSRIP payment account reports to CMS (Sec 4.6, 4.7), with
one planted exception: a statewide-investment shift large enough to need CMS approval recorded
without one, which ``dsrip_lib.payments.moves.review_moves`` must flag (``truth.json``
``effects.unapproved_moves``). Amounts are the State's dollars (the Exhibit 1 and Exhibit 15
scale, not the profile's), so the approval thresholds apply as they would to the real account.
No random draw: the other tables do not change.
"""

from __future__ import annotations

import pandas as pd

STATEWIDE = "statewide_investments"
COLUMNS = ["move_id", "kind", "from_stream", "from_substream", "to_stream", "to_substream", "demonstration_year",
           "amount_usd", "notified_on", "approved_on"]
MOVES = [
    # a carry-forward of technical-assistance funds into the next demonstration year (Sec 4.7)
    ("M001", "carry_forward", STATEWIDE, "technical_assistance", STATEWIDE, "technical_assistance", 2,
     1_200_000.0, "2019-06-14", None),
    # a shift below the larger of 15% of its source and $1M: notice only (Sec 4.6)
    ("M002", "investment_shift", STATEWIDE, "apm_preparation", STATEWIDE, "technical_assistance", 3,
     600_000.0, "2020-03-02", None),
    # a shift above the threshold, approved by CMS
    ("M003", "investment_shift", STATEWIDE, "student_loan_repayment", STATEWIDE, "workforce_development_grants", 4,
     1_500_000.0, "2021-04-30", "2021-05-20"),
]
# planted: a shift above the threshold recorded without CMS approval
UNAPPROVED = ("M004", "investment_shift", STATEWIDE, "technical_assistance", STATEWIDE, "improved_accessibility", 5,
              2_000_000.0, "2022-02-01", None)


def funding_moves() -> tuple[pd.DataFrame, list[str]]:
    """The table and the ids of the planted moves ``review_moves`` must flag."""
    frame = pd.DataFrame([*MOVES, UNAPPROVED], columns=COLUMNS)
    frame["demonstration_year"] = frame["demonstration_year"].astype("int64")
    for column in ("notified_on", "approved_on"):
        frame[column] = pd.to_datetime(frame[column])
    return frame, [UNAPPROVED[0]]
