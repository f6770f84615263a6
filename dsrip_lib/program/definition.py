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
from dsrip_lib.program.evaluation import Evaluation
from dsrip_lib.program.funding import Funding
from dsrip_lib.program.gating import Gating
from dsrip_lib.program.measures import (
    MeasureBenchmarks,
    MeasureSlates,
    check_benchmarks_against_slates,
    check_slate_domains,
)
from dsrip_lib.program.payments import AcoPayments, CpPayments
from dsrip_lib.program.reallocation import Reallocation
from dsrip_lib.program.settlement import RiskCorridors, Settlement
from dsrip_lib.program.spending import Spending
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
    reallocation: Reallocation | None = None
    quality_domains: QualityDomains | None = None
    aco_accountability: AcoAccountability | None = None
    cp_accountability: CpAccountability | None = None
    measures: MeasureSlates | None = None
    measure_benchmarks: MeasureBenchmarks | None = None
    settlement: Settlement | None = None
    partnership_plan_risk_corridors: RiskCorridors | None = None
    spending: Spending | None = None
    gating: Gating | None = None
    evaluation: Evaluation | None = None

    @model_validator(mode="after")
    def _cross_block_checks(self):
        if self.funding is not None and self.state_accountability is not None:
            total = sum(c.authority_musd for c in self.state_accountability.expenditure_authority)
            if not math.isclose(total, self.funding.expenditure_authority_musd, abs_tol=EPS):
                raise ValueError(
                    f"state_accountability.expenditure_authority sums to {total}, not "
                    f"funding.expenditure_authority_musd {self.funding.expenditure_authority_musd}"
                )
        if self.spending is not None and self.state_accountability is not None:
            named = list(self.state_accountability.spending_growth.eligibility_groups)
            if set(self.spending.eligibility_groups) != set(named):
                raise ValueError(f"spending.eligibility_groups names {list(self.spending.eligibility_groups)}, "
                                 f"not state_accountability.spending_growth.eligibility_groups {named}")
        if self.state_accountability is not None and self.quality_domains is not None:
            key = self.state_accountability.quality_utilization.utilization_domain
            if key not in {d.key for d in self.quality_domains}:
                raise ValueError(f"state_accountability.quality_utilization.utilization_domain {key!r} "
                                 "is not a quality_domains key")
        if self.measures is not None or self.measure_benchmarks is not None:
            self._check_measures()
        if self.reallocation is not None:
            self._check_reallocation()
        return self

    def _check_reallocation(self) -> None:
        """Reallocation rules name Exhibit 1 streams and their known sub-streams (Sec 4.7, 5.1.3)."""
        if self.funding is None:
            raise ValueError("reallocation needs the funding block (the Exhibit 1 streams it names)")
        known = {stream: None for stream in self.funding.streams_by_dy.rows}
        known["statewide_investments"] = set(self.funding.statewide_investments_by_dy.rows)
        if self.aco_payments is not None:
            known["aco"] = set(self.aco_payments.substreams)
        if self.cp_payments is not None:
            known["community_partners"] = set().union(*self.cp_payments.substreams.values())
        for block in ("redistribution_targets", "carry_forward_streams"):
            for stream, named in getattr(self.reallocation, block).items():
                if stream not in known:
                    raise ValueError(f"reallocation.{block}: {stream!r} is not an Exhibit 1 stream {sorted(known)}")
                unknown = set() if named == "all" or known[stream] is None else set(named) - known[stream]
                if unknown:
                    raise ValueError(f"reallocation.{block}.{stream}: unknown sub-stream(s) {sorted(unknown)}")

    def _check_measures(self) -> None:
        """Slate domains are the ACO quality domains (Exhibit 32) and the CP/CSA domains of
        Exhibits 43-45 (``cp_accountability.domain_weights``, keyed by entity type); benchmarks
        match the slates."""
        if self.measures is None:
            raise ValueError("measure_benchmarks needs the measures block (the slates it benchmarks)")
        cp_weights = self.cp_accountability.domain_weights if self.cp_accountability else {}
        known = {entity_type: set(weights) for entity_type, weights in cp_weights.items()}
        known["aco"] = {d.key for d in self.quality_domains or []}
        check_slate_domains(self.measures, known)
        if self.measure_benchmarks is not None:
            check_benchmarks_against_slates(self.measure_benchmarks, self.measures)

    def require(self, block: str) -> Any:
        """The block named ``block``, or a ParameterError when this program has none.

        A report that needs exhibits another program shape lacks fails here, by name.
        """
        value = getattr(self, block)
        if value is None:
            raise ParameterError(f"program {self.name!r} has no {block!r} block")
        return value
