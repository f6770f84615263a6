"""The contract's table declarations: columns, kinds, grain, row rules, foreign keys, SQL rules.

``docs/data_contract.md`` documents these tables; the declarations below are the truth.
Date bounds, budget-period numbers, safety-net categories and ACO risk tracks come from the
program definition (:class:`Bounds`); the code sets from :mod:`dsrip_lib.inputs.codes`.

Every rule is written once, in SQL (DuckDB's dialect): a value check or a row rule is a
predicate true for the values or rows that satisfy it. Validation runs the predicates over
the files in DuckDB; :meth:`TableSpec.schema` runs the same predicates on a pandas frame.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd
import pyarrow as arrow

from dsrip_lib.errors import InputValidationError
from dsrip_lib.inputs.codes import (
    ACO_MODELS,
    ACO_PLAN_TYPES,
    CP_ENTITY_TYPES,
    CSA_ENTITY_TYPE,
    ELIGIBILITY_GROUPS,
    ENTITY_TYPES,
    EXCLUSION_CATEGORIES,
    FUNDING_MOVE_KINDS,
    NOT_ACO_ELIGIBLE_GROUP,
    PARTICIPATION_PLANS,
    PARTNERSHIP_PLAN_MODEL,
    PCC_PLAN_ID,
    PLAN_ENTITY_TYPES,
    PLAN_TYPES,
    PROVIDER_TYPES,
    SERVICE_CATEGORIES,
    SEXES,
    SURVEYS,
    TARGET_PERIODS,
)
from dsrip_lib.program import Program, load_program

if TYPE_CHECKING:
    import pandera.pandas as pa

ProgramArg = Program | str | Path | None  # a program, its name or path; None = the default program


def show(value) -> str:
    """A value as an example line shows it: strings quoted, nulls as ``null``."""
    if value is None or value is pd.NA:
        return "null"
    return repr(value) if isinstance(value, str) else str(value)


# -- column kinds: the Arrow types a file may use, and the one they are read as ----------
@dataclass(frozen=True)
class Kind:
    """A contract type: which Arrow types are accepted for it, the canonical one and its SQL name."""

    name: str
    canonical: arrow.DataType
    sql: str
    accepts: Callable[[arrow.DataType], bool]

    @property
    def pandas_dtype(self) -> pd.ArrowDtype:
        return pd.ArrowDtype(self.canonical)


def _is_string(t: arrow.DataType) -> bool:
    if arrow.types.is_dictionary(t):  # e.g. a pandas Categorical
        return _is_string(t.value_type)
    return arrow.types.is_string(t) or arrow.types.is_large_string(t) or arrow.types.is_string_view(t)


STRING = Kind("string", arrow.string(), "VARCHAR", _is_string)
DATE = Kind("date", arrow.date32(), "DATE", arrow.types.is_date)
BOOL = Kind("bool", arrow.bool_(), "BOOLEAN", arrow.types.is_boolean)
INT = Kind("int", arrow.int64(), "BIGINT", arrow.types.is_integer)
FLOAT = Kind("float", arrow.float64(), "DOUBLE", arrow.types.is_floating)


@dataclass(frozen=True)
class Check:
    """A value check of one column: ``sql(column)`` is a predicate true for the values that pass."""

    description: str
    sql: Callable[[str], str]


@dataclass(frozen=True)
class Col:
    """One column: its kind, nullability and value checks."""

    name: str
    kind: Kind
    nullable: bool = False
    checks: tuple[Check, ...] = ()

    def passes(self, check: Check) -> str:
        """SQL true when this column's value passes ``check``: NaN is not null but passes no
        check (as in pandas; DuckDB orders NaN above every number, so ``NaN >= 0`` would hold)."""
        sql = check.sql(self.name)
        return f"NOT isnan({self.name}) AND {sql}" if self.kind is FLOAT else sql


@dataclass(frozen=True)
class RowRule:
    """A rule across columns of one row: ``sql`` is true for the rows that satisfy it; a null
    result passes (a null breaks its own column's rule, or the rule allows it)."""

    description: str
    columns: tuple[str, ...]
    sql: str


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

    def schema(self) -> pa.DataFrameSchema:
        """The row rules as a pandera schema, for a pandas frame with the canonical column types
        (Arrow-backed); its checks run the rules' SQL predicates on the frame in DuckDB."""
        import pandera.pandas as pa  # here only: validation itself does without pandera

        return pa.DataFrameSchema(
            {c.name: pa.Column(c.kind.pandas_dtype, [pa.Check(_holds(c.passes(k)), error=k.description)
                                                     for k in c.checks], nullable=c.nullable)
             for c in self.columns},
            checks=[pa.Check(_holds(r.sql), error=r.description, ignore_na=False) for r in self.row_rules],
            name=self.name,
        )


def _holds(predicate: str) -> Callable[[pd.Series | pd.DataFrame], pd.Series]:
    """A pandera check function: whether each row of a frame (or value of a column) satisfies a
    SQL predicate over its columns, run in DuckDB; a null result counts as satisfied."""

    def test(data: pd.Series | pd.DataFrame) -> pd.Series:
        frame = data.to_frame() if isinstance(data, pd.Series) else data
        with duckdb.connect() as con:
            con.register("frame", arrow.Table.from_pandas(frame, preserve_index=False))
            ok = con.execute(f"SELECT coalesce({predicate}, true) AS ok FROM frame").fetchnumpy()["ok"]
        return pd.Series(ok, index=frame.index)

    return test


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
    aco_period_starts: tuple[tuple[int, dt.date], ...] = ()  # ACO budget period -> its first day

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
                                                                     for m in aco.model_adjustments),
                   aco_period_starts=tuple((p.number, p.start) for p in cal.budget_periods("aco"))
                   if "aco" in cal.budget_period_schedules else ())

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.first_day.year, self.last_day.year + 1))

    @property
    def performance_periods(self) -> tuple[int, ...]:
        """Budget periods after the Preparation Budget Period (number 0), which has no performance data."""
        return tuple(n for n in self.budget_periods if n > 0)


# -- checks: SQL predicates ----------------------------------------------------------------
def sql_literal(value) -> str:
    """A Python value as a SQL literal."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return str(value)


def _in(column: str, values) -> str:
    """SQL true when ``column`` is one of ``values``, false when null (as pandas ``isin``).

    ``array_position`` rather than ``IN``: on the 68 M dictionary-encoded enrollment rows of the
    state profile, DuckDB evaluates it about 4 times faster.
    """
    return f"array_position([{', '.join(sql_literal(v) for v in values)}], {column}) IS NOT NULL"


def _isin(values) -> Check:
    return Check(f"one of {', '.join(map(str, values))}", lambda c: _in(c, values))


def _between(low, high) -> Check:
    return Check(f"between {low} and {high}", lambda c: f"{c} BETWEEN {sql_literal(low)} AND {sql_literal(high)}")


def _not_after(day: dt.date) -> Check:
    return Check(f"not after {day}", lambda c: f"{c} <= {sql_literal(day)}")


def _first_of_month() -> Check:
    return Check("first day of a month", lambda c: f"day({c}) = 1")


def _ge(value) -> Check:
    return Check(f">= {value}", lambda c: f"{c} >= {sql_literal(value)}")


def _gt(value) -> Check:
    return Check(f"> {value}", lambda c: f"{c} > {sql_literal(value)}")


def _digits(n: int) -> Check:
    return Check(f"{n} digits", lambda c: f"regexp_full_match({c}, '[0-9]{{{n}}}')")


def _present_iff(column: str, condition: str, description: str, *needs: str) -> RowRule:
    """``column`` is not null exactly when the SQL ``condition`` holds (a null condition does not)."""
    return RowRule(description, (column, *needs), f"({column} IS NOT NULL) = coalesce({condition}, false)")


def _le_or_null(low: str, high: str) -> RowRule:
    return RowRule(f"{low} <= {high}", (low, high), f"{low} <= {high}")


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
    lambda r: (f"member_id={show(r[0])}: span {r[1]}..{r[2] or 'open'} starts before an earlier span "
               f"ends ({'open' if r[3].year == 9999 else r[3]})"),
)

_CHC_PCP = SqlRule(
    # Sec 4.4.1: the CHC variant of the safety-net adjustment follows the member's assigned PCP.
    # A span covers the last day of `month` exactly when `month` is on or after the month the
    # span starts in and before the month of the day after it ends: the join compares `month`
    # with two dates computed once per span (rather than last_day(month) once per pair).
    # An open span covers every month before December 9999 (9999-12-31 + 1 overflows Spark's dates).
    "chc_pcp is the is_chc of the PCP assigned on the month's last day (false without one)",
    "chc_pcp", (("enrollment", ("member_id", "month", "chc_pcp")),
                ("pcp_assignments", ("member_id", "pcp_npi", "start_date", "end_date")),
                ("providers", ("npi", "is_chc"))),
    f"""WITH spans AS (
          SELECT a.member_id, a.pcp_npi, coalesce(p.is_chc, false) AS is_chc,
                 date_trunc('month', a.start_date)::DATE AS first_month,
                 date_trunc('month', coalesce(a.end_date + 1, {_OPEN_END}))::DATE AS end_month
          FROM pcp_assignments a LEFT JOIN providers p ON p.npi = a.pcp_npi)
        SELECT e.member_id, e.month, e.chc_pcp, s.pcp_npi, coalesce(s.is_chc, false) AS expected
        FROM enrollment e
        LEFT JOIN spans s ON s.member_id = e.member_id AND e.month >= s.first_month AND e.month < s.end_month
        WHERE e.chc_pcp <> coalesce(s.is_chc, false)""",
    lambda r: (f"member_id={show(r[0])}, month={r[1]}: chc_pcp={r[2]}, assigned PCP "
               f"{'none' if r[3] is None else repr(r[3])} has is_chc={r[4]}"),
)


# Sec 4.4.1, Exhibit 8: model A ACOs are the Accountable Care Partnership Plans

_PARTNERSHIP_PLANS_ONLY = SqlRule(
    # Sec 5.3.2, step 4: only a Partnership Plan is paid a risk-adjusted medical capitation.
    f"entity_id is an ACO of model {PARTNERSHIP_PLAN_MODEL} (an Accountable Care Partnership Plan)", "entity_id",
    (("medical_capitation", ("entity_id", "budget_period")), ("entities", ("entity_id", "aco_model"))),
    f"""SELECT c.entity_id, c.budget_period, a.aco_model
        FROM medical_capitation c JOIN entities a ON a.entity_id = c.entity_id
        WHERE a.aco_model IS DISTINCT FROM {sql_literal(PARTNERSHIP_PLAN_MODEL)}""",
    lambda r: f"entity_id={show(r[0])}, budget_period={r[1]}: aco_model={show(r[2])}",
)

_ONE_ACO_PER_HOSPITAL = SqlRule(
    # Sec 4.4.3 (line 659): "a DSTI hospital can only contract with one ACO".
    "a hospital's contracts do not overlap (one ACO at a time)", "from_budget_period, to_budget_period",
    (("dsti_contracts", ("hospital", "aco_id", "from_budget_period", "to_budget_period")),),
    """SELECT a.hospital, a.aco_id, a.from_budget_period, a.to_budget_period,
              b.aco_id, b.from_budget_period, b.to_budget_period
       FROM dsti_contracts a JOIN dsti_contracts b ON a.hospital = b.hospital
        AND a.from_budget_period < b.from_budget_period AND b.from_budget_period <= a.to_budget_period""",
    lambda r: (f"hospital={show(r[0])}: aco_id={show(r[1])} budget periods {r[2]}-{r[3]} overlaps "
               f"aco_id={show(r[4])} budget periods {r[5]}-{r[6]}"),
)


def _aco_before_join_rule(bounds: Bounds) -> tuple[SqlRule, ...]:
    """Enrollment names an ACO only from the first day of the ACO's join budget period.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 3.1.1 (ACO budget periods), Sec 4.4.1 (ACOs joining after the
    Preparation Budget Period), Sec 4.4.4 (members enrolled in an ACO).
    """
    if not bounds.aco_period_starts:
        return ()
    joined = " ".join(f"WHEN {n} THEN DATE '{start}'" for n, start in bounds.aco_period_starts)
    return (SqlRule(
        "an ACO is named only from the first month of its join budget period", "aco_id, month",
        (("enrollment", ("member_id", "month", "aco_id")), ("entities", ("entity_id", "join_budget_period"))),
        f"""SELECT e.member_id, e.month, e.aco_id, a.join_budget_period
            FROM enrollment e JOIN entities a ON a.entity_id = e.aco_id
            WHERE e.month < CASE a.join_budget_period {joined} END""",
        lambda r: f"member_id={show(r[0])}, month={r[1]}: aco_id={show(r[2])} joins in budget period {r[3]}",
    ),)


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

    allowed = ["entity_type <> 'aco'"]
    for model, options in tracks.items():
        listed = [t for t in options if t is not None]
        if listed:
            allowed.append(f"(aco_model = {sql_literal(model)} AND {_in('risk_track', listed)})")
        if None in options:
            allowed.append(f"(aco_model = {sql_literal(model)} AND risk_track IS NULL)")
    shown = "; ".join(f"{m}: {', '.join('null' if t is None else str(t) for t in sorted(ts, key=lambda t: t or 0))}"
                      for m, ts in sorted(tracks.items()))
    return (RowRule(f"an ACO's risk_track is one of its model's ({shown})",
                    ("aco_model", "risk_track", "entity_type"), " OR ".join(allowed)),)


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
            Col("birth_date", DATE, checks=(_not_after(bounds.last_day),)),
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
                    f"NOT (eligibility_group = {sql_literal(NOT_ACO_ELIGIBLE_GROUP)} AND aco_eligible)"),
            _present_iff("plan_id", "plan_type <> 'ffs'", "plan_id is null exactly when plan_type is 'ffs'",
                         "plan_type"),
            RowRule(f"plan_id is '{PCC_PLAN_ID}' when plan_type is 'pcc' or 'aco_b'", ("plan_id", "plan_type"),
                    f"NOT {_in('plan_type', ('pcc', 'aco_b'))} "
                    f"OR coalesce(plan_id = {sql_literal(PCC_PLAN_ID)}, false)"),
            _present_iff("aco_id", _in("plan_type", ACO_PLAN_TYPES),
                         "aco_id is given exactly when plan_type is 'aco_a' or 'aco_b'", "plan_type"),
        ), foreign_keys=(
            ForeignKey("member_id", "members", "member_id"),
            ForeignKey("aco_id", "entities", "entity_id", aco),
        ), sql_rules=(_CHC_PCP, *_aco_before_join_rule(bounds))),
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
            _present_iff("aco_model", "entity_type = 'aco'", "aco_model is given exactly for ACOs", "entity_type"),
            RowRule("risk_track and safety_net_category are null unless entity_type is 'aco'",
                    ("risk_track", "safety_net_category", "entity_type"),
                    "coalesce(entity_type = 'aco', false) OR (risk_track IS NULL AND safety_net_category IS NULL)"),
            *_risk_track_rule(bounds.model_risk_tracks),
            _present_iff("mco_id", "aco_model = 'C'", "mco_id is given exactly for model C ACOs", "aco_model"),
        ), foreign_keys=(ForeignKey("mco_id", "entities", "entity_id", ("mco",)),)),
        TableSpec("providers", True, ("npi",), (
            Col("npi", STRING, checks=(_digits(10),)),
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
                    "NOT primary_care_visit OR coalesce(service_category = 'primary_care', false)"),
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
                    "(numerator IS NULL) = (denominator IS NULL)"),
            RowRule("either numerator and denominator, or rate, is given", ("numerator", "denominator", "rate"),
                    "(numerator IS NOT NULL AND denominator IS NOT NULL) OR rate IS NOT NULL"),
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
        TableSpec("medical_capitation", False, ("entity_id", "budget_period"), (
            Col("entity_id", STRING),
            Col("budget_period", INT, checks=(perf,)),
            Col("medical_capitation_usd", FLOAT, checks=(_gt(0),)),
        ), foreign_keys=(ForeignKey("entity_id", "entities", "entity_id", aco),),
            sql_rules=(_PARTNERSHIP_PLANS_ONLY,)),
        TableSpec("dsti_payments", False, ("hospital", "sfy"), (
            Col("hospital", STRING),
            Col("sfy", INT, checks=(_isin(bounds.sfys),)),
            Col("amount", FLOAT, checks=(_ge(0),)),
        )),
        # Sec 4.4.3: the ACO each DSTI hospital contracts with, paid its glide path
        # (dsrip_lib.payments.dsti_contracts; ACO budget periods, both ends included)
        TableSpec("dsti_contracts", False, ("hospital", "from_budget_period"), (
            Col("hospital", STRING),
            Col("aco_id", STRING),
            Col("from_budget_period", INT, checks=(bp,)),
            Col("to_budget_period", INT, checks=(bp,)),
        ), row_rules=(_le_or_null("from_budget_period", "to_budget_period"),), foreign_keys=(
            ForeignKey("hospital", "dsti_payments", "hospital"),
            ForeignKey("aco_id", "entities", "entity_id", aco),
        ), sql_rules=(_ONE_ACO_PER_HOSPITAL,)),
        # Sec 3.4.4.2, 4.5.7: each CSA's actual caseload per month (CSA infrastructure, Exhibit 14)
        TableSpec("csa_caseload", False, ("entity_id", "month"), (
            Col("entity_id", STRING),
            Col("month", DATE, checks=(_first_of_month(), _between(bounds.first_day, bounds.last_day))),
            Col("members", INT, checks=(_ge(0),)),
        ), foreign_keys=(ForeignKey("entity_id", "entities", "entity_id", (CSA_ENTITY_TYPE,)),)),
        TableSpec("statewide_investments", False, ("investment", "budget_period"), (
            Col("investment", STRING),
            Col("budget_period", INT, checks=(bp,)),
            Col("amount", FLOAT, checks=(_ge(0),)),
        )),
        # Sec 4.1, 4.6, 4.7, 5.1.3: the State's recorded moves of DSRIP authority
        # (dsrip_lib.payments.moves judges what each needs from CMS)
        TableSpec("funding_moves", False, ("move_id",), (
            Col("move_id", STRING),
            Col("kind", STRING, checks=(_isin(FUNDING_MOVE_KINDS),)),
            Col("from_stream", STRING, nullable=True),
            Col("from_substream", STRING, nullable=True),
            Col("to_stream", STRING, nullable=True),
            Col("to_substream", STRING, nullable=True),
            Col("demonstration_year", INT, checks=(_ge(1),)),
            Col("amount_usd", FLOAT, checks=(_ge(0),)),
            Col("notified_on", DATE, nullable=True),
            Col("approved_on", DATE, nullable=True),
        ), row_rules=(_le_or_null("notified_on", "approved_on"),)),
        # Sec 3.2, 3.3, 5.5.1: the documents a payment waits for (dsrip_lib.payments.gating); a null
        # approved_on is a document submitted and not (yet) approved
        TableSpec("participation_plans", False, ("entity_id", "plan"), (
            Col("entity_id", STRING),
            Col("plan", STRING, checks=(_isin(PARTICIPATION_PLANS),)),
            Col("submitted_on", DATE),
            Col("approved_on", DATE, nullable=True),
        ), row_rules=(_le_or_null("submitted_on", "approved_on"),),
            foreign_keys=(ForeignKey("entity_id", "entities", "entity_id", PLAN_ENTITY_TYPES),)),
        TableSpec("budgets", False, ("entity_id", "budget_period"), (
            Col("entity_id", STRING),
            Col("budget_period", INT, checks=(bp,)),
            Col("submitted_on", DATE),
            Col("approved_on", DATE, nullable=True),
        ), row_rules=(_le_or_null("submitted_on", "approved_on"),),
            foreign_keys=(ForeignKey("entity_id", "entities", "entity_id", PLAN_ENTITY_TYPES),)),
        TableSpec("progress_reports", False, ("entity_id", "budget_period", "report"), (
            Col("entity_id", STRING),
            Col("budget_period", INT, checks=(bp,)),
            Col("report", INT, checks=(_between(1, 2),)),
            Col("submitted_on", DATE),
            Col("approved_on", DATE, nullable=True),
        ), row_rules=(_le_or_null("submitted_on", "approved_on"),),
            foreign_keys=(ForeignKey("entity_id", "entities", "entity_id", PLAN_ENTITY_TYPES),)),
        # a driver diagram's actuals (dsrip_lib.tracking): the value of a measure in a period, as reported
        # on a date; whether the measure is in the run's diagram is checked when the targets report opens
        TableSpec("target_actuals", False, ("measure_id", "period", "as_of"), (
            Col("measure_id", STRING),
            Col("period", STRING, checks=(_isin(TARGET_PERIODS),)),
            Col("value", FLOAT, checks=(Check("a finite number", lambda c: f"isfinite({c})"),)),
            Col("as_of", DATE),
        )),
    ]
    return {s.name: s for s in specs}


def bounds(program: ProgramArg = None) -> Bounds:
    """The :class:`Bounds` of a program (a Program, its name or path; None = the default program)."""
    return Bounds.from_program(load_program() if program is None else load_program(program))


def tables(program: ProgramArg = None) -> dict[str, TableSpec]:
    """The contract's tables (bounds from ``program``: a Program, a name or path, default MassHealth)."""
    return table_specs(bounds(program))


def spec_of(specs: dict[str, TableSpec], name: str) -> TableSpec:
    """``specs[name]``, or an InputValidationError listing the contract's tables."""
    try:
        return specs[name]
    except KeyError:
        raise InputValidationError(f"unknown table {name!r}; the contract's tables: {', '.join(specs)}") from None


def schema(name: str, program: ProgramArg = None) -> pa.DataFrameSchema:
    """The pandera schema of table ``name`` (its row rules; cross-row rules are in SQL)."""
    return spec_of(tables(program), name).schema()
