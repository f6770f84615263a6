"""The State accountability and recoupment report (notebooks/state_accountability_recoupment.ipynb).

The three State domains come from their stages (adoption, the spending-growth chain, the
quality domain tests as the quality_domain_tests report composes them); the ACO and CP/CSA
Accountability Scores from the accountability report's scoring. This module turns them into
the State score of each budget period (:mod:`dsrip_lib.accountability.state`), the authority
earned and lost, where each loss is applied, the Sec 5.1.3 case, the recoupment per entity
(:mod:`dsrip_lib.payments.recoupment`) and a what-if table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from dsrip_lib.accountability.state import (
    NAMES,
    StateScore,
    adoption_domain_of,
    quality_domain_of,
    scored_periods,
    spending_domain_of,
    state_score,
    what_if,
)
from dsrip_lib.errors import ParameterError
from dsrip_lib.payments.recoupment import (
    CASE_TEXT,
    CP_METHODS,
    DistributionCase,
    Recoupment,
    ReductionApplication,
    apply_reduction,
    recoup,
)
from dsrip_lib.program import Program
from dsrip_lib.program.spending import Truncation
from dsrip_lib.reports import accountability, quality_domain_tests, stages
from dsrip_lib.reports.context import ReportContext, open_report
from dsrip_lib.spending.growth import SpendingGrowthResult, spending_growth


class StateOptions(BaseModel):
    """Options of the state_accountability_recoupment report (validated on entry; unknown keys rejected).

    Attributes
    ----------
    budget_periods
        The budget periods walked through; default every period with a State score (Exhibit 25)
        and data for all its domains.
    cp_method
        How the CP class's share of a recoupment is divided among CPs and CSAs: ``"shortfall"``
        (1 - score, as for ACOs; default) or ``"equal"`` (Sec 5.1.1 leaves it to the State).
    recoup_all
        Show a recoupment for every walked-through period with a loss, also where the loss can be
        met by reducing a later period's authority (default: only where no later period is left).
    missing_domain, benchmarks, reading, truncation
        Passed to the quality and accountability stages, as in those reports.
    """

    model_config = ConfigDict(extra="forbid")

    budget_periods: list[int] | None = None
    cp_method: Literal["shortfall", "equal"] = "shortfall"
    recoup_all: bool = False
    missing_domain: Literal["raise", "reweight"] = "raise"
    benchmarks: str | None = None
    reading: quality_domain_tests.Reading = quality_domain_tests.DEFAULT_READING
    truncation: Truncation | None = None


HEADERS = {
    "step": "Step", "item": "Item", "value": "Value", "period": "Budget period", "domain": "Domain",
    "weight": "Exhibit 25 weight", "domain_score": "Domain score", "weighted": "Weighted", "score": "State score",
    "at_risk_usd": "At risk ($)", "earned_usd": "Earned ($)", "lost_usd": "Lost ($)", "applied": "Lost amount applied",
    "undistributed_usd": "Unearned ACO funds ($)", "case": "Sec 5.1.3 case",
    "redistributable_usd": "Redistributable ($)", "shortfall_usd": "Still to meet ($)",
    "entity_id": "Entity", "name": "Name", "entity_class": "Class", "accountability_score": "Accountability score",
    "recouped_usd": "Recouped ($)", "recoupment_weight": "Weight", "varied": "Varied", "setting": "Setting", "state_score": "State score",
    "as_measured": "As measured", "share": "Table F share", "amount_usd": "Class amount ($)",
    "unallocated_usd": "Unallocated ($)", "note": "Note",
}
CLASS_WORDS = {"aco": "ACOs", "community_partners": "CPs and CSAs"}


@dataclass(frozen=True)
class StateRun:
    """Everything the report shows, computed once."""

    program: Program
    labels: dict[int, str]
    scores: dict[int, StateScore] = field(repr=False)
    applied: dict[int, ReductionApplication] = field(repr=False)
    cases: dict[int, DistributionCase] = field(repr=False)
    recoupments: dict[int, Recoupment] = field(repr=False)
    names: pd.DataFrame = field(repr=False)
    cp_method: str = CP_METHODS[0]

    @property
    def periods(self) -> list[int]:
        return sorted(self.scores)


def open_state_report(**parameters) -> ReportContext[StateOptions]:
    """The report's context (:func:`~dsrip_lib.reports.context.open_report` with its options and headers)."""
    return open_report(StateOptions, headers=HEADERS, **parameters)


def growth_of(ctx: ReportContext[StateOptions]) -> SpendingGrowthResult:
    """The spending-growth chain (State domain 2) from the run's claims (Sec 5.2.1.2)."""
    data, program = ctx.data, ctx.program
    cells = stages.spending_cells(ctx, ctx.options.truncation)
    return spending_growth(cells, program, data.to_pandas("dsti_payments") if data.has("dsti_payments") else None)


def score(ctx: ReportContext[StateOptions]) -> StateRun:
    """The State score of each budget period with data for its domains, and where each loss goes.

    Raises
    ------
    ParameterError
        A requested budget period without a State score or without data for one of its domains.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.1.1, 5.1.3, 5.2.1; Appendix C.
    """
    program, opts = ctx.program, ctx.options
    shared = {"benchmarks": opts.benchmarks, "missing_domain": opts.missing_domain}
    quality = quality_domain_tests.score(replace(ctx, options=quality_domain_tests.QualityOptions(
        **shared, reading=opts.reading)))
    entities = accountability.score(replace(ctx, options=accountability.AccountabilityOptions(
        **shared, truncation=opts.truncation)))
    growth = growth_of(ctx)
    candidates = [bp for bp in scored_periods(program) if bp in quality.state]
    adoption = {r.budget_period: r for r in stages.adoption(ctx, candidates)}
    available = {}
    for bp in candidates:
        weights = program.require("state_accountability").domain_weights_in(bp)
        domains = [quality_domain_of(quality.state[bp])]
        if adoption[bp].passed is not None:
            domains.append(adoption_domain_of(adoption[bp]))
        if "spending_growth" in weights and bp in set(growth.summary_table["budget_period"].dropna()):
            domains.append(spending_domain_of(growth, bp))
        if set(weights) <= {d.domain for d in domains}:
            available[bp] = domains
    wanted = opts.budget_periods or sorted(available)
    missing = sorted(set(wanted) - set(available))
    if missing:
        raise ParameterError(f"budget period(s) {missing} have no State score or lack data for a domain; "
                             f"periods available: {sorted(available)}")
    if not wanted:
        raise ParameterError("no budget period has data for every State domain")
    scores = {bp: state_score(available[bp], bp, program) for bp in wanted}
    applied = {bp: apply_reduction(s.lost_cents, bp, program) for bp, s in scores.items()}
    aco = entities.aco
    cases, recoupments = {}, {}
    for bp, s in scores.items():
        unearned = aco.loc[aco["budget_period"] == bp, "unearned_usd"].sum()
        cases[bp] = DistributionCase(int(round(unearned * 100)), s.lost_cents)
        if s.lost_cents and (opts.recoup_all or applied[bp].applied_to is None):
            cp = entities.cp[entities.cp["budget_period"] == bp]
            recoupments[bp] = recoup(s.lost_cents, aco.loc[aco["budget_period"] == bp],
                                     cp[["entity_id", "accountability_score"]], program, cp_method=opts.cp_method)
    labels = {p.number: p.label for p in program.calendar.budget_periods("aco")}
    return StateRun(program, labels, scores, applied, cases, recoupments, entities.names, opts.cp_method)


# -- tables ----------------------------------------------------------------------------------------
def walkthrough_table(run: StateRun, bp: int) -> pd.DataFrame:
    """Appendix C's five steps with the data's numbers, values formatted by unit."""
    walk = run.scores[bp].walkthrough()
    walk["value"] = [("not scored" if pd.isna(v) else f"${v:,.2f}" if unit == "usd" else f"{v:.2%}")
                     for v, unit in zip(walk["value"], walk["unit"])]
    return walk[["step", "item", "value"]]


def domains_table(run: StateRun) -> pd.DataFrame:
    """Exhibit A9 per budget period: weight, domain score and weighted contribution."""
    rows = [s.table().assign(period=run.labels[bp]) for bp, s in run.scores.items()]
    out = pd.concat(rows, ignore_index=True)
    out["domain"] = out["domain"].map(NAMES)
    return out[["period", "domain", "weight", "domain_score", "weighted"]]


def authority_table(run: StateRun) -> pd.DataFrame:
    """Per budget period: State score, at-risk authority, earned, lost and where the loss is applied."""
    rows = []
    for bp, s in run.scores.items():
        applied = run.applied[bp]
        where = ("nothing lost" if not s.lost_cents else "recouped, paid back or other savings"
                 if applied.applied_to is None else f"subtracted from {run.labels[applied.applied_to]}'s authority")
        rows.append({"period": run.labels[bp], "score": s.score, "at_risk_usd": s.at_risk_usd,
                     "earned_usd": s.earned_usd, "lost_usd": s.lost_usd, "applied": where})
    return pd.DataFrame(rows)


def cases_table(run: StateRun) -> pd.DataFrame:
    """Per budget period: the ACOs' unearned at-risk funds against the lost authority (Sec 5.1.3)."""
    return pd.DataFrame([{"period": run.labels[bp], "undistributed_usd": c.undistributed_cents / 100,
                          "lost_usd": c.reduction_cents / 100, "case": CASE_TEXT[c.case],
                          "redistributable_usd": c.redistributable_cents / 100,
                          "shortfall_usd": c.shortfall_cents / 100} for bp, c in run.cases.items()])


def recoupment_table(run: StateRun, bp: int) -> pd.DataFrame:
    """The recoupment of ``bp`` per entity, largest first."""
    rows = run.recoupments[bp].table().merge(run.names[["entity_id", "name"]], on="entity_id", how="left")
    rows["entity_class"] = rows["entity_class"].map(CLASS_WORDS)
    rows = rows.sort_values(["recouped_cents", "entity_id"], ascending=[False, True], ignore_index=True)
    rows = rows.rename(columns={"weight": "recoupment_weight"})
    return rows[["entity_id", "name", "entity_class", "accountability_score", "recoupment_weight", "recouped_usd"]]


def recoupment_classes_table(run: StateRun, bp: int) -> pd.DataFrame:
    """The recoupment of ``bp`` per class: Table F share, amount, what could not be allocated and why."""
    classes = run.recoupments[bp].classes
    return pd.DataFrame({"entity_class": classes["entity_class"].map(CLASS_WORDS), "share": classes["share"],
                         "amount_usd": classes["amount_cents"] / 100,
                         "unallocated_usd": classes["unallocated_cents"] / 100, "note": classes["note"]})


def what_if_table(run: StateRun, bp: int) -> pd.DataFrame:
    """The State score and authority lost as each domain's result varies alone (:func:`what_if`)."""
    table = what_if(run.scores[bp], run.program)
    table["as_measured"] = table["as_measured"].map({True: "yes", False: ""})
    return table[["varied", "setting", "domain_score", "state_score", "lost_usd", "as_measured"]]


# -- prose built from the numbers ------------------------------------------------------------------
def method_text(run: StateRun, ctx: ReportContext[StateOptions], data_dir: str) -> str:
    """The method paragraph: weights, targets and shares from the program, the run's options."""
    program = run.program
    rules = program.require("state_accountability")
    funding, realloc = program.require("funding"), program.require("reallocation")
    shares = " / ".join(f"{CLASS_WORDS[k]} {v:.1%}" for k, v in funding.table_f.shares.items())
    weights = "; ".join(f"{run.labels[bp]}: " + ", ".join(f"{NAMES[d]} {w:.0%}" for d, w in
                                                          rules.domain_weights_in(bp).items())
                        for bp in run.periods)
    return (
        f"**Method.** The State DSRIP Accountability Score is the sum of each domain's score times its Exhibit 25 "
        f"weight ({weights}). Adoption scores 100% when the rate meets the Exhibit 26 target, else 0%; spending "
        f"growth scores by gap-to-goal (0% below {rules.gap_to_goal_floor_share:.0%} of the Exhibit 27 target); "
        f"quality and utilisation is the Exhibit 28 weighted sum of the State's domain tests and avoidable "
        f"utilisation score. No score is rounded (the protocol's Appendix C rounds domain scores first; "
        f"docs/protocol_discrepancies.md, D4-D5). Earned = score x the Exhibit 24 at-risk authority, to the cent; "
        f"lost = at risk - earned. A loss is subtracted from the authority of the budget period "
        f"{realloc.reduction_applied_after_periods} later (Sec 5.1.1); with none left it is recouped. A recoupment "
        f"is split by Table F ({shares}); within ACOs in proportion to 1 - Accountability Score; within CPs and "
        f"CSAs {'the same way' if run.cp_method == 'shortfall' else 'equally'} (a run option; the protocol lets "
        f"the State choose). Data: `{os.path.relpath(data_dir)}`."
        + (" Entity-periods without an eligible measure in a weighted domain are reweighted over the domains "
           "present (a named option, not the protocol's rule)." if ctx.options.missing_domain == "reweight" else "")
    )


def authority_text(run: StateRun) -> str:
    """One sentence per budget period: score, earned, lost, where the loss goes."""
    parts = []
    for bp, s in run.scores.items():
        applied = run.applied[bp]
        where = ("" if not s.lost_cents else "; it is recouped (no later budget period is left)"
                 if applied.applied_to is None else
                 f"; {run.labels[applied.applied_to]}'s authority falls to ${applied.authority_after_cents / 100:,.2f}")
        parts.append(f"In {run.labels[bp]} the State scores {s.score:.2%}, earning ${s.earned_usd:,.2f} and losing "
                     f"${s.lost_usd:,.2f} of ${s.at_risk_usd:,.2f} at risk{where}.")
    return " ".join(parts)


def what_if_caption(run: StateRun, bp: int) -> str:
    return (f"{run.labels[bp]}: the State score and authority lost when one domain's result changes and the others "
            "stay as measured: adoption pass/fail (Exhibit 26), the spending reduction from 0 to its Exhibit 27 "
            "target, each quality domain worse or not (Exhibit 28) and avoidable utilisation at 0% and 100%")
