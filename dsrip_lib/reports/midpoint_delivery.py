"""The midpoint assessment's sections on the program's delivery: CP engagement, payments, statewide investments.

Each function returns a :class:`~dsrip_lib.reports.midpoint_sections.Section` like the goal sections
there: a table, the sentences written from it and the findings of the executive summary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dsrip_lib.inputs.frame_checks import reject_rows
from dsrip_lib.payments.ledger import CASH_SIGN, FORFEITED, PAID, RELEASED, WITHHELD, authority_by_budget_period
from dsrip_lib.payments.streams import engaged_members
from dsrip_lib.quality.benchmarks import benchmarks_frame
from dsrip_lib.reports.midpoint_run import NOT_ASSESSABLE, OFF_TRACK, ON_TRACK, MidpointRun
from dsrip_lib.reports.midpoint_sections import DOLLARS, MONEY, SHARE, Finding, Section, interval_text, pct, usd
from dsrip_lib.reports.midpoint_uncertainty import normal_estimate
from dsrip_lib.spending.variation import pmpm_variance

ENGAGEMENT_MEASURE = "cp_engagement"
CP_TYPE_WORDS = {"cp_bh": "Behavioral Health CPs", "cp_ltss": "LTSS CPs"}
STREAM_WORDS = {"aco": "ACO", "community_partners": "Community Partners",
                "statewide_investments": "Statewide investments", "state_operations": "State operations"}
TOTAL = "Total"


# -- CP engagement (Sec 4.5, Appendix D) ---------------------------------------------------------------
def engagement_section(run: MidpointRun) -> Section:
    """Engaged member-months over assigned member-months per CP type and CP budget period through the
    midpoint, with an interval that treats members as the independent units, against the
    ILLUSTRATIVE attainment threshold of the CP engagement measure in its first scored period.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.5.2 and 4.5.5 (members engaged), Sec 5.4.4, Appendix D (CP
    engagement measure).
    """
    if run.engagement is None:
        text = "The data has no cp_engagement table: CP engagement cannot be assessed."
        return Section(pd.DataFrame(columns=["period"]), "CP engagement", [text],
                       [Finding("CP engagement", text, NOT_ASSESSABLE)])
    program = run.program
    periods = [p for p in program.calendar.budget_periods("cp") if p.end <= run.through.end]
    rows = run.engagement.merge(run.names.rename(columns={"entity_id": "cp_id"}), on="cp_id")
    month = pd.to_datetime(rows["month"])
    number = {m: p.number for p in periods for m in p.months}
    rows = rows.assign(budget_period=month.dt.date.map(number)).dropna(subset=["budget_period"])
    rows["budget_period"] = rows["budget_period"].astype("int64")
    average = engaged_members(run.engagement, program).merge(run.names.rename(columns={"entity_type": "cp_type"}),
                                                              on="entity_id")
    thresholds = benchmarks_frame(program)
    out = []
    for (bp, cp_type), group in rows.groupby(["budget_period", "entity_type"]):
        units = group.groupby("member_id", as_index=False).agg(member_months=("engaged", "size"),
                                                               paid=("engaged", "sum"))
        spread = pmpm_variance(units.assign(entity_id=cp_type)).iloc[0]
        est = normal_estimate(float(spread["actual_pmpm"]), float(spread["se_pmpm"]), int(spread["members"]),
                              run.options.confidence, run.options.power)
        stated = thresholds[(thresholds["entity_type"] == cp_type) & (thresholds["measure_id"] == ENGAGEMENT_MEASURE)]
        threshold = float(stated.sort_values("budget_period")["attainment_threshold"].iloc[0]) if len(stated) else None
        engaged = average[(average["budget_period"] == bp) & (average["cp_type"] == cp_type)]["engaged_members"].sum()
        out.append({"period": program.calendar.budget_period(bp, "cp").label, "cp_type": CP_TYPE_WORDS.get(cp_type,
                                                                                                      cp_type),
                    "cps": group["cp_id"].nunique(), "assigned_months": len(group), "engaged_months":
                    int(group["engaged"].sum()), "engaged_members": engaged, "rate": est.value, "ci_low": est.low,
                    "ci_high": est.high, "threshold": threshold,
                    "status": NOT_ASSESSABLE if threshold is None else ON_TRACK if est.value >= threshold else OFF_TRACK})
    table = pd.DataFrame(out)
    if table.empty:
        text = f"No CP member is assigned in a CP budget period ending by {run.through.label}'s end."
        return Section(table, "CP engagement", [text], [Finding("CP engagement", text, NOT_ASSESSABLE)])
    latest = table[table["period"] == table["period"].iloc[-1]]
    findings, sentences = [], []
    for r in latest.itertuples():
        against = (f"against the illustrative attainment threshold of {pct(r.threshold)}: {r.status}"
                   if r.threshold is not None and not pd.isna(r.threshold) else "with no threshold to compare")
        text = (f"{r.cp_type} engaged their assigned members in {pct(r.rate)} of member-months in CP {r.period} "
                f"({interval_text(r.ci_low, r.ci_high)}), {against}.")
        sentences.append(text)
        findings.append(Finding("CP engagement", text, r.status))
    caption = (f"CP engagement per CP type and CP budget period: engaged member-months over assigned member-months "
               f"with its {run.options.confidence:.0%} interval (members as independent units), the average members "
               "engaged per month (Sec 4.5.2), and the ILLUSTRATIVE attainment threshold of the CP engagement measure "
               "in its first pay-for-performance period (Appendix D)")
    return Section(table, caption, sentences, findings,
                   {"engaged_members": DOLLARS, **{c: SHARE for c in ("rate", "ci_low", "ci_high", "threshold")}},
                   ["cps", "assigned_months", "engaged_months"])


# -- payments made and withheld (Sec 4, 5.1.2) ---------------------------------------------------------
def payments_section(run: MidpointRun) -> Section:
    """Per stream, the ledger's cash, withheld, released and forfeited amounts dated by the end of
    the midpoint period, against Exhibit 1's authority for the budget periods through it.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 1.4 (Exhibit 1), Sec 4.4-4.6, Sec 5.1.2 (Exhibits 20 and 22).
    """
    rows = run.payments.ledger.rows
    rows = rows[rows["date"] <= pd.Timestamp(run.through.end)]
    authority = authority_by_budget_period(run.program)
    authority = authority[authority["budget_period"] <= run.through.number].groupby("stream")["authority_usd"].sum()
    cents = rows.groupby(["stream", "kind"])["cents"].sum().unstack("kind", fill_value=0)
    cents = cents.reindex(columns=list(CASH_SIGN), fill_value=0)
    cash = (cents * pd.Series(CASH_SIGN)).sum(axis=1)
    table = pd.DataFrame({"stream": cents.index.map(STREAM_WORDS), "cash_usd": cash / 100,
                          "paid_usd": cents[PAID] / 100, "withheld_usd": cents[WITHHELD] / 100,
                          "released_usd": cents[RELEASED] / 100, "forfeited_usd": cents[FORFEITED] / 100,
                          "authority_usd": cents.index.map(authority).astype(float)}).reset_index(drop=True)
    money = [c for c in table.columns if c.endswith("_usd")]
    table = pd.concat([table, pd.DataFrame([{"stream": TOTAL, **table[money].sum().to_dict()}])], ignore_index=True)
    table["balance_usd"] = table["withheld_usd"] - table["released_usd"] - table["forfeited_usd"]
    table["share_used"] = table["cash_usd"] / table["authority_usd"]
    table["status"] = np.where(table["cash_usd"].round(2) <= table["authority_usd"].round(2), ON_TRACK, OFF_TRACK)
    table.insert(0, "through", run.through.label)
    total = table.iloc[-1]
    status = ON_TRACK if (table["status"] == ON_TRACK).all() else OFF_TRACK
    over = table[(table["status"] == OFF_TRACK) & (table["stream"] != TOTAL)]
    text = (f"By the end of {run.through.label}, the ledger paid {usd(total['cash_usd'])} in cash against "
            f"{usd(total['authority_usd'])} of authority for the budget periods through it ({pct(total['share_used'])}),"
            f" and withheld {usd(total['withheld_usd'])} at risk, of which {usd(total['released_usd'])} was released "
            f"and {usd(total['forfeited_usd'])} forfeited"
            + (f"; cash exceeds authority in: {', '.join(over['stream'])}." if len(over) else
               "; no stream's cash exceeds its authority."))
    caption = (f"Payments by stream dated by the end of {run.through.label}, summed from the payment ledger's cents: "
               "cash (paid + released - returned - recouped), paid when due, withheld at risk, released and forfeited "
               "on score approval, the withheld balance, against Exhibit 1's authority split by budget period")
    finding = Finding("Payments made and withheld", text, status, "cash_paid_usd",
                      float(total["cash_usd"]), f"DSRIP cash paid by the end of {run.through.label} ($)")
    return Section(table, caption, [text], [finding], {c: MONEY for c in money + ["balance_usd"]}
                   | {"share_used": SHARE})


# -- statewide investments (Sec 4.6, Exhibit 15) -------------------------------------------------------
def investments_section(run: MidpointRun) -> Section:
    """Spending on each statewide investment through the midpoint against the Exhibit 15 plan (each
    demonstration year split over budget periods by shared months).

    Raises
    ------
    InputValidationError
        An investment in the data that Exhibit 15 does not list.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.6 and Exhibit 15; Sec 3.1.1 (budget periods and state fiscal years).
    """
    if run.investments is None:
        text = "The data has no statewide_investments table: spending against plan cannot be assessed."
        return Section(pd.DataFrame(columns=["investment"]), "Statewide investments", [text],
                       [Finding("Statewide investments", text, NOT_ASSESSABLE)])
    program, floor = run.program, run.options.investment_floor_share
    table15, calendar = program.require("funding").statewide_investments_by_dy, program.calendar
    data = run.investments
    reject_rows(data, "statewide_investments", ~data["investment"].isin(list(table15.rows)), "investment",
                f"an Exhibit 15 investment {sorted(table15.rows)}", ["investment", "budget_period", "amount"])
    first = calendar.first_demonstration_sfy
    planned = {name: sum(v for bp, v in calendar.split_sfy_amounts(
        {first + dy - 1: m * 1e6 for dy, m in by_dy.items()}).items() if bp <= run.through.number)
        for name, by_dy in table15.rows.items()}
    spent = data[data["budget_period"] <= run.through.number].groupby("investment")["amount"].sum()
    table = pd.DataFrame({"investment": list(planned), "planned_usd": list(planned.values())})
    table["spent_usd"] = table["investment"].map(spent).fillna(0.0)
    table["investment"] = table["investment"].str.replace("_", " ").str.capitalize()
    table = pd.concat([table, pd.DataFrame([{"investment": TOTAL, "planned_usd": table["planned_usd"].sum(),
                                             "spent_usd": table["spent_usd"].sum()}])], ignore_index=True)
    table["share"] = table["spent_usd"] / table["planned_usd"]
    table["status"] = np.where(table["share"].between(floor, 1), ON_TRACK, OFF_TRACK)
    table.insert(0, "through", run.through.label)
    total = table.iloc[-1]
    off = table[(table["status"] == OFF_TRACK) & (table["investment"] != TOTAL)]
    text = (f"Through {run.through.label} the State spent {usd(total['spent_usd'])} on statewide investments against "
            f"a plan of {usd(total['planned_usd'])} ({pct(total['share'])}): {total['status']}"
            + ("; off plan: " + ", ".join(f"{r.investment} ({pct(r.share)})" for r in off.itertuples()) + "."
               if len(off) else "; every investment is within its plan."))
    caption = (f"Statewide investment spending through {run.through.label} against the Exhibit 15 plan (Sec 4.6), each "
               f"demonstration year split over budget periods by shared months; on track between {floor:.0%} (the "
               "evaluator's choice, option investment_floor_share) and 100% of plan")
    finding = Finding("Statewide investments", text, total["status"], "investment_share_of_plan",
                      float(total["share"]), f"Statewide investment spending as a share of plan, through "
                                             f"{run.through.label}")
    return Section(table, caption, [text], [finding], {"planned_usd": MONEY, "spent_usd": MONEY, "share": SHARE})

