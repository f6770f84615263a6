"""Funding streams and their limits: Exhibit 1, Table F, Exhibit 15.

References
----------
MassHealth DSRIP Protocol, Sec 1.4 (Exhibit 1), Sec 4.1 (Table F of STC 57(e)), Sec 4.6
(Exhibit 15), Sec 4.7 (carry forward).
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import Field, model_validator

from dsrip_lib.program.values import EPS, AmountTable, Fraction, FrozenModel, NonNegative


class PublishedShares(FrozenModel):
    precision: Annotated[float, Field(gt=0)]
    shares: dict[str, Fraction]


class TableF(FrozenModel):
    """Table F of STC 57(e): five-year ACO and CP stream authority (Sec 5.1.1)."""

    amounts_musd: dict[str, NonNegative]
    shares: dict[str, Fraction]

    @model_validator(mode="after")
    def _shares_match_amounts(self):
        if set(self.amounts_musd) != set(self.shares):
            raise ValueError("amounts_musd and shares must name the same streams")
        if not math.isclose(sum(self.shares.values()), 1.0, abs_tol=EPS):
            raise ValueError(f"shares sum to {sum(self.shares.values())}, not 1")
        total = sum(self.amounts_musd.values())
        for stream, share in self.shares.items():
            # Shares are published to 0.1 percentage point.
            if abs(self.amounts_musd[stream] / total - share) > 0.0005 + EPS:
                raise ValueError(f"shares.{stream}: {share} is not {self.amounts_musd[stream]} / {total}")
        return self


class ShiftApproval(FrozenModel):
    share_of_original: Fraction
    amount_musd: NonNegative


class Funding(FrozenModel):
    """Funding streams and their limits.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 1.4 and Exhibit 1; Sec 4.1 (Table F of STC 57(e));
    Sec 4.6 and Exhibit 15; Sec 4.7 (carry forward); Sec 5.2.2 ($1.8 billion).
    """

    expenditure_authority_musd: NonNegative
    streams_by_dy: AmountTable
    stream_share_of_total: PublishedShares
    table_f: TableF
    stream_reallocation_notice_share: Fraction
    carry_forward_approval_share: Fraction
    statewide_investments_by_dy: AmountTable
    statewide_investment_shift_approval: ShiftApproval

    @model_validator(mode="after")
    def _cross_checks(self):
        streams = self.streams_by_dy
        if streams.grand_total is not None and not math.isclose(
            streams.grand_total, self.expenditure_authority_musd, abs_tol=EPS
        ):
            raise ValueError(
                f"streams_by_dy.grand_total {streams.grand_total} differs from "
                f"expenditure_authority_musd {self.expenditure_authority_musd}"
            )
        totals = streams.row_totals or {}
        for block, named in (("stream_share_of_total.shares", self.stream_share_of_total.shares),
                             ("table_f.amounts_musd", self.table_f.amounts_musd)):
            unknown = set(named) - set(totals)
            if unknown:
                raise ValueError(f"{block} names streams without an Exhibit 1 total: {sorted(unknown)}")
        if streams.grand_total:
            tolerance = self.stream_share_of_total.precision / 2 + EPS
            for stream, share in self.stream_share_of_total.shares.items():
                exact = totals[stream] / streams.grand_total
                if abs(exact - share) > tolerance:
                    raise ValueError(f"stream_share_of_total.shares.{stream}: {share} is not {exact:.4f} rounded")
        for stream, amount in self.table_f.amounts_musd.items():
            if not math.isclose(totals[stream], amount, abs_tol=EPS):
                raise ValueError(f"table_f.amounts_musd.{stream}: {amount} differs from Exhibit 1's total")
        # Exhibit 15's column totals are Exhibit 1's Statewide Investments row.
        investment_row = streams.rows.get("statewide_investments", {})
        for dy, total in (self.statewide_investments_by_dy.column_totals or {}).items():
            if dy not in investment_row or not math.isclose(investment_row[dy], total, abs_tol=EPS):
                raise ValueError(f"statewide_investments_by_dy.column_totals.{dy} differs from Exhibit 1")
        return self
