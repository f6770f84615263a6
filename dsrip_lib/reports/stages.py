"""Stage results several reports share, computed once per report context and once per run.

A report that composes others (the State score reads the quality, accountability and spending
stages) would otherwise attribute every member-month and scan the claims once per stage. Each
function here computes its stage from the context's program and data the first time it is asked
and keeps the result in ``ctx.computed`` under a key naming the stage and the options it depends
on; the library functions stay pure, this is only the reports' memory of what they computed.
Stages whose results are frames are also kept in the run's :class:`~dsrip_lib.reports.stage_cache.StageCache`
(``ctx.shared``), so the run's other reports, in other processes, read them instead of computing
them again; expressions on the backend (the monthly attribution) stay in the context.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

import ibis.expr.types as ir
import pandas as pd

from dsrip_lib.accountability.adoption import AdoptionResult, adoption_rates
from dsrip_lib.attribution.member_months import monthly_counts
from dsrip_lib.attribution.rules import SnapshotDay, monthly_attribution
from dsrip_lib.evaluation.panel import Panel, member_periods, outcome_panel
from dsrip_lib.program import Program
from dsrip_lib.program.spending import Truncation
from dsrip_lib.quality.aco_quality import AcoQuality, score_aco_quality
from dsrip_lib.quality.benchmarks import benchmarks_frame, read_benchmarks, replace_benchmarks
from dsrip_lib.quality.domain_scores import MissingDomain
from dsrip_lib.reports.context import ReportContext
from dsrip_lib.spending.benchmarks import aco_benchmarks
from dsrip_lib.spending.pmpm import member_year_spending, pmpm_cells

T = TypeVar("T")


def _once(ctx: ReportContext, key: Hashable, compute: Callable[[], T], shared: bool = True) -> T:
    """``compute()`` once per context, and once per run when ``shared`` (its result must pickle)."""
    if key not in ctx.computed:
        ctx.computed[key] = ctx.shared.get(key, compute) if shared and ctx.shared else compute()
    return ctx.computed[key]


def attribution(ctx: ReportContext, day: SnapshotDay = "last") -> ir.Table:
    """The monthly attribution (Sec 4.4.4), an expression on the backend."""
    tables = [ctx.data.table(n) for n in ("enrollment", "pcp_assignments", "providers", "entities")]
    return _once(ctx, ("attribution", day), lambda: monthly_attribution(*tables, ctx.program, day=day), shared=False)


def attributed_counts(ctx: ReportContext, day: SnapshotDay = "last") -> pd.DataFrame:
    """Attributed members per ACO and month (:func:`~dsrip_lib.attribution.member_months.monthly_counts`)."""
    return _once(ctx, ("attributed_counts", day), lambda: monthly_counts(attribution(ctx, day)))


def spending_cells(ctx: ReportContext, truncation: Truncation | None = None) -> pd.DataFrame:
    """PMPM cells from one scan of the claims (:func:`~dsrip_lib.spending.pmpm.pmpm_cells`)."""
    data = ctx.data
    return _once(ctx, ("spending_cells", truncation), lambda: pmpm_cells(
        data.table("claims"), data.table("enrollment"), attribution(ctx), data.table("risk_scores"), ctx.program,
        truncation))


def member_spending(ctx: ReportContext, truncation: Truncation | None = None) -> ir.Table:
    """Included spending per member and year (:func:`~dsrip_lib.spending.pmpm.member_year_spending`),
    an expression whose claims scan stays cached on the backend while the context lives."""
    data = ctx.data
    return _once(ctx, ("member_spending", truncation),
                 lambda: member_year_spending(data.table("claims"), ctx.program, truncation, cache=True), shared=False)


def aco_tcoc(ctx: ReportContext, truncation: Truncation | None = None) -> pd.DataFrame:
    """Every ACO's TCOC benchmark, performance and component per budget period
    (:func:`~dsrip_lib.spending.benchmarks.aco_benchmarks`), Partnership Plans against their
    medical capitation where the data has the ``medical_capitation`` table (Sec 5.3.2)."""
    data = ctx.data
    capitation = data.to_pandas("medical_capitation") if data.has("medical_capitation") else None
    return _once(ctx, ("aco_tcoc", truncation), lambda: aco_benchmarks(spending_cells(ctx, truncation), ctx.program,
                                                                       capitation))


def adoption(ctx: ReportContext, budget_periods: Sequence[int], day: SnapshotDay = "last") -> list[AdoptionResult]:
    """The ACO/APM adoption rate of each of ``budget_periods`` (Sec 5.2.1.1, Exhibit 26), a period
    without ACO-eligible members without a rate (``if_empty="report"``).

    One pass computes every ACO budget period of the program
    (:func:`~dsrip_lib.accountability.adoption.adoption_rates`); a period's result does not depend
    on the others asked with it, so every report reads the one pass.
    """
    data = ctx.data
    every = [p.number for p in ctx.program.calendar.budget_periods("aco")]
    results = {r.budget_period: r for r in _once(ctx, ("adoption", day), lambda: adoption_rates(
        ctx.program, every, *(data.table(n) for n in ("enrollment", "pcp_assignments", "providers", "entities",
                                                      "claims")), day=day, if_empty="report"))}
    return [results[bp] for bp in budget_periods]


def run_benchmarks(program: Program, path: str | None) -> pd.DataFrame:
    """The program's illustrative thresholds and benchmarks, with the run's file (``path``) replacing cells."""
    base = benchmarks_frame(program)
    return base if path is None else replace_benchmarks(base, read_benchmarks(path))


def aco_quality(ctx: ReportContext, benchmarks: str | None, missing_domain: MissingDomain) -> AcoQuality:
    """Every ACO quality score (:func:`~dsrip_lib.quality.aco_quality.score_aco_quality`) against the
    program's thresholds and benchmarks, or the run's file ``benchmarks`` replacing them."""
    data = ctx.data
    return _once(ctx, ("aco_quality", benchmarks, missing_domain), lambda: score_aco_quality(
        *(data.to_pandas(n) for n in ("measure_results", "utilization", "survey_scores", "entities")), ctx.program,
        benchmarks=run_benchmarks(ctx.program, benchmarks), missing_domain=missing_domain))


def impact_panel(ctx: ReportContext, through: dt.date | None = None) -> tuple[Panel, pd.DataFrame]:
    """The evaluation's member-month outcome panel with data through ``through`` (None: all) and its
    member x year sums (:func:`~dsrip_lib.evaluation.panel.outcome_panel`,
    :func:`~dsrip_lib.evaluation.panel.member_periods`)."""
    data = ctx.data

    def compute():
        panel = outcome_panel(data.table("claims"), data.table("enrollment"), attribution(ctx), ctx.program,
                              through=through)
        return panel, member_periods(panel)
    return _once(ctx, ("impact_panel", through), compute, shared=False)  # the panel is an expression
