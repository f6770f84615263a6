"""The quality measure slates of Appendix D and the (illustrative) measure benchmarks.

A slate is the list of measures one entity type is scored on: the ACO slate (Sec 5.3.1,
quality domains 1-7) and the BH CP, LTSS CP and CSA slates (Sec 5.4.4, Exhibits 43-45).
Each measure says how it is collected, its direction and, per budget period, whether it is
pay-for-reporting or pay-for-performance. The protocol never published attainment thresholds
or excellence benchmarks (Sec 5.3.1.1: the State proposes them to CMS), so the values in
``measure_benchmarks`` are illustrative and a run may replace them
(``dsrip_lib.quality.benchmarks``).

References
----------
MassHealth DSRIP Protocol, Sec 5.3.1.1 (benchmarks), Sec 5.3.1.2, Sec 5.4.4 and Appendix D
(ACO, BH CP, LTSS CP and CSA Quality Measure Slates). docs/methodology/measure_slates.md
records how each row was read from the garbled text.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from dsrip_lib.errors import ParameterError
from dsrip_lib.program.values import FrozenModel, _covers_budget_periods

Basis = Literal["reporting", "performance"]
MeasureKind = Literal["binomial", "ratio", "engagement", "utilization", "survey"]
DataSource = Literal["claims", "chart_review", "survey", "cp_reported"]

# Appendix D's phase-in letters (R = Reporting, P = Pay-for-Performance); "-" = not measured.
_BASIS_LETTERS: dict[str, Basis | None] = {"R": "reporting", "P": "performance", "-": None}
# Entity types with a slate: the data contract's entity types (dsrip_lib/inputs/codes.py).
SLATE_ENTITY_TYPES = ("aco", "cp_bh", "cp_ltss", "csa")


class Measure(FrozenModel):
    """One row of an Appendix D measure slate.

    ``basis`` may be written in the YAML as Appendix D's phase-in letters, one per budget
    period from 0 (Prep): ``"-RPPPP"`` = not measured in Prep, reporting in BP 1,
    pay-for-performance in BP 2-5.
    """

    id: str
    number: int
    name: str
    domain: str
    steward: str | None = None
    nqf: str | None = None
    data_source: DataSource
    frequency: Literal["yearly", "quarterly"] | None = None
    basis: Annotated[dict[int, Basis | None], AfterValidator(_covers_budget_periods)]
    higher_is_better: bool
    kind: MeasureKind

    @field_validator("basis", mode="before")
    @classmethod
    def _from_letters(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        unknown = set(value) - set(_BASIS_LETTERS)
        if unknown:
            raise ValueError(f"phase-in letters {value!r}: unknown {sorted(unknown)} (use R, P or -)")
        return {bp: _BASIS_LETTERS[letter] for bp, letter in enumerate(value)}

    def basis_in(self, bp: int) -> Basis | None:
        """``"reporting"``, ``"performance"`` or None (not measured) in budget period ``bp``.

        References
        ----------
        MassHealth DSRIP Protocol, Appendix D ("Pay-for-Performance Phase In").
        """
        if bp not in self.basis:
            raise ParameterError(f"measure {self.id!r}: budget period {bp} does not exist (periods {sorted(self.basis)})")
        return self.basis[bp]

    @property
    def performance_periods(self) -> list[int]:
        """Budget periods in which the measure is pay-for-performance."""
        return sorted(bp for bp, basis in self.basis.items() if basis == "performance")


Slate = tuple[Measure, ...]


class MeasureSlates(FrozenModel):
    """The measure slates by entity type (keys of ``dsrip_lib.inputs.codes``: aco, cp_bh, cp_ltss, csa).

    References
    ----------
    MassHealth DSRIP Protocol, Appendix D (ACO, BH CP, LTSS CP and CSA Quality Measure Slates).
    """

    aco: Slate = ()
    cp_bh: Slate = ()
    cp_ltss: Slate = ()
    csa: Slate = ()

    @model_validator(mode="after")
    def _ids_unique(self):
        for entity_type in SLATE_ENTITY_TYPES:
            ids = [m.id for m in getattr(self, entity_type)]
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"{entity_type}: measure ids {repeated} appear more than once")
        return self

    def slate(self, entity_type: str) -> Slate:
        """The measures of ``entity_type`` in Appendix D order (grouped by domain)."""
        if entity_type not in SLATE_ENTITY_TYPES:
            raise ParameterError(f"no measure slate for entity type {entity_type!r}; slates: {list(SLATE_ENTITY_TYPES)}")
        return getattr(self, entity_type)

    def measure(self, entity_type: str, measure_id: str) -> Measure:
        """The measure ``measure_id`` of the ``entity_type`` slate (ParameterError naming both when absent)."""
        for m in self.slate(entity_type):
            if m.id == measure_id:
                return m
        raise ParameterError(f"measure {measure_id!r} is not in the {entity_type} measure slate "
                             f"({len(self.slate(entity_type))} measures; Appendix D)")

    def domains(self, entity_type: str) -> set[str]:
        """The domains the ``entity_type`` slate's measures belong to."""
        return {m.domain for m in self.slate(entity_type)}


def check_slate_domains(slates: MeasureSlates, known: dict[str, set[str]]) -> None:
    """Every measure's domain is one of ``known[entity_type]`` (ValueError naming the measures)."""
    for entity_type in SLATE_ENTITY_TYPES:
        bad = [f"{m.id} ({m.domain})" for m in slates.slate(entity_type) if m.domain not in known.get(entity_type, set())]
        if bad:
            raise ValueError(f"measures.{entity_type}: measures {bad} name a domain that is not one of "
                             f"{sorted(known.get(entity_type, set()))}")


class BenchmarkCell(FrozenModel):
    """Attainment threshold and excellence benchmark of one measure in one budget period."""

    attainment_threshold: float
    excellence_benchmark: float


# measure id -> budget period -> cell
BenchmarkTable = dict[str, dict[int, BenchmarkCell]]


class MeasureBenchmarks(FrozenModel):
    """Attainment thresholds and excellence benchmarks per entity type, measure and budget period.

    The protocol publishes none (Sec 5.3.1.1): the shipped values are illustrative and must say
    so (``illustrative``) and cite their ``source``. ``minimum_denominator`` is the smallest
    denominator with which a measure is scored (Sec 5.3.1.2: "a minimum denominator required").

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.1, Sec 5.3.1.2, Sec 5.4.4.1.
    """

    illustrative: bool
    source: Annotated[str, Field(min_length=1)]
    minimum_denominator: Annotated[int, Field(ge=1)]
    aco: BenchmarkTable = {}
    cp_bh: BenchmarkTable = {}
    cp_ltss: BenchmarkTable = {}
    csa: BenchmarkTable = {}

    def table(self, entity_type: str) -> BenchmarkTable:
        if entity_type not in SLATE_ENTITY_TYPES:
            raise ParameterError(f"no benchmarks for entity type {entity_type!r}; types: {list(SLATE_ENTITY_TYPES)}")
        return getattr(self, entity_type)


def is_benchmarked(entity_type: str, measure: Measure) -> bool:
    """Whether ``measure`` is scored against an attainment threshold and an excellence benchmark.

    Every pay-for-performance measure is, except ACO avoidable utilisation, which is scored
    against the quartile reduction targets (Sec 5.3.1.3); CP and CSA avoidable-utilisation
    measures earn achievement points like the others (Sec 5.4.4.1).
    """
    return bool(measure.performance_periods) and not (entity_type == "aco" and measure.kind == "utilization")


def wrong_side(threshold: float, benchmark: float, higher_is_better: bool) -> bool:
    """Whether an attainment threshold is not strictly worse than its excellence benchmark."""
    return threshold >= benchmark if higher_is_better else threshold <= benchmark


def check_benchmarks_against_slates(benchmarks: MeasureBenchmarks, slates: MeasureSlates) -> None:
    """Benchmarked measures exist, are of a benchmarked kind, are pay-for-performance in the
    period, and each threshold lies on the worse side of its benchmark (ValueError otherwise)."""
    for entity_type in SLATE_ENTITY_TYPES:
        ids = {m.id: m for m in slates.slate(entity_type)}
        for measure_id, cells in benchmarks.table(entity_type).items():
            where = f"measure_benchmarks.{entity_type}.{measure_id}"
            if measure_id not in ids:
                raise ValueError(f"{where}: not a measure of the {entity_type} slate")
            m = ids[measure_id]
            if not is_benchmarked(entity_type, m):
                raise ValueError(f"{where}: this {m.kind} measure is not scored against benchmarks")
            for bp, cell in cells.items():
                if m.basis.get(bp) != "performance":
                    raise ValueError(f"{where}.{bp}: the measure is not pay-for-performance in budget period {bp}")
                if wrong_side(cell.attainment_threshold, cell.excellence_benchmark, m.higher_is_better):
                    better = "below" if m.higher_is_better else "above"
                    raise ValueError(f"{where}.{bp}: attainment threshold {cell.attainment_threshold} must be "
                                     f"{better} the excellence benchmark {cell.excellence_benchmark}")
