"""The midpoint assessment's compliance, impact, threats and ratings sections, written from the evaluation stage.

The issue keeps three layers apart: implementation and compliance (payments released before their
gate, from the payment ledger the payments section already reads), performance against targets
(the goal sections of :mod:`dsrip_lib.reports.midpoint_sections`) and estimated impact (the
evaluation stage, :class:`~dsrip_lib.reports.impact.ImpactRun`). Each function returns a
:class:`~dsrip_lib.reports.midpoint_sections.Section` whose sentences take every number from its
table, formatted as the other sections format them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from dsrip_lib.payments.gating import exceptions_by_gate
from dsrip_lib.publishing.charts import estimates_with_intervals
from dsrip_lib.publishing.publisher import plot_values
from dsrip_lib.reports.impact import OUTCOME_LABELS, ImpactRun
from dsrip_lib.reports.midpoint_run import NOT_ASSESSABLE, OFF_TRACK, ON_TRACK, MidpointRun
from dsrip_lib.reports.midpoint_sections import (
    MONEY,
    RATIO,
    SHARE,
    Finding,
    Section,
    count,
    interval_text,
    pct,
    ratio,
    usd,
)

# an impact finding is not judged against a target: it says whether the data can tell it from no change
DETECTED, BELOW_DETECTION = "change beyond chance", "below what the data can detect"
ESTIMATE = "estimated impact"
ESTIMATE_SHARES = ("relative", "relative_low", "relative_high", "mde_relative", "naive_relative", "naive_low",
                   "naive_high", "placebo_relative", "placebo_low", "placebo_high")
ESTIMATE_RATIOS = ("estimate", "low", "high", "mde", "counterfactual")
TRAIT_LABELS = OUTCOME_LABELS | {"risk_score": "risk score", "age": "age", "female": "female share"}


def _label(outcome: str) -> str:
    word = OUTCOME_LABELS[outcome]
    return word[0].upper() + word[1:]


def _conf(impact: ImpactRun) -> str:
    return f"{1 - impact.options.alpha:.0%}"


# -- implementation and compliance (Sec 3.2-3.4, 5.5.1) -----------------------------------------------
def compliance_section(run: MidpointRun) -> Section:
    """Payments released before their gate (participation plans, budgets, progress reports) by the end of the
    midpoint period, per gate, from the gating check of the payment ledger the payments section reads.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 3.2.1, 3.2.2, 3.3, 3.4.4 and 5.5.1 (the documents payments wait for).
    """
    goal = "Implementation and compliance"
    if run.payments.gating is None:
        text = "The data has none of the gating documents: payments cannot be checked against their gates."
        return Section(pd.DataFrame(columns=["gate"]), goal, [text], [Finding(goal, text, NOT_ASSESSABLE)])
    found = run.payments.gating[run.payments.gating["paid_on"] <= pd.Timestamp(run.through.end)]
    table = exceptions_by_gate(found)
    table = pd.concat([table, pd.DataFrame([{"gate": "Total", "payments": len(found),
                                             "entities": found["entity_id"].nunique(),
                                             "amount_usd": float(found["amount_usd"].sum())}])], ignore_index=True)
    table.insert(0, "through", run.through.label)
    total = table.iloc[-1]
    if total["payments"] == 0:
        text = f"By the end of {run.through.label} no payment was released before its gate."
    else:
        gates = table[(table["gate"] != "Total") & (table["payments"] > 0)]
        text = (f"By the end of {run.through.label}, {count(total['payments'])} payments to "
                f"{count(total['entities'])} entities, {usd(total['amount_usd'])} in all, were released before their "
                "gate: " + "; ".join(f"{r.gate.replace('_', ' ')} {count(r.payments)} ({usd(r.amount_usd)})"
                                      for r in gates.itertuples()) + ".")
    caption = (f"Payments released before their gate by the end of {run.through.label}, per gate: the document "
               "(participation plan, budget, progress report) was not approved or submitted when the ledger paid "
               "(Sec 3.2-3.4, 5.5.1)")
    status = ON_TRACK if total["payments"] == 0 else OFF_TRACK
    return Section(table, caption, [text], [Finding(goal, text, status)], {"amount_usd": MONEY},
                   ["payments", "entities"])


# -- estimated impact (Sec 6.4.1) -----------------------------------------------------------------------
def impact_section(impact: ImpactRun) -> Section:
    """Per outcome the difference-in-differences effect with its interval and minimum detectable effect,
    the naive pre-post estimate and the year-early placebo beside it; a finding per outcome.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 6.4.1 (the independent evaluation). docs/methodology/evaluation.md.
    """
    est = impact.estimates
    pre_post = impact.naive[impact.naive["comparison"] == "pre_post"].set_index("outcome")
    placebo = impact.placebo.set_index("outcome")
    table = est[["outcome", "relative", "relative_low", "relative_high", "mde_relative", *ESTIMATE_RATIOS,
                 "treated_member_months", "comparison_member_months", "members", "clusters"]].copy()
    table["naive_relative"] = table["outcome"].map(pre_post["relative"])
    table["naive_low"] = table["outcome"].map(pre_post["low"])
    table["naive_high"] = table["outcome"].map(pre_post["high"])
    for mine, theirs in (("placebo_relative", "relative"), ("placebo_low", "relative_low"),
                         ("placebo_high", "relative_high")):
        table[mine] = table["outcome"].map(placebo[theirs])
    # an interval covering zero always has the estimate below the MDE ((z + z_power) SE > z SE); an interval
    # excluding it is a change beyond chance even when the estimate is below the MDE (the design's power is for
    # an effect of the MDE's size, not a threshold of detection)
    excludes_zero = (table["relative_low"] > 0) | (table["relative_high"] < 0)
    table["finding"] = np.where(excludes_zero, DETECTED, BELOW_DETECTION)
    conf = _conf(impact)
    sentences, findings = [], []
    for r in table.itertuples():
        head = (f"{_label(r.outcome)} per member-month: {pct(r.relative)} against never-attributed members "
                f"({interval_text(r.relative_low, r.relative_high)})")
        if r.finding == DETECTED:
            size = "at least" if abs(r.relative) >= r.mde_relative else "below"
            text = head + (f": a change beyond chance ({size} the {pct(r.mde_relative)} the design detects with "
                           "its stated power).")
        else:
            text = (head + f", below what the data can detect ({pct(r.mde_relative)}): the data cannot tell it "
                    "from no change, which is not evidence of no change.")
        sentences.append(text)
        key = f"impact.{r.outcome}"
        findings.append(Finding(ESTIMATE, text, r.finding, f"{key}.relative_effect", float(r.relative),
                                f"Estimated relative effect of ACO attribution on {OUTCOME_LABELS[r.outcome]}",
                                ((f"{key}.ci_low", float(r.relative_low), f"Lower {conf} bound of that effect"),
                                 (f"{key}.ci_high", float(r.relative_high), f"Upper {conf} bound of that effect"),
                                 (f"{key}.mde", float(r.mde_relative), "Minimum detectable relative effect"))))
    sentences.append("A naive comparison of ACO members after launch with the baseline-year population reads "
                     + "; ".join(f"{OUTCOME_LABELS[r.outcome]} {pct(r.naive_relative)}" for r in table.itertuples())
                     + ": the gap to the estimates above is who joined ACOs, not what the ACOs did.")
    moved = table[(table["placebo_low"] > 0) | (table["placebo_high"] < 0)]
    sentences.append("A placebo launch one year before each member's entry finds " + (
        "no effect on any outcome, as parallel trends predict." if moved.empty else
        "an effect on " + "; ".join(f"{OUTCOME_LABELS[r.outcome]} ({pct(r.placebo_relative)}, "
                                    f"{interval_text(r.placebo_low, r.placebo_high)})" for r in moved.itertuples())
        + ": the groups' trends differ before entry, and those estimates are suspect."))
    table["outcome"] = table["outcome"].map(OUTCOME_LABELS)
    caption = (f"Difference-in-differences of ACO attribution per member-month (each member's change from "
               f"{impact.baseline_year} against ACO-eligible members never attributed; "
               f"{impact.estimates['method'].iat[0]}): the relative effect with its {conf} interval and the minimum "
               f"detectable effect at {impact.options.power:.0%} power, the effect in units, the naive pre-post "
               "estimate and the year-early placebo beside it")
    return Section(table, caption, sentences, findings, {c: SHARE for c in ESTIMATE_SHARES}
                   | {c: RATIO for c in ESTIMATE_RATIOS},
                   ["treated_member_months", "comparison_member_months", "members"])


def event_study_section(impact: ImpactRun) -> Section:
    """The event study's coefficients around launch (launch cohort against never attributed) and whether the
    pre-launch periods show diverging trends.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 6.4.1. docs/methodology/evaluation.md (event study).
    """
    es = impact.event_study
    table = es[["outcome", "event_period", "period_start", "estimate", "se", "low", "high", "treated_members",
                "comparison_members"]].assign(period_start=es["period_start"].dt.strftime("%Y-%m-%d"))
    unit = impact.options.event_period
    sentences = []
    for outcome, g in table.groupby("outcome", sort=False):
        pre = g[g["event_period"] < -1]
        off = pre[(pre["low"] > 0) | (pre["high"] < 0)]
        post = g[g["event_period"] >= 0]
        last = post.iloc[-1] if len(post) else None
        listed = ", ".join(str(int(p)) for p in off["event_period"])
        text = f"{_label(outcome)}: " + (f"no pre-launch {unit} differs from the reference beyond its interval"
                                         if off.empty else f"pre-launch {unit}s {listed} differ beyond their intervals")
        if last is not None:
            text += (f"; {unit} {int(last['event_period'])} after launch: {ratio(last['estimate'])} "
                     f"({interval_text(last['low'], last['high'], ratio)})")
        sentences.append(text + ".")
    table["outcome"] = table["outcome"].map(OUTCOME_LABELS)
    caption = (f"Event study by {unit} from launch ({impact.launch:%B %Y} = 0): the launch cohort's change from the "
               f"last pre-launch {unit} minus the never-attributed members', per member-month, with {_conf(impact)} "
               "member-clustered intervals; pre-launch periods show whether the groups trended alike")
    return Section(table, caption, sentences, [], {c: RATIO for c in ("estimate", "se", "low", "high")},
                   ["treated_members", "comparison_members"])


def event_study_charts(published: pd.DataFrame, impact: ImpactRun) -> dict[str, tuple[Figure, str]]:
    """One chart per outcome from the published event-study table, keyed by a name for the figure, with alt text."""
    unit = impact.options.event_period
    out = {}
    for label, g in plot_values(published).groupby("outcome", sort=False):
        frame = pd.DataFrame({"x": g["event_period"], "estimate": g["estimate"], "low": g["low"], "high": g["high"]})
        fig = estimates_with_intervals(frame, f"{label[0].upper() + label[1:]}: launch cohort minus never attributed",
                                       f"{unit}s from launch ({impact.launch:%B %Y} = 0)", "change per member-month",
                                       -0.5, "launch")
        out[label.replace(" ", "-")] = (
            fig, f"Event-study estimates of {label} with {_conf(impact)} intervals by {unit} around launch: "
            + "; ".join(f"{int(r.x)}: {r.estimate:.3f}" for r in frame.itertuples()))
    return out


def oe_section(impact: ImpactRun) -> Section:
    """Observed-to-expected ratios against the baseline year per outcome, population and later year.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 (baseline year, eligibility groups), Sec 6.4.1.
    """
    oe = impact.oe.assign(outcome=impact.oe["outcome"].map(OUTCOME_LABELS))
    last = oe[oe["year"] == oe["year"].max()]
    year = int(last["year"].iat[0])
    text = (f"Observed over expected at each eligibility group's {impact.baseline_year} rate, {year}: "
            + "; ".join(f"{r.outcome} ({r.population}) {ratio(r.ratio)} ({interval_text(r.low, r.high, ratio)})"
                        for r in last.itertuples()) + ".")
    caption = (f"Observed over expected events (spending) per outcome, population and year, expected at each "
               f"eligibility group's {impact.baseline_year} rate among all ACO-eligible members, with the ratio's "
               f"{_conf(impact)} interval clustered by member")
    return Section(oe.assign(baseline_year=impact.baseline_year), caption, [text], [],
                   {c: RATIO for c in ("observed", "expected", "ratio", "low", "high")}, ["member_months"])


# -- threats to the estimates ----------------------------------------------------------------------------
def selection_section(impact: ImpactRun) -> Section:
    """Baseline characteristics of the members later attributed and the never attributed, standardised
    differences above 0.1 flagged (the evaluator's reading, Austin 2009)."""
    b = impact.balance.assign(imbalanced=impact.balance["std_difference"].abs() > 0.1,
                              characteristic=impact.balance["characteristic"].map(TRAIT_LABELS))
    off = b[b["imbalanced"]]
    text = ("Selection: members who later joined ACOs differed at baseline in "
            + ", ".join(f"{r.characteristic} (standardised difference {ratio(r.std_difference)})"
                        for r in off.itertuples())
            + "; member effects absorb such level differences, not differences in trend."
            if len(off) else "Selection: no baseline characteristic differs by more than a tenth of a standard "
                             "deviation between the groups.")
    caption = (f"Baseline-year ({impact.baseline_year}) means of the members later attributed and of the never "
               "attributed, with the standardised difference (flagged above 0.1)")
    return Section(b.assign(imbalanced=b["imbalanced"].map({True: "yes", False: "no"})), caption, [text], [],
                   {c: RATIO for c in ("ever_mean", "never_mean", "std_difference")}, ["ever_members", "never_members"])


def comparison_section(impact: ImpactRun) -> Section:
    """The comparison group's share of ACO-eligible member-months by year (it shrinks as ACOs grow)."""
    s = impact.shares
    first, last = s.iloc[0], s.iloc[-1]
    text = (f"The comparison group (never attributed) held {pct(first['comparison_share'])} of ACO-eligible "
            f"member-months in {int(first['year'])} and {pct(last['comparison_share'])} in {int(last['year'])}.")
    return Section(s, "ACO-eligible member-months per year: attributed, not attributed, never attributed (the "
                      "comparison group) and its share", [text], [], {"comparison_share": SHARE},
                   ["member_months", "attributed", "never_attributed", "not_attributed"])


def churn_section(impact: ImpactRun) -> Section:
    """Attribution churn: members ever attributed who moved to another ACO or left the ACOs while eligible."""
    c = impact.churn.set_index("churn")
    text = (f"Attribution churn: {pct(c.at['either', 'share'])} of members ever attributed moved to another ACO "
            f"({pct(c.at['switched_aco', 'share'])}) or left the ACOs while still eligible "
            f"({pct(c.at['left_aco', 'share'])}); their months after leaving are in neither group.")
    return Section(impact.churn, "Members ever attributed who switched ACO, left the ACOs while eligible, or either",
                   [text], [], {"share": SHARE}, ["members"])


def covid_section(impact: ImpactRun) -> Section:
    """The estimates again without the evaluator's COVID years, beside the main ones."""
    if impact.covid is None:
        text = "COVID: no year of the data is among the evaluator's COVID years."
        return Section(pd.DataFrame(columns=["outcome"]), "COVID sensitivity", [text])
    both = impact.covid[["outcome", "relative", "relative_low", "relative_high"]].assign(
        excluded=", ".join(map(str, impact.covid_years)),
        all_years=impact.covid["outcome"].map(impact.estimates.set_index("outcome")["relative"]))
    text = (f"COVID: {both['excluded'].iat[0]} is in the data window; without it the relative effects are "
            + ", ".join(f"{OUTCOME_LABELS[r.outcome]} {pct(r.relative)} (with it {pct(r.all_years)})"
                        for r in both.itertuples())
            + ". No randomisation: the estimates are suggestive, resting on parallel trends of the groups.")
    both["outcome"] = both["outcome"].map(OUTCOME_LABELS)
    return Section(both, f"Relative effects without the COVID years ({both['excluded'].iat[0]}), with their "
                         f"{_conf(impact)} intervals, beside the estimates with every year", [text], [],
                   {c: SHARE for c in ("relative", "relative_low", "relative_high", "all_years")})


# -- ratings (the evaluator's rules) --------------------------------------------------------------------
def ratings_section(run: MidpointRun) -> Section:
    """Each ACO and domain rated by the run's rules (printed in the appendix), with the rule and the values
    that decided it.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 6.4.1; Sec 5.3.1.2 (domain scores); Sec 3.2-3.4, 5.5.1 (payment gates).
    """
    table = run.ratings.merge(run.names[["entity_id", "name"]], on="entity_id", how="left")[
        ["entity_id", "name", "domain", "rating", "rule", "because"]]
    table["domain"] = table["domain"].map(run.quality.domain_names()).fillna(table["domain"])
    table.insert(0, "period", run.through.label)
    sentences = []
    for rating, g in table[table["rating"] != "on track"].groupby("rating", sort=False):
        sentences.append(f"{rating[0].upper() + rating[1:]} in {run.through.label}: " + "; ".join(
            f"{e} ({', '.join(d['domain'])})" for e, d in g.groupby("entity_id", sort=True)) + ".")
    if not sentences:
        sentences.append(f"Every ACO domain is on track in {run.through.label} by the run's rules.")
    caption = (f"Each ACO and quality domain rated in {run.through.label} by the first of the run's rules (printed in "
               "the methodology appendix) whose conditions hold, with the values that decided it: compliance "
               "(payments released before their gate) and performance (the domain score)")
    return Section(table, caption, sentences)
