"""The data contract: one pandera schema per input table, and validation of a data directory.

``docs/data_contract.md`` documents these tables; the specifications below are the truth.
Validation is built to run at state scale within a few GiB of memory:

* row rules (types, nullability, code sets, ranges, per-row rules) are checked by pandera,
  file by file and batch by batch (pyarrow batches -> pandas -> ``schema.validate(lazy=True)``),
  aggregating counts and examples across batches;
* cross-row rules (unique grain, foreign keys, non-overlapping PCP-assignment spans) are SQL
  run by an in-process DuckDB over the files, which spills to disk instead of holding tables.

Date bounds, budget-period numbers, safety-net categories and ACO risk tracks come from the
program definition; the code sets are the contract's own vocabulary.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pandera.pandas as pa
import pyarrow as arrow
import pyarrow.csv as arrow_csv
import pyarrow.parquet as pq

from dsrip_lib.errors import InputValidationError
from dsrip_lib.program import Program, load_program

ProgramArg = Program | str | Path | None  # a program, its name or path; None = the default program

DOC = "docs/data_contract.md"
BATCH_ROWS = 250_000
MAX_EXAMPLES = 5
FILE = "(file)"  # the "column" of a problem with a whole file
# DuckDB's budget for the cross-row checks; beyond it, it spills to a temporary directory.
DUCKDB_MEMORY_LIMIT = "2GB"

# -- code sets (docs/data_contract.md, "Codes") -----------------------------------------
ELIGIBILITY_GROUPS = ("base_families", "base_disabled", "r2_children", "r2_disabled", "r2_bccdp", "new_adult", "other")
NOT_ACO_ELIGIBLE_GROUP = "other"
PLAN_TYPES = ("aco_a", "aco_b", "mco", "pcc", "ffs")
ACO_PLAN_TYPES = ("aco_a", "aco_b")
PCC_PLAN_ID = "PCC"
ENTITY_TYPES = ("aco", "mco", "cp_bh", "cp_ltss", "csa")
CP_ENTITY_TYPES = ("cp_bh", "cp_ltss")
ACO_MODELS = ("A", "B", "C")
PROVIDER_TYPES = ("pcp", "specialist", "hospital", "behavioral_health", "ltss", "pharmacy", "other")
SERVICE_CATEGORIES = ("inpatient", "outpatient", "emergency", "primary_care", "specialist", "behavioral_health",
                      "pharmacy", "ltss", "other")
EXCLUSION_CATEGORIES = ("hep_c_drug", "high_cost_drug", "ltss", "dsrip", "quality_incentive", "admin")
SURVEYS = ("primary_care", "behavioral_health", "ltss")
SEXES = ("F", "M")


# -- column kinds: the Arrow types a file may use, and the one they are read as ----------
@dataclass(frozen=True)
class Kind:
    """A contract type: which Arrow types are accepted for it and the canonical one."""

    name: str
    canonical: arrow.DataType
    accepts: Callable[[arrow.DataType], bool]

    @property
    def pandas_dtype(self) -> pd.ArrowDtype:
        return pd.ArrowDtype(self.canonical)


def _is_string(t: arrow.DataType) -> bool:
    if arrow.types.is_dictionary(t):  # e.g. a pandas Categorical
        return _is_string(t.value_type)
    return arrow.types.is_string(t) or arrow.types.is_large_string(t) or arrow.types.is_string_view(t)


STRING = Kind("string", arrow.string(), _is_string)
DATE = Kind("date", arrow.date32(), arrow.types.is_date)
BOOL = Kind("bool", arrow.bool_(), arrow.types.is_boolean)
INT = Kind("int", arrow.int64(), arrow.types.is_integer)
FLOAT = Kind("float", arrow.float64(), arrow.types.is_floating)


@dataclass(frozen=True)
class Col:
    """One column: its kind, nullability and value checks (pandera)."""

    name: str
    kind: Kind
    nullable: bool = False
    checks: tuple[pa.Check, ...] = ()


@dataclass(frozen=True)
class RowRule:
    """A rule across columns of one row; ``test`` returns True for rows that satisfy it."""

    description: str
    columns: tuple[str, ...]
    test: Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class ForeignKey:
    """``column`` must be a ``ref_column`` of ``ref_table``; of ``entities`` rows of
    ``entity_types`` only, when given."""

    column: str
    ref_table: str
    ref_column: str
    entity_types: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        of_type = f" with entity_type {' or '.join(self.entity_types)}" if self.entity_types else ""
        return f"in {self.ref_table}.{self.ref_column}{of_type}"

    @property
    def ref_columns(self) -> set[str]:
        return {self.ref_column, "entity_type"} if self.entity_types else {self.ref_column}


@dataclass(frozen=True)
class SqlRule:
    """A rule across rows (or tables) run in DuckDB: ``select`` returns the offending rows,
    ``example`` formats one of them; it runs when every ``needs`` table has those columns."""

    description: str
    columns: str
    needs: tuple[tuple[str, tuple[str, ...]], ...]
    select: str
    example: Callable[[tuple], str]


@dataclass(frozen=True)
class TableSpec:
    """A table of the contract: columns, grain, per-row rules, foreign keys."""

    name: str
    required: bool
    grain: tuple[str, ...]
    columns: tuple[Col, ...]
    row_rules: tuple[RowRule, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    sql_rules: tuple[SqlRule, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def arrow_schema(self) -> arrow.Schema:
        """The canonical Arrow schema (what loaders read the table as)."""
        return arrow.schema([(c.name, c.kind.canonical) for c in self.columns])

    def schema(self, columns: set[str] | None = None) -> pa.DataFrameSchema:
        """The pandera schema of the row rules, restricted to ``columns`` when given.

        Restriction lets a file with a missing or mistyped column still have its other
        columns checked; row rules that need an absent column are left out.
        """
        keep = set(self.column_names) if columns is None else columns
        return pa.DataFrameSchema(
            {c.name: pa.Column(c.kind.pandas_dtype, list(c.checks), nullable=c.nullable)
             for c in self.columns if c.name in keep},
            # NA in a rule's result comes from a null reported by its column's own check
            checks=[pa.Check(lambda df, test=r.test: test(df).fillna(True), error=r.description, ignore_na=False)
                    for r in self.row_rules if set(r.columns) <= keep],
            name=self.name,
        )


# -- bounds from the program calendar -------------------------------------------------------
@dataclass(frozen=True)
class Bounds:
    """What the program definition says about the contract's values: the data window, the
    budget-period numbers and, for programs with ACO payments, the ACO categories."""

    first_day: dt.date
    last_day: dt.date
    budget_periods: tuple[int, ...]
    sfys: tuple[int, ...]
    safety_net_categories: tuple[int, ...] | None = None
    model_risk_tracks: tuple[tuple[str, int | None], ...] | None = None

    @classmethod
    def from_program(cls, program: Program) -> Bounds:
        """Bounds of a program: data from its baseline year to the end of its last budget period;
        safety-net categories and model/risk-track pairs from its ACO payment exhibits.

        References
        ----------
        MassHealth DSRIP Protocol, Sec 3.1.1 (Exhibit 2), Sec 3.1.2 (Exhibit 3), Sec 5.2.1.2 (baseline year),
        Sec 4.4.1 (Exhibit 7, safety-net categories; Exhibit 8, ACO models and risk tracks).
        """
        cal = program.calendar
        periods = [p for kind in cal.budget_period_schedules for p in cal.budget_periods(kind)]
        first_day = min([cal.baseline_period.start, *(p.start for p in periods)])
        last_day = max(p.end for p in periods)
        aco = program.aco_payments
        return cls(first_day=first_day, last_day=last_day, budget_periods=tuple(cal.period_numbers),
                   sfys=tuple(range(cal.sfy_of(first_day), cal.sfy_of(last_day) + 1)),
                   safety_net_categories=None if aco is None else tuple(sorted(aco.safety_net_adjustment)),
                   model_risk_tracks=None if aco is None else tuple((m.model, m.risk_track)
                                                                     for m in aco.model_adjustments))

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.first_day.year, self.last_day.year + 1))

    @property
    def performance_periods(self) -> tuple[int, ...]:
        """Budget periods after the Preparation Budget Period (number 0), which has no performance data."""
        return tuple(n for n in self.budget_periods if n > 0)


# -- checks -------------------------------------------------------------------------------
def _isin(values) -> pa.Check:
    return pa.Check.isin(list(values), error=f"one of {', '.join(map(str, values))}")


def _between(low, high) -> pa.Check:
    return pa.Check.in_range(low, high, error=f"between {low} and {high}")


def _first_of_month() -> pa.Check:
    return pa.Check(lambda s: s.dt.day == 1, error="first day of a month")


def _ge(value) -> pa.Check:
    return pa.Check.ge(value, error=f">= {value}")


def _gt(value) -> pa.Check:
    return pa.Check.gt(value, error=f"> {value}")


def _present_iff(column: str, condition: Callable[[pd.DataFrame], pd.Series], description: str, *needs: str) -> RowRule:
    """``column`` is not null exactly when ``condition`` holds."""
    return RowRule(description, (column, *needs), lambda df: df[column].notna() == condition(df).fillna(False))


def _le_or_null(low: str, high: str) -> RowRule:
    return RowRule(f"{low} <= {high}", (low, high),
                   lambda df: (df[low] <= df[high]).fillna(True))


_OPEN_END = "DATE '9999-12-31'"  # an open span (null end_date) runs past any date

_NON_OVERLAPPING_SPANS = SqlRule(
    # Sec 4.4.4: a member has one assigned PCP at a time.
    "a member's assignment spans do not overlap", "member_id, start_date, end_date",
    (("pcp_assignments", ("member_id", "start_date", "end_date")),),
    f"""SELECT member_id, start_date, end_date, earlier_end FROM (
          SELECT member_id, start_date, end_date,
                 max(coalesce(end_date, {_OPEN_END})) OVER (
                   PARTITION BY member_id ORDER BY start_date, end_date NULLS LAST
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS earlier_end
          FROM pcp_assignments WHERE member_id IS NOT NULL AND start_date IS NOT NULL)
        WHERE start_date <= earlier_end""",
    lambda r: (f"member_id={_show(r[0])}: span {r[1]}..{r[2] or 'open'} starts before an earlier span "
               f"ends ({'open' if r[3].year == 9999 else r[3]})"),
)

_CHC_PCP = SqlRule(
    # Sec 4.4.1: the CHC variant of the safety-net adjustment follows the member's assigned PCP.
    "chc_pcp is the is_chc of the PCP assigned on the month's last day (false without one)",
    "chc_pcp", (("enrollment", ("member_id", "month", "chc_pcp")),
                ("pcp_assignments", ("member_id", "pcp_npi", "start_date", "end_date")),
                ("providers", ("npi", "is_chc"))),
    f"""SELECT e.member_id, e.month, e.chc_pcp, a.pcp_npi, coalesce(p.is_chc, false) AS expected
        FROM enrollment e
        LEFT JOIN pcp_assignments a ON a.member_id = e.member_id
             AND a.start_date <= last_day(e.month) AND coalesce(a.end_date, {_OPEN_END}) >= last_day(e.month)
        LEFT JOIN providers p ON p.npi = a.pcp_npi
        WHERE e.chc_pcp <> coalesce(p.is_chc, false)""",
    lambda r: (f"member_id={_show(r[0])}, month={r[1]}: chc_pcp={r[2]}, assigned PCP "
               f"{'none' if r[3] is None else repr(r[3])} has is_chc={r[4]}"),
)


def _risk_track_rule(pairs: tuple[tuple[str, int | None], ...] | None) -> tuple[RowRule, ...]:
    """An ACO's risk track is one its model offers (null for a model without tracks).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.1 and Exhibit 8 (ACO model and risk-track PMPM adjustment).
    """
    if pairs is None:
        return ()
    tracks: dict[str, list[int | None]] = {}
    for model, track in pairs:
        tracks.setdefault(model, []).append(track)

    def allowed(df: pd.DataFrame) -> pd.Series:
        ok = df["entity_type"] != "aco"
        for model, options in tracks.items():
            of_model = df["aco_model"] == model
            ok |= of_model & df["risk_track"].isin([t for t in options if t is not None])
            if None in options:
                ok |= of_model & df["risk_track"].isna()
        return ok

    shown = "; ".join(f"{m}: {', '.join('null' if t is None else str(t) for t in sorted(ts, key=lambda t: t or 0))}"
                      for m, ts in sorted(tracks.items()))
    return (RowRule(f"an ACO's risk_track is one of its model's ({shown})",
                    ("aco_model", "risk_track", "entity_type"), allowed),)


@functools.lru_cache
def table_specs(bounds: Bounds) -> dict[str, TableSpec]:
    """Every table of the contract, with value bounds from the program.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 3.1 (budget periods), Sec 4.4.4 (plan types, PCP assignment),
    Sec 5.2.1.2 (eligibility groups, exclusion categories), Exhibit 7 (safety-net categories).
    """
    bp = _isin(bounds.budget_periods)
    perf = _isin(bounds.performance_periods)
    aco = ("aco",)
    specs = [
        TableSpec("members", True, ("member_id",), (
            Col("member_id", STRING),
            Col("birth_date", DATE, checks=(pa.Check.le(bounds.last_day, error=f"not after {bounds.last_day}"),)),
            Col("sex", STRING, checks=(_isin(SEXES),)),
            Col("dual_eligible", BOOL),
        )),
        TableSpec("enrollment", True, ("member_id", "month"), (
            Col("member_id", STRING),
            Col("month", DATE, checks=(_first_of_month(),)),
            Col("eligibility_group", STRING, checks=(_isin(ELIGIBILITY_GROUPS),)),
            Col("aco_eligible", BOOL),
            Col("plan_type", STRING, checks=(_isin(PLAN_TYPES),)),
            Col("plan_id", STRING, nullable=True),
            Col("aco_id", STRING, nullable=True),
            Col("chc_pcp", BOOL),
        ), row_rules=(
            RowRule(f"aco_eligible is false when eligibility_group is '{NOT_ACO_ELIGIBLE_GROUP}'",
                    ("aco_eligible", "eligibility_group"),
                    lambda df: ~((df["eligibility_group"] == NOT_ACO_ELIGIBLE_GROUP)
                                 & df["aco_eligible"]).fillna(False)),
            _present_iff("plan_id", lambda df: df["plan_type"] != "ffs",
                         "plan_id is null exactly when plan_type is 'ffs'", "plan_type"),
            RowRule(f"plan_id is '{PCC_PLAN_ID}' when plan_type is 'pcc' or 'aco_b'", ("plan_id", "plan_type"),
                    lambda df: ~df["plan_type"].isin(["pcc", "aco_b"]) | (df["plan_id"] == PCC_PLAN_ID).fillna(False)),
            _present_iff("aco_id", lambda df: df["plan_type"].isin(ACO_PLAN_TYPES),
                         "aco_id is given exactly when plan_type is 'aco_a' or 'aco_b'", "plan_type"),
        ), foreign_keys=(
            ForeignKey("member_id", "members", "member_id"),
            ForeignKey("aco_id", "entities", "entity_id", aco),
        ), sql_rules=(_CHC_PCP,)),
        TableSpec("pcp_assignments", True, ("member_id", "start_date"), (
            Col("member_id", STRING),
            Col("pcp_npi", STRING),
            Col("plan_id", STRING),
            Col("start_date", DATE),
            Col("end_date", DATE, nullable=True),
        ), row_rules=(_le_or_null("start_date", "end_date"),), foreign_keys=(
            ForeignKey("member_id", "members", "member_id"),
            ForeignKey("pcp_npi", "providers", "npi"),
        ), sql_rules=(_NON_OVERLAPPING_SPANS,)),
        TableSpec("entities", True, ("entity_id",), (
            Col("entity_id", STRING),
            Col("entity_type", STRING, checks=(_isin(ENTITY_TYPES),)),
            Col("name", STRING),
            Col("aco_model", STRING, nullable=True, checks=(_isin(ACO_MODELS),)),
            Col("risk_track", INT, nullable=True, checks=(_ge(1),)),
            Col("safety_net_category", INT, nullable=True, checks=(
                _ge(1) if bounds.safety_net_categories is None else _isin(bounds.safety_net_categories),)),
            Col("mco_id", STRING, nullable=True),
            Col("join_budget_period", INT, checks=(bp,)),
        ), row_rules=(
            _present_iff("aco_model", lambda df: df["entity_type"] == "aco",
                         "aco_model is given exactly for ACOs", "entity_type"),
            RowRule("risk_track and safety_net_category are null unless entity_type is 'aco'",
                    ("risk_track", "safety_net_category", "entity_type"),
                    lambda df: (df["entity_type"] == "aco").fillna(False)
                    | (df["risk_track"].isna() & df["safety_net_category"].isna())),
            *_risk_track_rule(bounds.model_risk_tracks),
            _present_iff("mco_id", lambda df: df["aco_model"] == "C",
                         "mco_id is given exactly for model C ACOs", "aco_model"),
        ), foreign_keys=(ForeignKey("mco_id", "entities", "entity_id", ("mco",)),)),
        TableSpec("providers", True, ("npi",), (
            Col("npi", STRING, checks=(pa.Check.str_matches(r"^\d{10}$", error="10 digits"),)),
            Col("provider_type", STRING, checks=(_isin(PROVIDER_TYPES),)),
            Col("is_chc", BOOL),
            Col("aco_id", STRING, nullable=True),
            Col("apm_paid", BOOL),
        ), foreign_keys=(ForeignKey("aco_id", "entities", "entity_id", aco),)),
        TableSpec("claims", True, ("claim_id",), (
            Col("claim_id", STRING),
            Col("member_id", STRING),
            Col("service_date", DATE, checks=(_between(bounds.first_day, bounds.last_day),)),
            Col("provider_npi", STRING),
            Col("service_category", STRING, checks=(_isin(SERVICE_CATEGORIES),)),
            Col("primary_care_visit", BOOL),
            Col("paid_amount", FLOAT, checks=(_ge(0),)),
            Col("exclusion_category", STRING, nullable=True, checks=(_isin(EXCLUSION_CATEGORIES),)),
        ), row_rules=(
            RowRule("primary_care_visit only when service_category is 'primary_care'",
                    ("primary_care_visit", "service_category"),
                    lambda df: ~df["primary_care_visit"] | (df["service_category"] == "primary_care").fillna(False)),
        ), foreign_keys=(
            ForeignKey("member_id", "members", "member_id"),
            ForeignKey("provider_npi", "providers", "npi"),
        )),
        TableSpec("risk_scores", False, ("member_id", "year"), (
            Col("member_id", STRING),
            Col("year", INT, checks=(_isin(bounds.years),)),
            Col("risk_score", FLOAT, checks=(_gt(0),)),
        ), foreign_keys=(ForeignKey("member_id", "members", "member_id"),)),
        TableSpec("measure_results", False, ("entity_id", "budget_period", "measure_id"), (
            Col("entity_id", STRING),
            Col("budget_period", INT, checks=(bp,)),
            Col("measure_id", STRING),
            Col("numerator", FLOAT, nullable=True, checks=(_ge(0),)),
            Col("denominator", FLOAT, nullable=True, checks=(_gt(0),)),
            Col("rate", FLOAT, nullable=True),
            Col("eligible_members", INT, checks=(_ge(0),)),
        ), row_rules=(
            _le_or_null("numerator", "denominator"),
            RowRule("numerator and denominator are both given or both null", ("numerator", "denominator"),
                    lambda df: df["numerator"].isna() == df["denominator"].isna()),
            RowRule("either numerator and denominator, or rate, is given", ("numerator", "denominator", "rate"),
                    lambda df: (df["numerator"].notna() & df["denominator"].notna()) | df["rate"].notna()),
        ), foreign_keys=(ForeignKey("entity_id", "entities", "entity_id"),)),
        TableSpec("utilization", False, ("entity_id", "budget_period", "measure_id"), (
            Col("entity_id", STRING),
            Col("budget_period", INT, checks=(perf,)),
            Col("measure_id", STRING),
            Col("observed", FLOAT, checks=(_ge(0),)),
            Col("expected", FLOAT, checks=(_gt(0),)),
            Col("member_months", FLOAT, checks=(_gt(0),)),
        ), foreign_keys=(ForeignKey("entity_id", "entities", "entity_id"),)),
        TableSpec("survey_scores", False, ("entity_id", "budget_period", "survey", "composite"), (
            Col("entity_id", STRING),
            Col("budget_period", INT, checks=(perf,)),
            Col("survey", STRING, checks=(_isin(SURVEYS),)),
            Col("composite", STRING),
            Col("score", FLOAT, checks=(_between(0, 100),)),
            Col("respondents", INT, checks=(_ge(0),)),
        ), foreign_keys=(ForeignKey("entity_id", "entities", "entity_id"),)),
        TableSpec("cp_engagement", False, ("member_id", "month", "cp_id"), (
            Col("member_id", STRING),
            Col("month", DATE, checks=(_first_of_month(),)),
            Col("cp_id", STRING),
            Col("engaged", BOOL),
        ), foreign_keys=(
            ForeignKey("member_id", "members", "member_id"),
            ForeignKey("cp_id", "entities", "entity_id", CP_ENTITY_TYPES),
        )),
        TableSpec("flexible_services", False, ("request_id",), (
            Col("request_id", STRING),
            Col("aco_id", STRING),
            Col("budget_period", INT, checks=(perf,)),
            Col("quarter", INT, checks=(_between(1, 4),)),
            Col("amount_requested", FLOAT, checks=(_ge(0),)),
            Col("amount_approved", FLOAT, checks=(_ge(0),)),
        ), row_rules=(_le_or_null("amount_approved", "amount_requested"),),
            foreign_keys=(ForeignKey("aco_id", "entities", "entity_id", aco),)),
        TableSpec("dsti_payments", False, ("hospital", "sfy"), (
            Col("hospital", STRING),
            Col("sfy", INT, checks=(_isin(bounds.sfys),)),
            Col("amount", FLOAT, checks=(_ge(0),)),
        )),
        TableSpec("statewide_investments", False, ("investment", "budget_period"), (
            Col("investment", STRING),
            Col("budget_period", INT, checks=(bp,)),
            Col("amount", FLOAT, checks=(_ge(0),)),
        )),
    ]
    return {s.name: s for s in specs}


# -- locating and reading files ---------------------------------------------------------------
def locate(data_dir: str | Path, name: str) -> Path | None:
    """The file of table ``name`` in ``data_dir``: ``<name>.parquet`` (a file or a directory of
    Parquet part files), else ``<name>.csv``; None when neither exists."""
    for candidate in (Path(data_dir) / f"{name}.parquet", Path(data_dir) / f"{name}.csv"):
        if candidate.exists():
            return candidate
    return None


def table_files(location: Path) -> list[Path]:
    """The files holding a table: the file itself, or a directory's Parquet parts (recursively,
    skipping hidden and ``_``-prefixed files as Spark and pyarrow do)."""
    if location.is_file():
        return [location]
    return sorted(p for p in location.rglob("*.parquet")
                  if p.is_file() and not any(part.startswith((".", "_")) for part in p.relative_to(location).parts))


def _csv_reader(path: Path, spec: TableSpec) -> arrow_csv.CSVStreamingReader:
    # Typed by the contract, so identifiers stay strings ("01060" is not 1060).
    return arrow_csv.open_csv(path, convert_options=arrow_csv.ConvertOptions(
        column_types=spec.arrow_schema, strings_can_be_null=True))


def read_csv(path: str | Path, spec: TableSpec) -> arrow.Table:
    """Read a contract table from CSV with the contract's column types (a small table)."""
    return _csv_reader(Path(path), spec).read_all()


def _bounds(program: ProgramArg) -> Bounds:
    if program is None:
        program = load_program()
    elif isinstance(program, (str, Path)):
        program = load_program(program)
    return Bounds.from_program(program)


# -- problems --------------------------------------------------------------------------------------
@dataclass
class Problem:
    """One broken rule in one table: how many rows (or keys) break it and a few examples."""

    column: str
    rule: str
    count: int = 0
    detail: str = ""
    examples: list[str] = field(default_factory=list)

    def add(self, count: int, examples: list[str]) -> None:
        self.count += count
        self.examples.extend(examples[: MAX_EXAMPLES - len(self.examples)])

    def __str__(self) -> str:
        head = f"  - rule \"{self.rule}\"" if self.column == FILE else f"  - column {self.column}: rule \"{self.rule}\""
        if self.count:
            head += f": {self.count:,} row{'s' * (self.count != 1)}{self.detail}"
        return "\n".join([head + (", e.g." if self.examples and self.count else ""),
                          *(f"      {e}" for e in self.examples)])


class _Problems:
    """Problems grouped by table location, in the order found."""

    def __init__(self) -> None:
        self.by_file: dict[str, dict[tuple[str, str], Problem]] = {}

    def add(self, file: str, column: str, rule: str, count: int = 0, examples: list[str] = (),
            detail: str = "") -> None:
        problems = self.by_file.setdefault(file, {})
        problems.setdefault((column, rule), Problem(column, rule, detail=detail)).add(count, list(examples))

    def __bool__(self) -> bool:
        return bool(self.by_file)

    def message(self, what: str, order: list[str] = ()) -> str:
        """All problems, one block per file, files in ``order`` (the contract's table order)."""
        rank = {label: i for i, label in enumerate(order)}
        files = sorted(self.by_file, key=lambda f: rank.get(f, len(rank)))
        n = sum(len(p) for p in self.by_file.values())
        lines = [f"{what} breaks the data contract ({DOC}): {n} problem{'s' * (n != 1)} "
                 f"in {len(self.by_file)} file{'s' * (len(self.by_file) != 1)}"]
        for file in files:
            lines.append(f"{file}:")
            lines.extend(str(p) for p in self.by_file[file].values())
        return "\n".join(lines)


def _show(value) -> str:
    if value is None or value is pd.NA:
        return "null"
    return repr(value) if isinstance(value, str) else str(value)


def _row_text(prefix: str, row: pd.Series) -> str:
    return prefix + ", ".join(f"{k}={_show(v)}" for k, v in row.items())


# -- row rules: per file, per batch ---------------------------------------------------------------
def _usable_columns(file_schema: arrow.Schema, spec: TableSpec, file: str, problems: _Problems) -> set[str]:
    """Report missing, unexpected and mistyped columns; return the columns that can be checked."""
    present = {f.name: f.type for f in file_schema}
    for col in spec.columns:
        if col.name not in present:
            problems.add(file, col.name, "required column is missing")
    for name in present.keys() - set(spec.column_names):
        problems.add(file, name, f"unexpected column (the contract's columns: {', '.join(spec.column_names)})")
    usable = set()
    for col in spec.columns:
        found = present.get(col.name)
        if found is None:
            continue
        if col.kind.accepts(found) or arrow.types.is_null(found):
            usable.add(col.name)
        else:
            problems.add(file, col.name, f"type {col.kind.name}", examples=[f"found type {found}"])
    return usable


def _to_frame(batch: arrow.RecordBatch | arrow.Table, spec: TableSpec, usable: set[str], offset: int) -> pd.DataFrame:
    """Contract columns of ``batch`` as canonical Arrow-backed pandas columns, indexed by row number."""
    cols = [c for c in spec.columns if c.name in usable]
    table = arrow.table([batch.column(c.name).cast(c.kind.canonical) for c in cols], names=[c.name for c in cols])
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    frame.index = pd.RangeIndex(offset, offset + len(frame))
    return frame


_PANDERA_CHECK_NAMES = {"not_nullable": "not null"}


def _check_frame(frame: pd.DataFrame, schema: pa.DataFrameSchema, spec: TableSpec, file: str, part: str,
                 problems: _Problems) -> None:
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.copy()
        # a row rule is reported once per row (pandera lists it once per column of the row)
        is_rule = cases["schema_context"] == "DataFrameSchema"
        cases.loc[is_rule, "column"] = cases.loc[is_rule, "check"].map({r.description: ", ".join(r.columns)
                                                                         for r in spec.row_rules})
        cases["column"] = cases["column"].fillna(FILE)
        cases["check"] = cases["check"].replace(_PANDERA_CHECK_NAMES)
        for (column, check), group in cases.groupby(["column", "check"], sort=False):
            rows = pd.Index(group["index"].dropna().unique())
            if rows.empty:  # a check that could not run at all: show pandera's reason
                reasons = group["failure_case"].unique()[:MAX_EXAMPLES]
                problems.add(file, column, check, examples=[str(v) for v in reasons])
                continue
            shown = frame.loc[rows[:MAX_EXAMPLES].astype(int)]
            problems.add(file, column, check, len(rows),
                         [_row_text(f"{part}row {i + 1}: ", row) for i, row in shown.iterrows()])


def _check_batches(batches, spec: TableSpec, usable: set[str], file: str, part: str, problems: _Problems) -> int:
    """Row rules over the Arrow batches of one file; returns the number of rows checked."""
    schema, offset = spec.schema(usable), 0
    for batch in batches:
        frame = _to_frame(batch, spec, usable, offset)
        _check_frame(frame, schema, spec, file, part, problems)
        offset += len(frame)
    return offset


def _check_rows(location: Path, spec: TableSpec, label: str,
                problems: _Problems) -> tuple[int, set[str], arrow.Table | None]:
    """Row rules of every file of a table; returns (rows, checkable columns, the CSV's table)."""
    files = table_files(location)
    if not files:
        problems.add(label, FILE, "a Parquet directory holds at least one part file")
        return 0, set(), None
    total, usable_all, csv_table = 0, set(spec.column_names), None
    for path in files:
        part = f"{path.relative_to(location)} " if location.is_dir() else ""
        kept: list[arrow.RecordBatch] = []  # a CSV is small by contract: kept for the cross-row checks
        try:
            batches, schema = _open_batches(path, spec)
            usable = _usable_columns(schema, spec, label, problems)
            usable_all &= usable
            if path.suffix == ".csv":
                batches = (kept.append(b) or b for b in batches)
            total += _check_batches(batches, spec, usable, label, part, problems)
        except (arrow.ArrowException, OSError) as exc:
            column = _csv_column(str(exc), path)
            if column:  # a CSV value that does not parse as its column's type
                problems.add(label, column, f"type {_kind_of(spec, column)}", examples=[f"{part}{exc}"])
            else:
                problems.add(label, FILE, f"readable {path.suffix[1:]}", examples=[f"{part}{exc}"])
            usable_all = set()  # cross-row rules wait until the table can be read
            continue
        if path.suffix == ".csv":
            csv_table = arrow.Table.from_batches(kept, schema=schema)
    return total, usable_all, csv_table


def _open_batches(path: Path, spec: TableSpec) -> tuple[Iterator[arrow.RecordBatch], arrow.Schema]:
    if path.suffix == ".csv":
        reader = _csv_reader(path, spec)
        return iter(reader), reader.schema
    parquet = pq.ParquetFile(path)
    wanted = [c for c in spec.column_names if c in parquet.schema_arrow.names]
    return parquet.iter_batches(batch_size=BATCH_ROWS, columns=wanted), parquet.schema_arrow


def _csv_column(error: str, path: Path) -> str | None:
    """The column named by pyarrow's CSV conversion error ("In CSV column #3: ..."), if any."""
    match = re.search(r"CSV column #(\d+)", error)
    if path.suffix != ".csv" or not match:
        return None
    with path.open(newline="") as f:
        header = next(csv.reader(f), [])
    index = int(match.group(1))
    return header[index] if index < len(header) else None


def _kind_of(spec: TableSpec, column: str) -> str:
    return next((c.kind.name for c in spec.columns if c.name == column), "?")


# -- cross-row rules: SQL over the files ---------------------------------------------------------------
@contextmanager
def _duckdb() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-process DuckDB with a bounded memory budget that spills to a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="dsrip-validate-") as spill:
        con = duckdb.connect()
        try:
            con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
            con.execute(f"SET temp_directory = '{spill}'")
            con.execute("SET preserve_insertion_order = false")
            yield con
        finally:
            con.close()


@dataclass
class _Found:
    """A table found in a data directory, with what row validation learned about it."""

    label: str
    rows: int
    usable: set[str]


def _register(con, name: str, location: Path | None, table: arrow.Table | None) -> None:
    if table is not None:
        con.register(name, table)
    else:
        con.read_parquet([str(p) for p in table_files(location)], union_by_name=True).create_view(name)


def _keys_text(names: tuple[str, ...], values: tuple) -> str:
    return ", ".join(f"{k}={_show(v)}" for k, v in zip(names, values))


def _check_grain(con, spec: TableSpec, found: _Found, problems: _Problems) -> None:
    """Rows sharing the table's grain (its declared key)."""
    cols = ", ".join(spec.grain)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _dup AS "
                f"SELECT {cols}, count(*) AS n FROM {spec.name} GROUP BY ALL HAVING count(*) > 1")
    keys, rows = con.execute("SELECT count(*), coalesce(sum(n), 0) FROM _dup").fetchone()
    if keys:
        examples = con.execute(f"SELECT * FROM _dup ORDER BY n DESC, {cols} LIMIT {MAX_EXAMPLES}").fetchall()
        problems.add(found.label, cols, "unique (the table's grain)", int(rows),
                     [f"{_keys_text(spec.grain, e[:-1])}: {e[-1]} rows" for e in examples],
                     detail=f" share {keys:,} key{'s' * (keys != 1)}")


def _check_foreign_key(con, spec: TableSpec, fk: ForeignKey, found: _Found, problems: _Problems) -> None:
    """Non-null values of ``fk.column`` absent from the referenced table."""
    of_type = (f"WHERE entity_type IN ({', '.join(repr(t) for t in fk.entity_types)})" if fk.entity_types else "")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _orphan AS SELECT c.{fk.column} AS value, count(*) AS n "
                f"FROM {spec.name} c ANTI JOIN (SELECT {fk.ref_column} AS k FROM {fk.ref_table} {of_type}) r "
                f"ON c.{fk.column} = r.k WHERE c.{fk.column} IS NOT NULL GROUP BY c.{fk.column}")
    values, rows = con.execute("SELECT count(*), coalesce(sum(n), 0) FROM _orphan").fetchone()
    if values:
        examples = con.execute(f"SELECT * FROM _orphan ORDER BY n DESC, value LIMIT {MAX_EXAMPLES}").fetchall()
        problems.add(found.label, fk.column, fk.description, int(rows),
                     [f"{fk.column}={_show(v)}: {n} row{'s' * (n != 1)}" for v, n in examples],
                     detail=f" ({values:,} distinct value{'s' * (values != 1)})")


def _check_sql_rule(con, rule: SqlRule, found: _Found, problems: _Problems) -> None:
    """Rows returned by a rule's query: their count and the first few."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _bad AS {rule.select}")
    (rows,) = con.execute("SELECT count(*) FROM _bad").fetchone()
    if rows:
        examples = con.execute(f"SELECT * FROM _bad ORDER BY ALL LIMIT {MAX_EXAMPLES}").fetchall()
        problems.add(found.label, rule.columns, rule.description, int(rows), [rule.example(e) for e in examples])


def _check_cross_rows(con, specs: dict[str, TableSpec], found: dict[str, _Found], problems: _Problems,
                      foreign_keys: bool = True) -> int:
    """Cross-row rules of every found table whose columns allow them; returns how many ran."""
    ran = 0
    for name, f in found.items():
        spec = specs[name]
        if set(spec.grain) <= f.usable:
            _check_grain(con, spec, f, problems)
            ran += 1
        for rule in spec.sql_rules:
            if all(t in found and set(cols) <= found[t].usable for t, cols in rule.needs):
                _check_sql_rule(con, rule, f, problems)
                ran += 1
        for fk in spec.foreign_keys if foreign_keys else ():
            ref = found.get(fk.ref_table)
            if fk.column in f.usable and ref is not None and fk.ref_columns <= ref.usable:
                _check_foreign_key(con, spec, fk, f, problems)
                ran += 1
    return ran


# -- public entry points -----------------------------------------------------------------------------
def tables(program: ProgramArg = None) -> dict[str, TableSpec]:
    """The contract's tables (bounds from ``program``: a Program, a name or path, default MassHealth)."""
    return table_specs(_bounds(program))


def schema(name: str, program: ProgramArg = None) -> pa.DataFrameSchema:
    """The pandera schema of table ``name`` (its row rules; cross-row rules are in SQL)."""
    return _spec(tables(program), name).schema()


def _spec(specs: dict[str, TableSpec], name: str) -> TableSpec:
    try:
        return specs[name]
    except KeyError:
        raise InputValidationError(f"unknown table {name!r}; the contract's tables: {', '.join(specs)}") from None


def validate_table(name: str, df: pd.DataFrame, source: str | None = None, program: ProgramArg = None) -> None:
    """Check an in-memory frame against table ``name``'s row rules, grain and spans.

    Foreign keys need the other tables: ``validate_dir`` checks them.

    Raises
    ------
    InputValidationError
        Naming ``source`` (default: the table name), the column, the rule, the number of bad
        rows and up to five examples.
    """
    spec = _spec(tables(program), name)
    label = source or f"{name} (in memory)"
    problems = _Problems()
    table = arrow.Table.from_pandas(df, preserve_index=False)
    usable = _usable_columns(table.schema, spec, label, problems)
    _check_batches(table.to_batches(BATCH_ROWS), spec, usable, label, "", problems)
    with _duckdb() as con:
        _register(con, name, None, table)
        _check_cross_rows(con, {name: spec}, {name: _Found(label, len(df), usable)}, problems, foreign_keys=False)
    if problems:
        raise InputValidationError(problems.message(label))


def validate_dir(path: str | Path, program: ProgramArg = None) -> str:
    """Check every contract table in a data directory; return a short summary of what was checked.

    Required tables must be present; optional ones are checked when present. Row rules run
    file by file in batches (pandera); grain, foreign keys and span overlaps run in DuckDB.

    Raises
    ------
    InputValidationError
        With every problem of the directory, grouped by file: the column, the rule, the
        number of bad rows and up to five examples.
    """
    started = time.perf_counter()
    data_dir = Path(path)
    if not data_dir.is_dir():
        raise InputValidationError(f"data directory {data_dir} does not exist or is not a directory")
    specs = tables(program)
    problems = _Problems()
    found: dict[str, _Found] = {}
    csv_tables: dict[str, arrow.Table | None] = {}
    for name, spec in specs.items():
        location = locate(data_dir, name)
        if location is None:
            if spec.required:
                problems.add(f"{name}.parquet", FILE, f"required table is missing (no {name}.parquet or {name}.csv)")
            continue
        label = location.name + ("/" if location.is_dir() else "")
        if location.suffix == ".parquet" and (data_dir / f"{name}.csv").exists():
            problems.add(label, FILE, f"one file per table: remove {name}.parquet or {name}.csv")
        rows, usable, csv_tables[name] = _check_rows(location, spec, label, problems)
        found[name] = _Found(label, rows, usable)
    with _duckdb() as con:
        for name in found:
            if found[name].usable:
                _register(con, name, locate(data_dir, name), csv_tables[name])
        ran = _check_cross_rows(con, specs, found, problems)
    if problems:
        order = [found[n].label if n in found else f"{n}.parquet" for n in specs]
        raise InputValidationError(problems.message(f"data directory {data_dir}", order))
    return _summary(data_dir, specs, found, ran, time.perf_counter() - started)


def _summary(data_dir: Path, specs: dict[str, TableSpec], found: dict[str, _Found], ran: int, seconds: float) -> str:
    width = max(len(f.label) for f in found.values())
    lines = [f"data directory {data_dir} conforms to the data contract ({DOC})"]
    lines += [f"  {f.label:<{width}}  {f.rows:>13,} row{'s' * (f.rows != 1)}" for f in found.values()]
    absent = [n for n in specs if n not in found]
    if absent:
        lines.append(f"  optional tables absent: {', '.join(absent)}")
    known = {Path(f.label.rstrip("/")).name for f in found.values()}
    ignored = sorted(p.name for p in data_dir.iterdir() if p.name not in known and not p.name.startswith("."))
    if ignored:
        lines.append(f"  not part of the contract (ignored): {', '.join(ignored)}")
    rules = sum(len(specs[n].columns) + len(specs[n].row_rules) for n in found)
    lines.append(f"  checked {rules} column and row rules (pandera) and {ran} grain, foreign-key and span rules "
                 f"(DuckDB) in {seconds:.1f} s")
    return "\n".join(lines)
