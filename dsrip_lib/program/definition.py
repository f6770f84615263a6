"""The program: its calendar and one optional block per group of exhibits.

Only ``name``, ``title``, ``source`` and ``calendar`` are required; every other block belongs
to one program shape, so another program (e.g. Connecticut PCMH+) reuses the model with its
own blocks. Per-domain questions are answered by the block that holds the data
(``program.require("state_accountability").adoption.target(3)``).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import model_validator

from dsrip_lib.errors import ParameterError
from dsrip_lib.program.aco_accountability import AcoAccountability, QualityDomains
from dsrip_lib.program.at_risk import AtRisk
from dsrip_lib.program.attribution import AttributionRules
from dsrip_lib.program.calendar import Calendar
from dsrip_lib.program.cp_accountability import CpAccountability
from dsrip_lib.program.funding import Funding
from dsrip_lib.program.payments import AcoPayments, CpPayments
from dsrip_lib.program.state_accountability import StateAccountability
from dsrip_lib.program.values import EPS, FrozenModel


class Program(FrozenModel):
    """A value-based-payment program: its calendar and its exhibit tables."""

    name: str
    title: str
    source: str
    calendar: Calendar
    attribution: AttributionRules | None = None
    funding: Funding | None = None
    aco_payments: AcoPayments | None = None
    cp_payments: CpPayments | None = None
    at_risk: AtRisk | None = None
    state_accountability: StateAccountability | None = None
    quality_domains: QualityDomains | None = None
    aco_accountability: AcoAccountability | None = None
    cp_accountability: CpAccountability | None = None

    @model_validator(mode="after")
    def _cross_block_checks(self):
        if self.funding is not None and self.state_accountability is not None:
            total = sum(c.authority_musd for c in self.state_accountability.expenditure_authority)
            if not math.isclose(total, self.funding.expenditure_authority_musd, abs_tol=EPS):
                raise ValueError(
                    f"state_accountability.expenditure_authority sums to {total}, not "
                    f"funding.expenditure_authority_musd {self.funding.expenditure_authority_musd}"
                )
        return self

    def require(self, block: str) -> Any:
        """The block named ``block``, or a ParameterError when this program has none.

        A report that needs exhibits another program shape lacks fails here, by name.
        """
        value = getattr(self, block)
        if value is None:
            raise ParameterError(f"program {self.name!r} has no {block!r} block")
        return value
