"""The attribution report (notebooks/attribution.ipynb): its options, its tables, its choices, its charts.

Pure functions: computed tables in (:mod:`dsrip_lib.attribution`,
:mod:`dsrip_lib.accountability.adoption`), the report's tables out, with ACO names beside ids
and budget periods as column labels. Suppression happens when the notebook publishes them
(:class:`~dsrip_lib.publishing.publisher.Publisher`); anything charted or written in prose is
taken from the published frame.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import ibis.expr.types as ir
import pandas as pd
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict, Field, field_validator

from dsrip_lib.accountability.adoption import AdoptionResult
from dsrip_lib.attribution.flows import aco_flow_summary, flow_matrix, flows
from dsrip_lib.attribution.member_months import attributed_members, monthly_counts
from dsrip_lib.attribution.plurality import TieBreak, check_tie_break
from dsrip_lib.attribution.rules import SnapshotDay, monthly_attribution
from dsrip_lib.errors import ParameterError
from dsrip_lib.inputs.codes import ACO_ENTITY_TYPE
from dsrip_lib.program import BudgetPeriod
from dsrip_lib.publishing import charts
from dsrip_lib.publishing.publisher import SUPPRESSED, Publisher, plot_values
from dsrip_lib.reports import stages
from dsrip_lib.reports.context import ReportContext, open_report


class AttributionOptions(BaseModel):
    """Options of the attribution report (validated on entry; unknown keys rejected).

    Attributes
    ----------
    assignment_snapshot_day
        Day of the month on which a PCP assignment must be in effect for the
        member-month to follow it: ``"last"`` (default) or ``"first"``.
    count_method
        ``"average"`` (mean monthly count over the budget period, default) or
        ``"snapshot"`` (members attributed in the period's last month), Sec 4.4.4. Over a
        period the data covers only in part, over (or in the last of) the months covered.
    partial_periods
        ``"include"`` (default) a budget period the data covers only in part, labelled
        with its covered months, or ``"exclude"`` it from every table.
    plurality_as_of
        As-of date of the claims-plurality attribution; default the end of the
        last budget period with data.
    plurality_lookback_months
        Length of the look-back window ending on the as-of date.
    plurality_tie_break
        Order of tie-breaks after the visit count.
    flow_periods
        The two budget periods the flows table compares; default the last two with data.
    """

    model_config = ConfigDict(extra="forbid")

    assignment_snapshot_day: SnapshotDay = "last"
    count_method: Literal["snapshot", "average"] = "average"
    partial_periods: Literal["include", "exclude"] = "include"
    plurality_as_of: dt.date | None = None
    plurality_lookback_months: int = Field(24, ge=1, le=120)
    plurality_tie_break: tuple[TieBreak, ...] = ("most_recent_visit", "provider_id")
    flow_periods: tuple[int, int] | None = None

    @field_validator("plurality_tie_break", "flow_periods", mode="before")
    @classmethod
    def _split_comma_list(cls, value: object) -> object:
        # `-p options.attribution.flow_periods=3,4` arrives as one string
        return [item.strip() for item in value.split(",")] if isinstance(value, str) else value

    @field_validator("plurality_tie_break")
    @classmethod
    def _complete_tie_break(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return check_tie_break(value)
        except ParameterError as exc:  # pydantic reports ValueErrors with the field's location
            raise ValueError(str(exc)) from None

    @field_validator("flow_periods")
    @classmethod
    def _ordered_periods(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and value[0] >= value[1]:
            raise ValueError(f"flow_periods must be an earlier then a later budget period, got {value}")
        return value


# what readers see for the code-named columns of the report's tables (values keep the code names)
HEADERS = {
    "aco_id": "ACO",
    "name": "ACO name",
    "model": "Model",
    "members": "Attributed members",
    "chc_members": "Attributed to CHC PCPs",
    "chc_share": "CHC share",
    "period": "Budget period",
    "from": "Status in the first month",
    "plurality": "By claims plurality",
    "enrollment_or_pcp": "By enrollment or PCP assignment",
    "agree": "Both give this ACO",
    "table": "Table",
    "rows": "Rows",
}
# the coverage table's own words ("from" is the flows matrix's row label elsewhere in the report)
COVERAGE_HEADERS = {"from": "From", "to": "To", "months with rows": "Months with rows",
                    "months spanned": "Months spanned"}
ADOPTION_PATHS = {"path_aco": "via ACO", "path_apm_pcp": "via APM PCP", "path_apm_spending": "via APM spending"}
FLOW_LABELS = {  # members_before and members_after are labelled with their months
    "kept": "kept",
    "lost_to_other_aco": "to other ACO",
    "lost_to_non_aco": "to non-ACO",
    "gained_from_other_aco": "from other ACO",
    "gained_from_non_aco": "from non-ACO",
}


def aco_directory(entities: pd.DataFrame) -> pd.DataFrame:
    """ACOs with their name and model (A, B or C), one row each: ``aco_id``, ``name``, ``model``.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4 (ACO models and how members are attributed to each).
    """
    acos = entities.loc[entities["entity_type"] == ACO_ENTITY_TYPE, ["entity_id", "name", "aco_model"]]
    return acos.rename(columns={"entity_id": "aco_id", "aco_model": "model"}).reset_index(drop=True)


def periods_in_data(periods: Sequence[BudgetPeriod], first_month: dt.date,
                    last_month: dt.date) -> list[BudgetPeriod]:
    """The budget periods overlapping the months the enrollment data covers, in calendar order.

    A period the data covers only in part is cut to the covered months
    (:meth:`~dsrip_lib.program.calendar.BudgetPeriod.clipped`), so that counts over it are
    over the months the data has, and labelled with them.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4 (counts per ACO budget period).
    """
    covered = (p.clipped(first_month, last_month) for p in periods)
    return [p for p in covered if p is not None]


def with_names(table: pd.DataFrame, acos: pd.DataFrame) -> pd.DataFrame:
    """``table`` (keyed by ``aco_id``) with each ACO's name as the second column; rows kept as they are."""
    return acos[["aco_id", "name"]].merge(table, on="aco_id", how="right")


def per_period_wide(
    by_period: pd.DataFrame, value: str, acos: pd.DataFrame, labels: dict[int, str],
    not_applicable: Sequence[int] = (),
) -> pd.DataFrame:
    """One row per ACO, one column per budget period (its label) holding ``value``.

    ``by_period`` has ``aco_id``, ``budget_period`` (a number of ``labels``) and
    ``value``; an ACO without a row in a period gets 0 there (no members). ACOs
    absent from ``by_period`` are left out. Periods in ``not_applicable`` (no members by
    design) show :data:`NOT_APPLICABLE`, not a column of zeros.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4 (member-months and attributed members per ACO and budget period).
    """
    wide = (
        by_period.pivot(index="aco_id", columns="budget_period", values=value)
        .reindex(columns=list(labels))
        .fillna(0)
        .astype(by_period[value].dtype)  # the pivot's gaps made integers float
        .rename(columns=labels)
    )
    wide.columns = [str(c) for c in wide.columns]
    for number in not_applicable:
        wide[labels[number]] = NOT_APPLICABLE
    return acos.merge(wide.reset_index(), on="aco_id", how="right")


NOT_APPLICABLE = "n/a"


def attributed_members_by_period(
    counts: pd.DataFrame, periods: Sequence[BudgetPeriod], method: str
) -> pd.DataFrame:
    """``attributed_members`` of each period, stacked with a ``budget_period`` column.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4 (snapshot or average count per period); Sec 4.4.1 (CHC members).
    """
    frames = [attributed_members(counts, p.start, p.end, method).assign(budget_period=p.number) for p in periods]
    return pd.concat(frames, ignore_index=True)


def chc_share_by_period(members: pd.DataFrame, labels: dict[int, str]) -> pd.DataFrame:
    """Attributed members and CHC-attributed members per budget period, all ACOs.

    ``members`` has ``budget_period``, ``members`` and ``chc_members`` per ACO
    (``attributed_members_by_period``). Returns ``period`` (its label),
    ``members``, ``chc_members``, ``chc_share``, one row per period of ``labels``
    that has members, in the order of ``labels``.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.1 (members attributed to community health centers, the CHC
    variant of Exhibit 7); 4.4.4 (attributed members).
    """
    sums = members.groupby("budget_period")[["members", "chc_members"]].sum()
    out = sums.reindex([n for n in labels if n in sums.index])
    out["chc_share"] = out["chc_members"] / out["members"]
    return out.rename(index=labels).rename_axis("period").reset_index()


def chc_share_by_aco(members: pd.DataFrame, acos: pd.DataFrame, budget_period: int) -> pd.DataFrame:
    """Members, CHC-attributed members and CHC share per ACO in one budget period.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.1 (CHC variant, Exhibit 7); Sec 4.4.4.
    """
    rows = members.loc[members["budget_period"] == budget_period, ["aco_id", "members", "chc_members", "chc_share"]]
    return acos.merge(rows, on="aco_id")


def members_by_model(counts: pd.DataFrame, acos: pd.DataFrame) -> pd.DataFrame:
    """Attributed members per month (rows) and ACO model (columns ``Model A`` ...).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4 (members attributed by enrollment in model A/B ACOs and by
    PCP assignment to model C ACOs).
    """
    models = counts.merge(acos[["aco_id", "model"]], on="aco_id")
    trend = models.pivot_table(index="month", columns="model", values="members", aggfunc="sum", fill_value=0)
    trend.columns = [f"Model {m}" for m in trend.columns]
    trend.index.name = "month"
    return trend


def row_shares(matrix: pd.DataFrame) -> pd.DataFrame:
    """Each cell as a share of its row's total, a missing (suppressed) cell left out.

    The denominator is the sum of the cells shown, not the true row total:
    dividing a published count by its share would otherwise give the total back,
    and with it the suppressed cell. A row with nothing shown is all missing.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4 (movement of members between ACOs and the rest of MassHealth).
    """
    totals = matrix.sum(axis=1, min_count=1)
    return matrix.div(totals.where(totals > 0), axis=0)


def aco_flows_table(summary: pd.DataFrame, acos: pd.DataFrame, month_from: dt.date, month_to: dt.date) -> pd.DataFrame:
    """``aco_flow_summary`` with ACO names and reader-facing column labels.

    The first and last counts are labelled with their months (``Mar 2019``).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4.
    """
    labels = {"members_before": f"{month_from:%b %Y}", **FLOW_LABELS, "members_after": f"{month_to:%b %Y}"}
    return with_names(summary, acos).rename(columns=labels)


def aco_flow_margins(month_from: dt.date, month_to: dt.date) -> dict[str, list[str]]:
    """The row totals of ``aco_flows_table``: members in the first month are kept or lost, in the last kept or gained.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4.
    """
    return {
        f"{month_from:%b %Y}": [FLOW_LABELS[k] for k in ("kept", "lost_to_other_aco", "lost_to_non_aco")],
        f"{month_to:%b %Y}": [FLOW_LABELS[k] for k in ("kept", "gained_from_other_aco", "gained_from_non_aco")],
    }


def flow_column_totals(published_matrix: pd.DataFrame, month_from: dt.date, month_to: dt.date) -> dict[str, float]:
    """What the published flows matrix tells of each column sum of ``aco_flows_table``.

    ``published_matrix`` is the ``flow_matrix`` as published (``from`` a column,
    suppressed cells as markers). Each per-ACO column sums to one matrix cell or a
    sum of matrix cells (kept: ACO to ACO (same); lost to another ACO and gained
    from one: ACO to ACO (other); ...); the sum is NaN where one of those cells is
    hidden, since the reader then cannot take it. A column the matrix dropped (all
    zero) counts 0. For complementary suppression (``Publisher.table(column_totals=)``).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.4 (movement of members between ACOs and the rest of MassHealth).
    """
    shown = plot_values(published_matrix.set_index("from"))
    for col in ("ACO (same)", "ACO (other)", "ACO"):
        if col not in shown:  # the matrix drops all-zero columns
            shown[col] = 0
    aco, others = shown.loc["ACO"], shown.drop(index="ACO")
    same, other = aco["ACO (same)"], aco["ACO (other)"]
    from_non_aco = others["ACO"].sum(skipna=False)
    return {
        f"{month_from:%b %Y}": aco.sum(skipna=False),
        FLOW_LABELS["kept"]: same,
        FLOW_LABELS["lost_to_other_aco"]: other,
        FLOW_LABELS["lost_to_non_aco"]: aco.drop(["ACO (same)", "ACO (other)"]).sum(skipna=False),
        FLOW_LABELS["gained_from_other_aco"]: other,
        FLOW_LABELS["gained_from_non_aco"]: from_non_aco,
        f"{month_to:%b %Y}": same + other + from_non_aco,
    }


def plurality_agreement(plurality: pd.DataFrame, rule: pd.DataFrame) -> tuple[int, float]:
    """Members attributed by both methods, and the fraction both give to the same ACO.

    ``plurality`` and ``rule`` hold ``member_id`` and ``aco_id``; the fraction is
    0.0 when no member is attributed by both.

    References
    ----------
    Connecticut DSS, "A Brief Primer on the Medicaid Quality Improvement and Shared
    Savings Program (MQISSP)" (PCMH claims-plurality attribution); MassHealth DSRIP
    Protocol, Sec 4.4.4.
    """
    both = plurality[["member_id", "aco_id"]].merge(rule[["member_id", "aco_id"]], on="member_id",
                                                    suffixes=("_pl", "_rule"))
    agree = float((both["aco_id_pl"] == both["aco_id_rule"]).mean()) if len(both) else 0.0
    return len(both), agree


def adoption_table(results: Sequence[AdoptionResult], labels: dict[int, str]) -> pd.DataFrame:
    """One row per budget period: ACO-eligible members, members per path, adopted, rate, target, result.

    ``result`` is ``pass``, ``fail``, ``n/a`` where Exhibit 26 sets no target, or
    :data:`NO_ELIGIBLE` (and no rate) for a period without ACO-eligible members.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.1 (MassHealth ACO/APM adoption rate), Exhibit 26.
    """
    return pd.DataFrame([{
        "period": labels[r.budget_period],
        "ACO-eligible": r.denominator,
        **{label: r.by_path[path] for path, label in ADOPTION_PATHS.items()},
        "adopted": r.numerator,
        "rate": r.rate,
        "target": r.target,
        "result": _result(r),
    } for r in results])


NO_ELIGIBLE = "no eligible members"


def _result(r: AdoptionResult) -> str:
    if r.denominator == 0:
        return NO_ELIGIBLE
    return "n/a" if r.passed is None else ("pass" if r.passed else "fail")


# -- opening the report and the attribution every section uses ---------------------------------
def open_attribution_report(**parameters) -> ReportContext[AttributionOptions]:
    """The report's context from the notebook's parameters (``registry.NOTEBOOK_PARAMETERS``)."""
    return open_report(AttributionOptions, headers=HEADERS, **parameters)


@dataclass(frozen=True)
class Attribution:
    """The monthly attribution the report's sections share, and the budget periods the data covers.

    ``labels`` maps each period number to its label (``BP 1``); ``counts`` is
    :func:`~dsrip_lib.attribution.member_months.monthly_counts` of ``monthly``.
    """

    acos: pd.DataFrame
    monthly: ir.Table
    counts: pd.DataFrame
    periods: list[BudgetPeriod]
    first_period_with_members: int

    @property
    def labels(self) -> dict[int, str]:
        return {p.number: p.label for p in self.periods}

    @property
    def without_members(self) -> list[int]:
        """Periods in which the program attributes no one by design (Prep: Sec 5.3, line 1491)."""
        return [p.number for p in self.periods if p.number < self.first_period_with_members]

    @property
    def count_columns(self) -> list[str]:
        """Labels of the periods whose per-ACO columns hold counts."""
        return [p.label for p in self.periods if p.number not in self.without_members]

    def not_applicable_note(self) -> str:
        """A caption sentence for the periods shown as not applicable ("" when there are none)."""
        if not self.without_members:
            return ""
        named = ", ".join(self.labels[n] for n in self.without_members)
        return (f"; {NOT_APPLICABLE}: {named}, in which ACOs have no enrolled or attributed members by design "
                f"(Sec 5.3)")

    @property
    def member_months(self) -> int:
        return int(self.counts["members"].sum())


def attribute(ctx: ReportContext[AttributionOptions]) -> Attribution:
    """Attribute every enrollment month (Sec 4.4.4) and find the ACO budget periods the data covers.

    Raises
    ------
    ParameterError
        When the enrollment months overlap no ACO budget period of the program.
    """
    data, opts = ctx.data, ctx.options
    tables = (data.table(n) for n in ("enrollment", "pcp_assignments", "providers", "entities"))
    monthly = monthly_attribution(*tables, ctx.program, day=opts.assignment_snapshot_day)
    enrollment = data.table("enrollment")
    first_last = enrollment.aggregate(first=enrollment.month.min(), last=enrollment.month.max()).execute()
    span = first_last.at[0, "first"], first_last.at[0, "last"]
    periods = periods_in_data(ctx.program.calendar.budget_periods("aco"), *span)
    if opts.partial_periods == "exclude":
        periods = [p for p in periods if not p.partial]
    if not periods:
        whole = " wholly" if opts.partial_periods == "exclude" else ""
        raise ParameterError(f"enrollment months {span[0]}..{span[1]}{whole} cover no ACO budget period of "
                             f"program {ctx.program.name!r}")
    rules = ctx.program.attribution
    first = periods[0].number if rules is None else rules.first_budget_period_with_members
    return Attribution(aco_directory(data.to_pandas("entities")), monthly, monthly_counts(monthly), periods, first)


# -- the report's choices ------------------------------------------------------------------------
COUNT_METHOD_WORDS = {
    "average": "the average of the monthly counts over every month of the budget period",
    "snapshot": "a snapshot of the members attributed in the budget period's last month",
}


def flow_periods(opts: AttributionOptions, periods: Sequence[BudgetPeriod]) -> tuple[BudgetPeriod, BudgetPeriod] | None:
    """The two budget periods the flows table compares: ``opts.flow_periods``, else the last two with data.

    None when the data covers a single budget period (:data:`FLOWS_NEED_TWO_PERIODS` says so
    in the report); flows compare the last covered month of each.

    Raises
    ------
    ParameterError
        When ``opts.flow_periods`` names a period the data does not cover.
    """
    by_number = {p.number: p for p in periods}
    if opts.flow_periods is None:
        return (periods[-2], periods[-1]) if len(periods) > 1 else None
    missing = [n for n in opts.flow_periods if n not in by_number]
    if missing:
        raise ParameterError(f"options.attribution.flow_periods: the data covers no budget period {missing} "
                             f"(it covers {sorted(by_number)})")
    return by_number[opts.flow_periods[0]], by_number[opts.flow_periods[1]]


FLOWS_NEED_TWO_PERIODS = ("**Flows between budget periods** are not shown: they compare two budget periods and "
                          "the data covers only {label}.")


def partial_note(periods: Sequence[BudgetPeriod]) -> str:
    """A sentence naming the periods the data covers only in part, or "" when it covers every one whole."""
    partial = [p for p in periods if p.partial]
    if not partial:
        return ""
    named = ", ".join(f"{p.label.split(' (')[0]} ({p.start:%b %Y} to {p.end:%b %Y} of {p.whole.start:%b %Y} to "
                      f"{p.whole.end:%b %Y})" for p in partial)
    return (f" The data covers {named} only in part: counts there are over the months covered, and the "
            f"period's label shows them.")


def plurality_as_of(opts: AttributionOptions, periods: Sequence[BudgetPeriod]) -> dt.date:
    """The as-of date of the claims-plurality cross-check: ``opts.plurality_as_of``, else the last period's end."""
    return opts.plurality_as_of or periods[-1].end


def adoption_results(ctx: ReportContext[AttributionOptions],
                     periods: Sequence[BudgetPeriod]) -> list[AdoptionResult]:
    """The ACO/APM adoption rate of every budget period with data (Sec 5.2.1.1, Exhibit 26).

    A period without ACO-eligible members comes back without a rate, for the table to say so.
    """
    return stages.adoption(ctx, [p.number for p in periods], ctx.options.assignment_snapshot_day)


def adoption_tally(results: Sequence[AdoptionResult], labels: dict[int, str]) -> tuple[list[str], list[str]]:
    """Labels of the scored budget periods whose target was met, and of those where it was missed.

    The Preparation Budget Period has no target (Exhibit 26: NA) and is in neither list.
    """
    scored = [r for r in results if r.passed is not None]
    met = [labels[r.budget_period] for r in scored if r.passed]
    return met, [labels[r.budget_period] for r in scored if not r.passed]


# -- charts (from published, suppressed tables) -------------------------------------------------
def trend_chart(by_model: pd.DataFrame, periods: Sequence[BudgetPeriod]) -> tuple[Figure, str]:
    """Stacked monthly attributed members by ACO model, and its alt text.

    ``by_model`` is ``members_by_model`` after suppression (a model-month of 1-10 is drawn as none).
    """
    trend = by_model.fillna(0)
    trend.columns.name = "ACO model"
    fig = charts.stacked_by_month(trend, [(p.start, p.label) for p in periods],
                                  "Attributed members by month and ACO model", "Attributed members (people)")
    alt = (f"Stacked area chart of attributed members per month by ACO model, {trend.index.min():%b %Y} to "
           f"{trend.index.max():%b %Y}; {int(trend.iloc[-1].sum()):,} members in the last month.")
    return fig, alt


def flows_chart(published_flows: pd.DataFrame, from_period: BudgetPeriod, to_period: BudgetPeriod,
                month_from: dt.date, month_to: dt.date) -> tuple[Figure, str]:
    """Heat map of each first-month status's share going to each second-month status, and its alt text."""
    shown = plot_values(published_flows).set_index("from")
    shares = row_shares(shown)
    hidden = shares.isna() & shown.isna()
    fig = charts.share_heatmap(shares, hidden, f"Where members went: {from_period.label} to {to_period.label}",
                               f"Status, {month_to:%b %Y}", f"Status, {month_from:%b %Y}")
    stay = shares.loc["ACO"].get("ACO (same)", 0.0) if "ACO" in shares.index else 0.0
    alt = (f"Heat map of the share of members in each status in {month_from:%b %Y} by their status in "
           f"{month_to:%b %Y}; " + ("the ACO members who stayed in the same ACO are suppressed." if pd.isna(stay)
                                    else f"{stay:.0%} of ACO members stayed in the same ACO."))
    return fig, alt


def publish_flows(pub: Publisher, ctx: ReportContext[AttributionOptions], att: Attribution) -> None:
    """The flows section: the status matrix between two budget periods, its chart and the per-ACO flows.

    With data covering one budget period it says why there is nothing to compare.
    """
    pair = flow_periods(ctx.options, att.periods)
    if pair is None:
        pub.text(FLOWS_NEED_TWO_PERIODS.format(label=att.periods[0].label))
        return
    p_from, p_to = pair
    m_from, m_to = p_from.months[-1], p_to.months[-1]
    flow = flows(ctx.data.table("enrollment"), att.monthly, m_from, m_to)
    matrix = flow_matrix(flow)
    pub.table("flows", matrix,
              caption=f"Members by status in {m_from:%b %Y} (rows, last month of {p_from.label}) and "
                      f"{m_to:%b %Y} (columns, last month of {p_to.label}); ACO (same) / ACO (other): an ACO "
                      f"member in the same or another ACO; members enrolled in neither month are not counted",
              counts=list(matrix.columns))
    fig, alt = flows_chart(pub.published("flows"), p_from, p_to, m_from, m_to)
    pub.figure(fig, "flows", alt=alt, caption=FLOWS_CHART_CAPTION)
    per_aco = aco_flows_table(aco_flow_summary(flow), att.acos, m_from, m_to)
    # additive structure, so that no suppressed count comes back by subtraction from a row or a column sum
    pub.table("ACO flows", per_aco,
              caption=f"Members per ACO in {m_from:%b %Y}, kept, lost (to another ACO or out of ACOs), gained "
                      f"(from another ACO or from outside ACOs), and members in {m_to:%b %Y}",
              counts=[c for c in per_aco.columns if c not in ("aco_id", "name")],
              margins=aco_flow_margins(m_from, m_to),
              column_totals=flow_column_totals(pub.published("flows"), m_from, m_to),
              equal_sums=[("to other ACO", "from other ACO")])


FLOWS_CHART_CAPTION = (f"Cells of 1-10 members are suppressed (marked {SUPPRESSED}); shares are of the members "
                       f"shown in the row, so that no suppressed cell can be worked back from them.")


def adoption_chart(published_adoption: pd.DataFrame) -> tuple[Figure, str]:
    """Adoption rate per budget period against its Exhibit 26 target, and its alt text."""
    adopt = plot_values(published_adoption)
    outcomes = [r if r in ("pass", "fail") else "n/a" for r in adopt.result]
    fig = charts.rate_against_target(list(adopt.period), list(adopt.rate), list(adopt.target), outcomes,
                                     "ACO/APM adoption rate against the Exhibit 26 target", "ACO budget period",
                                     "Share of ACO-eligible members (%)", "Exhibit 26 target")

    def described(a) -> str:
        if a.result == NO_ELIGIBLE:
            return f"{a.period} {NO_ELIGIBLE}"
        shown = "suppressed" if pd.isna(a.rate) else f"{a.rate:.1%}"
        return f"{a.period} {shown}" + ("" if a.result == "n/a" else f" vs {a.target:.0%} ({a.result})")

    alt = "Bar chart of the adoption rate per budget period with the target as a marker: " + "; ".join(
        described(a) for a in adopt.itertuples())
    return fig, alt
