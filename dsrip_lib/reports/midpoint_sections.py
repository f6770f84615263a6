"""The midpoint assessment's goal sections (the delivery sections are in ``midpoint_delivery``): each a table and the sentences written from that table.

Every section function takes the :class:`~dsrip_lib.reports.midpoint_run.MidpointRun` and returns a
:class:`Section`: the table the report publishes, its caption and formats, the sentences written
from the same frame (every number in them is a cell of the table, formatted by the functions
below), and the findings the executive summary lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dsrip_lib.inputs.codes import ACO_ENTITY_TYPE
from dsrip_lib.quality.points import PROPORTION_KINDS
from dsrip_lib.reports import quality_domain_tests
from dsrip_lib.reports.midpoint_run import NOT_ASSESSABLE, OFF_TRACK, ON_TRACK, MidpointRun
from dsrip_lib.reports.midpoint_uncertainty import (
    mean_changes,
    normal_estimate,
    paired_change,
    proportion_interval,
)
from dsrip_lib.stats.intervals import oe_ratio_interval


# -- how numbers are written (the tests format table cells the same way) ----------------------------
def pct(x: float) -> str:
    return f"{x:.2%}"


def usd(x: float) -> str:
    return f"${x:,.0f}"


def pmpm(x: float) -> str:
    return f"${x:,.2f}"


def count(x: float) -> str:
    return f"{x:,.0f}"


def ratio(x: float) -> str:
    return f"{x:.3f}"


FORMATTERS = (pct, usd, pmpm, count, ratio)


@dataclass(frozen=True)
class Finding:
    """One line of the executive summary: the goal, a sentence with its number, the status, and the
    headline value (``key``, ``value``, ``description``) published to results.json (None: none),
    with any further ``(key, value, description)`` published beside it (``more``: an interval's bounds)."""

    goal: str
    text: str
    status: str
    key: str | None = None
    value: float | None = None
    description: str = ""
    more: tuple[tuple[str, float, str], ...] = ()


@dataclass(frozen=True)
class Section:
    """A goal's table (code-named columns), caption, display formats, count columns, prose and findings."""

    table: pd.DataFrame
    caption: str
    sentences: list[str]
    findings: list[Finding] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)
    counts: list[str] = field(default_factory=list)

    @property
    def prose(self) -> str:
        return " ".join(self.sentences)


SHARE, MONEY, DOLLARS, RATIO, P = "{:.2%}", "{:,.0f}", "{:,.2f}", "{:.3f}", "{:.3f}"


def interval_text(low: float, high: float, formatter=pct) -> str:
    return f"interval {formatter(low)} to {formatter(high)}"


# -- ACO/APM adoption (Sec 5.2.1.1, Exhibit 26) -----------------------------------------------------
def adoption_section(run: MidpointRun) -> Section:
    """The ACO/APM adoption rate of every budget period through the midpoint, with its Wilson interval,
    against its Exhibit 26 target.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.1 and Exhibit 26.
    """
    confidence, rows = run.options.confidence, []
    for r in run.adoption:
        low, high = proportion_interval(r.numerator, r.denominator, confidence) if r.denominator else (None, None)
        status = NOT_ASSESSABLE if r.passed is None else ON_TRACK if r.passed else OFF_TRACK
        rows.append({"period": run.labels[r.budget_period], "eligible": r.denominator, "adopted": r.numerator,
                     "rate": r.rate, "ci_low": low, "ci_high": high, "target": r.target, "status": status})
    table = pd.DataFrame(rows)
    last = table.iloc[-1]
    if last["target"] is None or pd.isna(last["target"]):
        text = (f"In {last['period']}, {pct(last['rate'])} of {count(last['eligible'])} ACO-eligible members were in "
                f"an ACO or an alternative payment model ({interval_text(last['ci_low'], last['ci_high'])}); the period "
                f"has no adoption target.")
    else:
        text = (f"In {last['period']}, {pct(last['rate'])} of {count(last['eligible'])} ACO-eligible members were in "
                f"an ACO or an alternative payment model ({interval_text(last['ci_low'], last['ci_high'])}), against a "
                f"target of {pct(last['target'])}: {last['status']}.")
    finding = Finding("ACO/APM adoption", text, last["status"], "adoption_rate",
                      float(last["rate"]), f"ACO/APM adoption rate, {run.through.label}")
    caption = (f"ACO/APM adoption rate per budget period (Sec 5.2.1.1) with its Wilson "
               f"{run.options.confidence:.0%} interval, against the Exhibit 26 target (blank: none)")
    return Section(table, caption, [text], [finding],
                   {"rate": SHARE, "ci_low": SHARE, "ci_high": SHARE, "target": SHARE},
                   ["eligible", "adopted"])


# -- spending growth against the trended PMPM (Sec 5.2.1.2, Exhibit 27) -----------------------------
def spending_section(run: MidpointRun) -> Section:
    """Each measured year's reduction off the trended PMPM with its interval and minimum detectable
    difference, against the Exhibit 27 target where one is stated (else against the trend itself).

    The interval takes the spread of the ACO population's member costs (delta-method standard error
    of the PMPM, :func:`~dsrip_lib.spending.variation.pmpm_variance`), scaled to the risk-adjusted
    actual PMPM; the trended PMPM is taken as fixed.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 and Exhibit 27; Appendix C, step 2.
    """
    opts = run.options
    summary = run.growth.summary_table
    summary = summary[summary["budget_period"].le(run.through.number).fillna(False)]
    se = run.spending_se.set_index("year")
    rows = []
    for r in summary.itertuples():
        spread = se.loc[r.year]
        se_reduction = spread["se_pmpm"] * r.actual_pmpm / spread["actual_pmpm"] / r.average_trended_pmpm
        est = normal_estimate(float(r.percent_reduction), float(se_reduction), int(spread["members"]),
                              opts.confidence, opts.power)
        target = None if pd.isna(r.target) else float(r.target)
        status = (ON_TRACK if r.score == 1 else OFF_TRACK) if target is not None else (
            ON_TRACK if r.percent_reduction >= 0 else OFF_TRACK)
        rows.append({"period": run.labels[int(r.budget_period)], "year": int(r.year),
                     "trended_pmpm": r.average_trended_pmpm, "actual_pmpm": r.actual_pmpm,
                     "reduction": est.value, "ci_low": est.low, "ci_high": est.high, "mdd": est.mdd,
                     "target": target, "status": status})
    table = pd.DataFrame(rows)
    last = table.iloc[-1]
    side = "under" if last["reduction"] >= 0 else "over"
    text = (f"In {last['period']} the ACO population's risk-adjusted PMPM net of DSTI savings was "
            f"{pmpm(last['actual_pmpm'])} against a trended {pmpm(last['trended_pmpm'])}: "
            f"{pct(abs(last['reduction']))} {side} the trend ({interval_text(last['ci_low'], last['ci_high'])})")
    text += (f", against a reduction target of {pct(last['target'])}: {last['status']}." if last["target"] is not None
             and not pd.isna(last["target"]) else f"; the period has no reduction target: {last['status']} against "
             "the trend.")
    sentences = [text]
    if abs(last["reduction"]) < last["mdd"]:
        sentences.append(f"The difference is smaller than the {pct(last['mdd'])} the data can detect: it cannot be "
                         "told apart from spending on the trend.")
    finding = Finding("Spending growth", text, last["status"], "spending_reduction",
                      float(last["reduction"]), f"Reduction off the trended PMPM, {run.through.label}")
    caption = (f"The ACO population's PMPM against the CY2017 PMPM trended at the program's rate (Sec 5.2.1.2): the "
               f"reduction, its {opts.confidence:.0%} interval from the spread of member costs, the minimum "
               f"detectable difference at {opts.power:.0%} power, and the Exhibit 27 target (blank: none, judged against the "
               "trend itself)")
    return Section(table, caption, sentences, [finding],
                   {"trended_pmpm": DOLLARS, "actual_pmpm": DOLLARS, **{c: SHARE for c in (
                       "reduction", "ci_low", "ci_high", "mdd", "target")}})


def aco_spending_section(run: MidpointRun) -> Section:
    """Every ACO's savings against its TCOC benchmark in the midpoint period with its interval; losses
    whose interval lies below zero are beyond chance.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.2 and Exhibit 39; 42 CFR 425.604 (random variation of savings).
    """
    bp = run.through.number
    rows = run.tcoc[run.tcoc["budget_period"] == bp]
    if rows.empty or run.aco_variation.empty:
        text = f"No ACO has a TCOC benchmark in {run.through.label}: ACO spending cannot be assessed."
        return Section(pd.DataFrame(columns=["entity_id", "name"]), "ACO savings against benchmarks", [text],
                       [Finding("ACO spending", text, NOT_ASSESSABLE)])
    variation = run.aco_variation.set_index("entity_id")
    table = rows[["entity_id", "member_months", "reference_pmpm", "performance_pmpm", "savings_share",
                  "tcoc_component"]].merge(run.names[["entity_id", "name"]], on="entity_id", how="left")
    table["ci_low"] = table["entity_id"].map(variation["ci_low_rate"])
    table["ci_high"] = table["entity_id"].map(variation["ci_high_rate"])
    table["finding"] = np.where(table["ci_high"] < 0, "loss beyond chance",
                                np.where(table["ci_low"] > 0, "savings beyond chance", "within chance"))
    table = table.assign(period=run.through.label).sort_values(["savings_share", "entity_id"], ignore_index=True)[
        ["period", "entity_id", "name", "member_months", "reference_pmpm", "performance_pmpm", "savings_share", "ci_low",
         "ci_high", "tcoc_component", "finding"]]
    losers = table[table["finding"] == "loss beyond chance"]
    if losers.empty:
        text = f"In {run.through.label} no ACO spent more than its TCOC benchmark beyond chance."
    else:
        each = "; ".join(f"{r.entity_id} ({pct(r.savings_share)}, {interval_text(r.ci_low, r.ci_high)})"
                         for r in losers.itertuples())
        text = f"In {run.through.label} these ACOs spent more than their TCOC benchmark beyond chance: {each}."
    status = ON_TRACK if losers.empty else OFF_TRACK
    caption = (f"Each ACO's savings (+) or losses (-) as a share of its TCOC benchmark in {run.through.label} "
               f"(Sec 5.3.2) with the {run.options.confidence:.0%} interval from the spread of its members' costs; "
               "a loss whose interval lies below zero is beyond chance")
    return Section(table, caption, [text], [Finding("ACO spending", text, status)],
                   {"reference_pmpm": DOLLARS, "performance_pmpm": DOLLARS, "savings_share": SHARE, "ci_low": SHARE,
                    "ci_high": SHARE, "tcoc_component": SHARE}, ["member_months"])


# -- quality domains (Sec 5.2.1.3, Exhibit 28) -------------------------------------------------------
def quality_section(run: MidpointRun) -> Section:
    """Each quality domain's aggregate score, the van Elteren decision against the pooled earlier
    periods, and the change of the ACOs' mean domain score with its Welch interval and minimum
    detectable difference, for every tested budget period through the midpoint.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3, Exhibit 28; Appendix C, step 3(a).
    """
    q, opts = run.quality, run.options
    tested = [bp for bp in q.tested if bp <= run.through.number]
    names = q.domain_names()
    if not tested:
        text = f"No quality domain is tested through {run.through.label}: a test needs an earlier budget period."
        return Section(pd.DataFrame(columns=["period", "domain"]), "Quality domain tests", [text],
                       [Finding("Quality domains", text, NOT_ASSESSABLE)])
    aggregate = quality_domain_tests.aggregate_table(q).set_index(["period", "domain"])
    rates = q.aco.rates[q.aco.rates["eligible"].astype(bool)]
    oriented = rates.assign(rate=rates["rate"] * np.where(rates["higher_is_better"].astype(bool), 1, -1))
    rows = []
    for bp in tested:
        for t in q.tests[bp].table().itertuples():
            est = paired_change(_aco_changes(oriented[oriented["domain"] == t.domain], bp), opts.confidence,
                                opts.power)
            worse = bool(t.worse) if getattr(t, "testable", True) else None
            status = NOT_ASSESSABLE if worse is None else OFF_TRACK if worse else ON_TRACK
            agg = aggregate.loc[(run.labels[bp], names[t.domain])]
            rows.append({"period": run.labels[bp], "domain": names[t.domain], "score": agg["score"],
                         "pooled": agg["pooled"], "change": est.value, "ci_low": est.low, "ci_high": est.high,
                         "mdd": est.mdd, "z": t.z, "p_asymptotic": t.p_asymptotic,
                         "decision": agg["decision"], "status": status})
    table = pd.DataFrame(rows)
    sentences = []
    for r in table[table["period"] == run.labels[tested[-1]]].itertuples():
        head = (f"{r.domain} in {r.period}: " + ("statistically worse than the earlier periods"
                                                 if r.status == OFF_TRACK else "not worse than the earlier periods")
                + f" (p {ratio(r.p_asymptotic)}); the ACOs' measure rates changed by {ratio(r.change)} on average "
                f"({interval_text(r.ci_low, r.ci_high, ratio)})")
        below = abs(r.change) < r.mdd
        sentences.append(head + (f", smaller than the {ratio(r.mdd)} these ACOs can detect, so the data cannot tell "
                                 "it from no change." if below else "."))
    latest = table[table["period"] == run.labels[tested[-1]]]
    worse = latest[latest["status"] == OFF_TRACK]
    if len(worse):
        text = (f"In {latest['period'].iloc[0]} " + "; ".join(f"{r.domain} (p {ratio(r.p_asymptotic)})"
                                                              for r in worse.itertuples())
                + " scored statistically worse than the earlier periods.")
    else:
        text = f"In {latest['period'].iloc[0]} no quality domain scored statistically worse than the earlier periods."
    status = OFF_TRACK if len(worse) else ON_TRACK
    alpha = run.program.require("state_accountability").quality_utilization.alpha
    caption = (f"Each quality domain's member-weighted aggregate score, the pooled earlier periods and the van Elteren "
               f"decision at alpha {alpha:g} (Sec 5.2.1.3), with the test's own observations summarised: the mean over "
               f"ACOs of each ACO's change in its measure rates (oriented higher-is-better) from the pooled earlier "
               f"periods, its {opts.confidence:.0%} t interval and the minimum detectable change at {opts.power:.0%} "
               "power")
    return Section(table, caption, sentences, [Finding("Quality domains", text, status)],
                   {c: SHARE for c in ("score", "pooled")} | {c: RATIO for c in ("change", "ci_low", "ci_high", "mdd",
                                                                                 "z", "p_asymptotic")})


def _aco_changes(rates: pd.DataFrame, bp: int) -> pd.Series:
    """Per ACO (the test's stratum), its mean rate in ``bp`` minus its mean rate in the earlier periods."""
    now = rates[rates["budget_period"] == bp].groupby("entity_id")["rate"].mean()
    before = rates[rates["budget_period"] < bp].groupby("entity_id")["rate"].mean()
    return (now - before).dropna()


def improvement_section(run: MidpointRun) -> Section:
    """Each ACO's trajectory: the mean per-period change of its measure rates on the log-odds scale
    (direction-adjusted, one slope per measure over the budget periods through the midpoint), its
    t interval across measures, and the Benjamini-Hochberg adjusted p-value across ACOs.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.2 (improvement over self), Sec 6.4.1 (progress toward goals).
    """
    opts = run.options
    kinds = {m.id: m.kind for m in run.program.require("measures").slate(ACO_ENTITY_TYPE)}
    scored = run.quality.aco.scored
    rates = scored[scored["eligible"].astype(bool) & scored["measure_id"].map(kinds).isin(PROPORTION_KINDS)
                   & (scored["budget_period"] <= run.through.number) & scored["rate"].between(0, 1, "neither")]
    logit = np.log(rates["rate"] / (1 - rates["rate"])) * np.where(rates["higher_is_better"].astype(bool), 1, -1)
    frame = rates[["entity_id", "measure_id", "budget_period"]].assign(y=logit.to_numpy())
    slopes = frame.groupby(["entity_id", "measure_id"]).apply(_slope, include_groups=False).dropna()
    changes = mean_changes(slopes.rename("slope").reset_index(), "entity_id", "slope", opts.confidence)
    alpha = 1 - opts.confidence
    changes["status"] = np.where(changes["adjusted_pvalue"] >= alpha, "no change beyond chance",
                                 np.where(changes["mean"] > 0, "improving", "worsening"))
    table = changes.merge(run.names[["entity_id", "name"]], on="entity_id", how="left").sort_values(
        ["statistic", "entity_id"], ascending=[False, True], ignore_index=True).rename(
        columns={"units": "measures", "mean": "change"})[
        ["entity_id", "name", "measures", "change", "ci_low", "ci_high", "pvalue", "adjusted_pvalue", "status"]]
    if table.empty:
        text = f"No ACO has measure rates in two budget periods through {run.through.label}."
        return Section(table, "ACO quality trajectories", [text], [Finding("ACO quality trajectories", text,
                                                                           NOT_ASSESSABLE)])
    top = table.iloc[0]
    sentences = [f"{top['entity_id']} shows the strongest evidence of improvement: its measure rates changed by {ratio(top['change'])} on the "
                 f"log-odds scale per budget period across {count(top['measures'])} measures "
                 f"({interval_text(top['ci_low'], top['ci_high'], ratio)}, p {ratio(top['pvalue'])}, adjusted "
                 f"{ratio(top['adjusted_pvalue'])})."]
    improving, worsening = (table[table["status"] == s] for s in ("improving", "worsening"))
    named = [f"{label}: " + ", ".join(rows["entity_id"]) for label, rows in (("improving beyond chance", improving),
                                                                              ("worsening beyond chance", worsening))
             if len(rows)]
    text = ("After adjusting for comparing every ACO, " + ("; ".join(named) if named else
                                                           "no ACO's trajectory is beyond chance") + ".")
    sentences.append(text)
    status = OFF_TRACK if len(worsening) else ON_TRACK
    caption = (f"Each ACO's mean change per budget period of its measure rates (log-odds, positive = better) through "
               f"{run.through.label}, with its {opts.confidence:.0%} t interval across measures, the p-value and the "
               "Benjamini-Hochberg adjusted p-value across ACOs; ordered by the strength of the evidence (t)")
    return Section(table, caption, sentences, [Finding("ACO quality trajectories", " ".join(sentences), status)],
                   {c: RATIO for c in ("change", "ci_low", "ci_high", "pvalue", "adjusted_pvalue")}, ["measures"])


def _slope(group: pd.DataFrame) -> float:
    """Least-squares slope of ``y`` on the budget period (NaN with fewer than two periods)."""
    x = group["budget_period"].to_numpy(float)
    if len(np.unique(x)) < 2:
        return np.nan
    return float(np.polyfit(x, group["y"].to_numpy(float), 1)[0])


# -- avoidable utilisation (Sec 5.2.1.3, Exhibit 29) -------------------------------------------------
def utilization_section(run: MidpointRun) -> Section:
    """The State's avoidable utilisation per tested budget period and measure: O/E with its exact
    Poisson interval, the reduction off the baseline O/E with its interval, against Exhibit 29.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 and Exhibit 29; Appendix C, step 3(b).
    """
    q, alpha = run.quality, 1 - run.options.confidence
    slate = run.program.require("measures")
    rows = []
    for bp in (b for b in q.tested if b <= run.through.number):
        for r in q.utilization[bp].table().itertuples():
            ci = oe_ratio_interval(float(r.observed), float(r.expected), alpha=alpha)
            rows.append({"period": run.labels[bp], "measure": slate.measure(ACO_ENTITY_TYPE, r.measure_id).name,
                         "observed": r.observed, "oe_ratio": r.oe_ratio, "ci_low": ci.low, "ci_high": ci.high,
                         "baseline_oe": r.baseline_oe_ratio, "reduction": r.reduction,
                         "reduction_low": 1 - ci.high / r.baseline_oe_ratio,
                         "reduction_high": 1 - ci.low / r.baseline_oe_ratio, "target": r.target, "score": r.score,
                         "status": ON_TRACK if r.score == 1 else OFF_TRACK})
    table = pd.DataFrame(rows)
    if table.empty:
        text = f"Avoidable utilisation has no target through {run.through.label}."
        return Section(table, "Avoidable utilisation", [text], [Finding("Avoidable utilisation", text, NOT_ASSESSABLE)])
    latest = table[table["period"] == table["period"].iloc[-1]]
    findings, sentences = [], []
    for r in latest.itertuples():
        text = (f"{r.measure} in {r.period}: O/E {ratio(r.oe_ratio)} against a baseline of {ratio(r.baseline_oe)}, a "
                f"reduction of {pct(r.reduction)} ({interval_text(r.reduction_low, r.reduction_high)}) against a target "
                f"of {pct(r.target)}: {r.status}.")
        sentences.append(text)
        findings.append(Finding("Avoidable utilisation", text, r.status))
    caption = (f"Statewide avoidable utilisation of ACO members (Sec 5.2.1.3): O/E with its exact Poisson "
               f"{run.options.confidence:.0%} interval, the reduction off the baseline O/E with its interval (baseline "
               "taken as fixed), the Exhibit 29 target and the gap-to-goal score")
    return Section(table, caption, sentences, findings,
                   {c: RATIO for c in ("oe_ratio", "ci_low", "ci_high", "baseline_oe")}
                   | {c: SHARE for c in ("reduction", "reduction_low", "reduction_high", "target", "score")},
                   ["observed"])
