"""The program definition: every protocol exhibit as data, loaded into one validated object.

``load_program("masshealth_dsrip")`` reads ``params/program/masshealth_dsrip.yaml`` and
returns a frozen :class:`Program`. Only ``name``, ``title``, ``source`` and ``calendar`` are
required; every other block belongs to one program shape and is optional, so another
program (e.g. Connecticut PCMH+) can reuse the model with its own blocks.

Conventions (docs/program_definition.md): budget periods are integer keys (0 = Prep);
percentages are fractions; ``_musd`` keys are millions of dollars, ``_usd`` dollars;
``None`` is the protocol's "NA" / "Reporting only".
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from dsrip_lib.calendar import Calendar, FrozenModel
from dsrip_lib.errors import ParameterError
from dsrip_lib.yaml_files import read_mapping

PROGRAM_DIR_ENV = "DSRIP_PROGRAM_DIR"
# Float slack when comparing sums that should agree exactly.
_EPS = 1e-9

Fraction = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]


def _covers_budget_periods(table: dict[int, Any], info: ValidationInfo) -> dict[int, Any]:
    """A budget-period table must have exactly the calendar's period numbers as keys."""
    expected = (info.context or {}).get("budget_periods")
    if expected is not None and set(table) != expected:
        raise ValueError(f"budget periods {sorted(table)} do not match the calendar's {sorted(expected)}")
    return table


class Range(FrozenModel):
    """An anticipated range (``low`` may be unstated, e.g. "up to $500,000")."""

    low: NonNegative | None = None
    high: NonNegative

    @model_validator(mode="after")
    def _ordered(self):
        if self.low is not None and self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


# A value per budget period (0 = Prep); None where the protocol says "NA" or "Reporting only".
ByPeriod = Annotated[dict[int, Fraction | None], AfterValidator(_covers_budget_periods)]
MoneyByPeriod = Annotated[dict[int, NonNegative | None], AfterValidator(_covers_budget_periods)]
RangeByPeriod = Annotated[dict[int, Range | None], AfterValidator(_covers_budget_periods)]


def _check_weights_per_period(tables: Mapping[str, Mapping[int, float | None]]) -> None:
    """In every period the stated weights sum to 1, or no weight is stated."""
    periods = set().union(*(table.keys() for table in tables.values()))
    for period in sorted(periods):
        stated = {name: table.get(period) for name, table in tables.items() if table.get(period) is not None}
        if stated and not math.isclose(sum(stated.values()), 1.0, abs_tol=_EPS):
            raise ValueError(f"budget period {period}: weights {stated} sum to {sum(stated.values()):.6g}, not 1")


class AmountTable(FrozenModel):
    """A published table of amounts ($M) with its published row and column totals.

    Published totals must equal the sum of their cells within half the published
    precision; totals listed in ``known_discrepancies`` (key ``row:<row>``,
    ``column:<column>``, ``grand:rows`` or ``grand:columns``, value a discrepancy id in
    docs/protocol_discrepancies.md) must *not* -- so a corrected number retires its record.
    """

    precision_musd: Annotated[float, Field(gt=0)]
    rows: Annotated[dict[str, Annotated[dict[int, NonNegative], Field(min_length=1)]], Field(min_length=1)]
    row_totals: dict[str, NonNegative] | None = None
    column_totals: dict[int, NonNegative] | None = None
    grand_total: NonNegative | None = None
    known_discrepancies: dict[str, str] = {}

    @property
    def columns(self) -> list[int]:
        return sorted(next(iter(self.rows.values())))

    def row_sum(self, row: str) -> float:
        return sum(self.rows[row].values())

    def column_sum(self, column: int) -> float:
        return sum(cells[column] for cells in self.rows.values())

    def total_checks(self) -> dict[str, tuple[float, float]]:
        """Every published total keyed as in ``known_discrepancies``: (sum of parts, published)."""
        checks = {}
        for row, total in (self.row_totals or {}).items():
            checks[f"row:{row}"] = (self.row_sum(row), total)
        for column, total in (self.column_totals or {}).items():
            checks[f"column:{column}"] = (self.column_sum(column), total)
        if self.grand_total is not None:
            if self.row_totals:
                checks["grand:rows"] = (sum(self.row_totals.values()), self.grand_total)
            if self.column_totals:
                checks["grand:columns"] = (sum(self.column_totals.values()), self.grand_total)
        return checks

    @model_validator(mode="after")
    def _consistent(self):
        columns = self.columns
        for row, cells in self.rows.items():
            if sorted(cells) != columns:
                raise ValueError(f"row {row!r} has columns {sorted(cells)}, expected {columns}")
        if self.row_totals is not None and set(self.row_totals) != set(self.rows):
            raise ValueError(f"row_totals keys {sorted(self.row_totals)} differ from rows {sorted(self.rows)}")
        if self.column_totals is not None and sorted(self.column_totals) != columns:
            raise ValueError(f"column_totals keys {sorted(self.column_totals)} differ from columns {columns}")
        checks = self.total_checks()
        unknown = set(self.known_discrepancies) - set(checks)
        if unknown:
            raise ValueError(f"known_discrepancies name totals that do not exist: {sorted(unknown)}")
        tolerance = self.precision_musd / 2 + _EPS
        for key, (parts, published) in checks.items():
            agrees = abs(parts - published) <= tolerance
            if key in self.known_discrepancies and agrees:
                raise ValueError(
                    f"{key}: recorded as discrepancy {self.known_discrepancies[key]} but the parts sum to "
                    f"{parts:.4g}, which agrees with the published {published}"
                )
            if key not in self.known_discrepancies and not agrees:
                raise ValueError(
                    f"{key}: parts sum to {parts:.4g} but the published total is {published} "
                    f"(tolerance {tolerance:.3g}); fix the number or record a known discrepancy"
                )
        return self


class Mechanism(StrEnum):
    """How a funding sub-stream is held accountable (Exhibits 19 and 21)."""

    not_at_risk = "not_at_risk"
    withhold = "withhold"
    retrospective_reimbursement = "retrospective_reimbursement"
    incentive_pool = "incentive_pool"


# -- funding (Sec 1.4, 4.1, 4.6, 4.7) ------------------------------------------------------


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
        if not math.isclose(sum(self.shares.values()), 1.0, abs_tol=_EPS):
            raise ValueError(f"shares sum to {sum(self.shares.values())}, not 1")
        total = sum(self.amounts_musd.values())
        for stream, share in self.shares.items():
            # Shares are published to 0.1 percentage point.
            if abs(self.amounts_musd[stream] / total - share) > 0.0005 + _EPS:
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
            streams.grand_total, self.expenditure_authority_musd, abs_tol=_EPS
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
            tolerance = self.stream_share_of_total.precision / 2 + _EPS
            for stream, share in self.stream_share_of_total.shares.items():
                exact = totals[stream] / streams.grand_total
                if abs(exact - share) > tolerance:
                    raise ValueError(f"stream_share_of_total.shares.{stream}: {share} is not {exact:.4f} rounded")
        for stream, amount in self.table_f.amounts_musd.items():
            if not math.isclose(totals[stream], amount, abs_tol=_EPS):
                raise ValueError(f"table_f.amounts_musd.{stream}: {amount} differs from Exhibit 1's total")
        # Exhibit 15's column totals are Exhibit 1's Statewide Investments row.
        investment_row = streams.rows.get("statewide_investments", {})
        for dy, total in (self.statewide_investments_by_dy.column_totals or {}).items():
            if dy not in investment_row or not math.isclose(investment_row[dy], total, abs_tol=_EPS):
                raise ValueError(f"statewide_investments_by_dy.column_totals.{dy} differs from Exhibit 1")
        return self


# -- ACO payments (Sec 4.4) -----------------------------------------------------------------


class ModelAdjustment(FrozenModel):
    model: str
    model_name: str
    risk_track: int | None
    adjustment: Fraction


class AcoPayments(FrozenModel):
    """ACO sub-streams, PMPM schedules and adjustments, DSTI glide path by SFY.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.1 (Exhibit 4), Sec 4.4.1 (Exhibits 6-8 and the
    primary-care PMPM schedule), Sec 4.4.2 (Exhibit 9), Sec 4.4.3 (Exhibit 10),
    Sec 5.1.2 (Exhibit 19).
    """

    substreams: dict[str, Mechanism]
    startup_ongoing_average_pmpm_usd: MoneyByPeriod
    startup_ongoing_average_pmpm_tolerance_usd: NonNegative
    primary_care_investment_pmpm_usd: MoneyByPeriod
    safety_net_adjustment: dict[int, Fraction]
    chc_safety_net_adjustment: Fraction
    model_adjustments: list[ModelAdjustment]
    installments_per_budget_period: Annotated[int, Field(ge=1)]
    flexible_services_pmpm_usd: MoneyByPeriod
    dsti_glide_path_by_sfy: AmountTable
    dsti_hospital_names: dict[str, str]

    @model_validator(mode="after")
    def _consistent(self):
        keys = [(m.model, m.risk_track) for m in self.model_adjustments]
        if len(keys) != len(set(keys)):
            raise ValueError("model_adjustments: a (model, risk_track) pair appears twice")
        if set(self.dsti_hospital_names) != set(self.dsti_glide_path_by_sfy.rows):
            raise ValueError("dsti_hospital_names must name exactly the hospitals of dsti_glide_path_by_sfy")
        return self


# -- CP and CSA payments (Sec 4.5) ---------------------------------------------------------


class CpPayments(FrozenModel):
    """CP and CSA sub-streams and PMPMs (periods on the CP/CSA calendar).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.5.1-4.5.7, Exhibits 12-14, Sec 5.1.2 (Exhibit 21).
    """

    substreams: dict[str, dict[str, Mechanism]]
    care_coordination_pmpm_usd: dict[str, NonNegative]
    caseload_per_fte: dict[str, Range]
    prep_infrastructure_usd: dict[str, Range]
    infrastructure_pmpm_usd: dict[str, RangeByPeriod]
    infrastructure_installments_per_budget_period: Annotated[int, Field(ge=1)]
    outcomes_pool_usd: dict[str, MoneyByPeriod]


# -- at risk (Sec 5.1.2) -------------------------------------------------------------------


class AtRisk(FrozenModel):
    """Share of funds withheld at risk by budget period.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.1.2, Exhibits 20 and 22; Sec 5.3.4 and 5.4.6.1 (remediation).
    """

    aco: dict[str, ByPeriod]
    cp_csa: ByPeriod
    remediation_max_earn_back_share: Fraction


# -- State accountability (Sec 5.2) --------------------------------------------------------


class ExpenditureAuthority(FrozenModel):
    """One column of Exhibit 24: expenditure authority of one or more budget periods."""

    budget_periods: list[int]
    authority_musd: NonNegative
    at_risk_share: Fraction
    at_risk_musd: NonNegative

    @model_validator(mode="after")
    def _product(self):
        if not math.isclose(self.authority_musd * self.at_risk_share, self.at_risk_musd, abs_tol=_EPS):
            raise ValueError(
                f"at_risk_musd {self.at_risk_musd} is not {self.authority_musd} x {self.at_risk_share}"
            )
        return self


class Adoption(FrozenModel):
    """State accountability domain 1: ACO/APM adoption.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.1 and Exhibit 26.
    """

    targets: ByPeriod
    apm_non_primary_care_share_threshold: Fraction


class SpendingGrowth(FrozenModel):
    """State accountability domain 2: reduction in state spending growth.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 and Exhibit 27.
    """

    reduction_targets: ByPeriod
    trend_rate: Fraction
    eligibility_groups: list[str]


class QualityUtilization(FrozenModel):
    """State accountability domain 3: statewide quality and utilization.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 and Exhibits 28-29.
    """

    alpha: Annotated[float, Field(gt=0, lt=1)]
    avoidable_utilization_targets: dict[str, ByPeriod]


class StateAccountability(FrozenModel):
    """State accountability to CMS.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2, Exhibits 24-29, Appendix C.
    """

    expenditure_authority: list[ExpenditureAuthority]
    domain_weights: dict[str, ByPeriod]
    adoption: Adoption
    spending_growth: SpendingGrowth
    gap_to_goal_floor_share: Fraction
    quality_utilization: QualityUtilization

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo):
        _check_weights_per_period(self.domain_weights)
        covered = [bp for column in self.expenditure_authority for bp in column.budget_periods]
        expected = (info.context or {}).get("budget_periods")
        if len(covered) != len(set(covered)) or (expected is not None and set(covered) != expected):
            raise ValueError(
                f"expenditure_authority covers budget periods {covered}; each period must appear exactly once"
            )
        return self


class QualityDomain(FrozenModel):
    number: int
    key: str
    name: str
    weights: ByPeriod


class AcoAchievement(FrozenModel):
    max_points_per_measure: Annotated[float, Field(gt=0)]
    benchmark_reset_share_of_acos: Fraction


class AcoImprovement(FrozenModel):
    points_per_measure: Annotated[float, Field(gt=0)]
    max_share_of_domain_achievement_points: Fraction
    alpha: Annotated[float, Field(gt=0, lt=1)]


def _nondecreasing(values: list[float | None]) -> bool:
    stated = [v for v in values if v is not None]
    return all(a <= b for a, b in zip(stated, stated[1:]))


class AcoAccountability(FrozenModel):
    """ACO accountability to the State.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1 (Exhibits 31-32), Sec 5.3.1.2 (Exhibits 33-35),
    Sec 5.3.1.3 (Exhibits 36-37), Sec 5.3.2.
    """

    component_weights: dict[str, ByPeriod]
    achievement: AcoAchievement
    improvement: AcoImprovement
    avoidable_utilization_quartile_targets: dict[str, dict[int, ByPeriod]]
    tcoc_loss_corridor_share: Fraction

    @model_validator(mode="after")
    def _consistent(self):
        _check_weights_per_period(self.component_weights)
        # Sec 5.3.1.3 (line 1717): targets rise each period and are higher for worse quartiles.
        for measure, quartiles in self.avoidable_utilization_quartile_targets.items():
            for quartile, targets in quartiles.items():
                if not _nondecreasing([targets[bp] for bp in sorted(targets)]):
                    raise ValueError(f"{measure} quartile {quartile}: targets fall between budget periods")
            for bp in next(iter(quartiles.values())):
                if not _nondecreasing([quartiles[q][bp] for q in sorted(quartiles)]):
                    raise ValueError(f"{measure} budget period {bp}: a worse quartile has a lower target")
        return self


class CpAccountability(FrozenModel):
    """CP and CSA accountability to the State.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.4.4 (Exhibits 41-46).
    """

    max_points_per_measure: Annotated[float, Field(gt=0)]
    improvement_over_self_share: Fraction
    reporting_only_budget_periods: list[int]
    domain_weights: dict[str, dict[str, Fraction]]

    @model_validator(mode="after")
    def _weights_sum_to_one(self):
        for entity, weights in self.domain_weights.items():
            if not math.isclose(sum(weights.values()), 1.0, abs_tol=_EPS):
                raise ValueError(f"domain_weights.{entity} sum to {sum(weights.values()):.6g}, not 1")
        return self


# -- the program ---------------------------------------------------------------------------


class Program(FrozenModel):
    """A value-based-payment program: its calendar and its exhibit tables."""

    name: str
    title: str
    source: str
    calendar: Calendar
    funding: Funding | None = None
    aco_payments: AcoPayments | None = None
    cp_payments: CpPayments | None = None
    at_risk: AtRisk | None = None
    state_accountability: StateAccountability | None = None
    quality_domains: list[QualityDomain] | None = None
    aco_accountability: AcoAccountability | None = None
    cp_accountability: CpAccountability | None = None

    @model_validator(mode="after")
    def _cross_block_checks(self):
        if self.quality_domains is not None:
            for attribute in ("number", "key"):
                values = [getattr(d, attribute) for d in self.quality_domains]
                if len(values) != len(set(values)):
                    raise ValueError(f"quality_domains: a domain {attribute} appears twice")
            _check_weights_per_period({d.key: d.weights for d in self.quality_domains})
        if self.funding is not None and self.state_accountability is not None:
            total = sum(c.authority_musd for c in self.state_accountability.expenditure_authority)
            if not math.isclose(total, self.funding.expenditure_authority_musd, abs_tol=_EPS):
                raise ValueError(
                    f"state_accountability.expenditure_authority sums to {total}, not "
                    f"funding.expenditure_authority_musd {self.funding.expenditure_authority_musd}"
                )
        return self

    def _require(self, block: str):
        value = getattr(self, block)
        if value is None:
            raise ParameterError(f"program {self.name!r} has no {block!r} block")
        return value

    @staticmethod
    def _stated(table: Mapping[int, Any], bp: int, what: str, exhibit: str):
        if bp not in table:
            raise ParameterError(f"{what}: budget period {bp} does not exist (periods {sorted(table)})")
        if table[bp] is None:
            stated = sorted(k for k, v in table.items() if v is not None)
            raise ParameterError(f"{what}: none for budget period {bp} ({exhibit} states periods {stated})")
        return table[bp]

    # -- State accountability --------------------------------------------------------------
    def adoption_target(self, bp: int) -> float:
        """Target ACO/APM adoption rate (a fraction) for budget period ``bp``.

        Raises
        ------
        ParameterError
            If the period does not exist or has no target (Prep: "NA").

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.2.1.1 and Exhibit 26.
        """
        targets = self._require("state_accountability").adoption.targets
        return self._stated(targets, bp, "ACO/APM adoption target", "Exhibit 26")

    @property
    def adoption_apm_share_threshold(self) -> float:
        """Share of non-primary-care services from APM providers a member must exceed to count.

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.2.1.1 ("more than 20%").
        """
        return self._require("state_accountability").adoption.apm_non_primary_care_share_threshold

    def state_domain_weights(self, bp: int) -> dict[str, float]:
        """Weights of the State DSRIP Accountability domains scored in ``bp`` (empty if none).

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.2.1 and Exhibit 25.
        """
        weights = self._require("state_accountability").domain_weights
        return {domain: table[bp] for domain, table in weights.items() if table[bp] is not None}

    def expenditure_authority(self, bp: int) -> ExpenditureAuthority:
        """The Exhibit 24 column holding budget period ``bp`` (Prep and BP 1 share one).

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.2 and Exhibit 24.
        """
        for column in self._require("state_accountability").expenditure_authority:
            if bp in column.budget_periods:
                return column
        raise ParameterError(f"program {self.name!r}: no expenditure authority for budget period {bp}")

    # -- ACO and CP accountability ---------------------------------------------------------
    def quality_domain_weights(self, bp: int) -> dict[str, float]:
        """ACO quality-domain weights in ``bp`` keyed by domain key (empty for Prep).

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.3.1.1 and Exhibit 32 (= Exhibit 28, Exhibit A4).
        """
        domains = self._require("quality_domains")
        return {d.key: d.weights[bp] for d in domains if d.weights[bp] is not None}

    def aco_component_weights(self, bp: int) -> dict[str, float]:
        """Quality and TCOC component weights of the ACO DSRIP Accountability Score in ``bp``.

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.3.1 and Exhibit 31.
        """
        weights = self._require("aco_accountability").component_weights
        return {part: table[bp] for part, table in weights.items() if table[bp] is not None}

    @staticmethod
    def _lagged(schedule: Mapping[int, float | None], bp: int, join_bp: int) -> float:
        # An entity joining after BP 1 starts at the BP 1 share and follows the schedule
        # with the lag (lines 1072, 1143); Prep and BP 1 joiners follow it as published.
        if bp < join_bp:
            raise ParameterError(f"budget period {bp} is before the join period {join_bp}")
        first = min(k for k in schedule if k > 0)
        return schedule[bp if join_bp <= first else first + (bp - join_bp)]

    def aco_at_risk_share(self, substream: str, bp: int, join_bp: int = 0) -> float:
        """Share of an ACO sub-stream withheld at risk in ``bp`` for an ACO that joined in ``join_bp``.

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.1.2, Exhibit 20 and line 1072 (late joiners).
        """
        schedules = self._require("at_risk").aco
        if substream not in schedules:
            raise ParameterError(f"no at-risk schedule for ACO sub-stream {substream!r}; have {sorted(schedules)}")
        return self._lagged(schedules[substream], bp, join_bp)

    def cp_at_risk_share(self, bp: int, join_bp: int = 0) -> float:
        """Share of CP/CSA funds (excepting outcomes-based payments) at risk in ``bp``.

        References
        ----------
        MassHealth DSRIP Protocol, Sec 5.1.2, Exhibit 22 and line 1143 (late joiners).
        """
        return self._lagged(self._require("at_risk").cp_csa, bp, join_bp)

    def model_adjustment(self, model: str, risk_track: int | None = None) -> float:
        """Startup/ongoing PMPM increase for an ACO model and risk track.

        References
        ----------
        MassHealth DSRIP Protocol, Sec 4.4.1 and Exhibit 8.
        """
        for entry in self._require("aco_payments").model_adjustments:
            if entry.model == model and entry.risk_track == risk_track:
                return entry.adjustment
        raise ParameterError(f"Exhibit 8 has no adjustment for model {model!r}, risk track {risk_track!r}")

    # -- DSTI glide path -------------------------------------------------------------------
    def dsti_glide_path_by_budget_period(self) -> dict[str, dict[int, float]]:
        """DSTI glide-path funding ($M) per hospital and ACO budget period, unrounded.

        Each SFY's amount is split over the budget periods by the months they share: Prep
        = half of SFY18, BP n = half of SFY(n) + half of SFY(n+1), BP 5 = half of SFY22.

        References
        ----------
        MassHealth DSRIP Protocol, Sec 4.4.3, Exhibits 10 and 11 (see discrepancy D1:
        Exhibit 11 rounds 9 half-cent cells down).
        """
        table = self._require("aco_payments").dsti_glide_path_by_sfy
        return {
            hospital: self.calendar.split_sfy_amounts(by_sfy, kind="aco")
            for hospital, by_sfy in table.rows.items()
        }


# -- loading -------------------------------------------------------------------------------


def _program_dir() -> Path:
    """``$DSRIP_PROGRAM_DIR``, else the first ``params/program`` found walking up from this package."""
    override = os.environ.get(PROGRAM_DIR_ENV)
    if override:
        return Path(override)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "params" / "program"
        if candidate.is_dir():
            return candidate
    raise ParameterError(
        f"cannot find params/program above {Path(__file__).resolve().parent}; set {PROGRAM_DIR_ENV}"
    )


def program_path(name_or_path: str | Path) -> Path:
    """Path of a program definition given its name (``masshealth_dsrip``) or a file path."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.parent != Path("."):
        return path
    return _program_dir() / f"{name_or_path}.yaml"


def _format_errors(path: Path, error: ValidationError, prefix: tuple[str, ...] = ()) -> str:
    lines = [f"{path}: invalid program definition ({error.error_count()} problem(s))"]
    for item in error.errors():
        key = ".".join(str(part) for part in (*prefix, *item["loc"])) or "<top level>"
        lines.append(f"  {key}: {item['msg']}")
    return "\n".join(lines)


def load_program(name_or_path: str | Path = "masshealth_dsrip") -> Program:
    """Load and validate a program definition.

    Parameters
    ----------
    name_or_path
        A program name, looked up as ``params/program/<name>.yaml`` (the directory can be
        overridden with ``$DSRIP_PROGRAM_DIR``), or a path to a YAML file.

    Raises
    ------
    ParameterError
        If the file is missing, is not YAML, or breaks a rule; the message names the
        file and the key path of every problem.
    """
    path = program_path(name_or_path)
    raw = read_mapping(path, "program definition")
    try:
        calendar = Calendar.model_validate(raw.get("calendar"))
    except ValidationError as exc:
        raise ParameterError(_format_errors(path, exc, prefix=("calendar",))) from None
    try:
        return Program.model_validate(raw, context={"budget_periods": set(calendar.period_numbers)})
    except ValidationError as exc:
        raise ParameterError(_format_errors(path, exc)) from None
