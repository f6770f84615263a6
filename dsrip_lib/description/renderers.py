"""Renderers: program-definition values written as plain-English answers to the toolkit's questions.

Each renderer takes the program and the values of the fields its answer names (``path ->
value``; an optional field may be None, which the model gives a meaning: ``losses`` None is
upside-only, ``cap_share_of_benchmark`` None is no cap) and returns one paragraph. Every number
in an answer is a value of the program definition, formatted; nothing is typed here.

References
----------
CMS, "Integrated Care Models in Medicaid: Proposal Planning Toolkit", Part 2 (Program
Description: I. Program Design, II. Quality Strategy, III. Payment Methodology).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from dsrip_lib.program import Program

Values = Mapping[str, Any]
Renderer = Callable[[Program, Values], str]


def pct(fraction: float) -> str:
    """A fraction as a percentage with only the digits it has: 0.044 -> '4.4%', 0.5 -> '50%'."""
    return f"{round(fraction * 100, 6):g}%"


def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def words(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def label(program: Program, bp: int, kind: str = "aco") -> str:
    return program.calendar.budget_period(bp, kind).label


def by_period(program: Program, table: Mapping[int, Any], fmt: Callable[[Any], str] = pct, kind: str = "aco") -> str:
    """'BP 1 25%, BP 2 30%, ...' over the periods that state a value."""
    return ", ".join(f"{label(program, bp, kind)} {fmt(v)}" for bp, v in sorted(table.items()) if v is not None)


# How a code-named key reads in prose (acronyms, plurals of entity types); other keys lose their underscores.
KEY_WORDS = {"fqhc": "FQHCs", "advanced_network": "advanced networks", "cp_bh": "BH CPs", "cp_ltss": "LTSS CPs",
             "csa": "CSAs", "aco": "ACOs", "community_partners": "CPs and CSAs", "ppa": "PPA", "tcoc": "TCOC",
             "dsti_glide_path": "DSTI glide path", "startup_ongoing_discretionary": "startup/ongoing discretionary",
             "startup_ongoing_primary_care": "startup/ongoing primary care"}


def _name(key: str) -> str:
    return KEY_WORDS.get(str(key), str(key).replace("_", " "))


# -- program design -------------------------------------------------------------------------------
def eligible_population(program: Program, v: Values) -> str:
    duals = v["settlement.eligible_population"].exclude_dual_eligible
    who = "single-eligible Medicaid members only: full and partial dual eligibles are excluded" if duals \
        else "Medicaid members, dual eligibles included"
    return (f"The program attributes {who}; participating entities are "
            f"{words([_name(t) for t in v['settlement.participating_entity_types']])}.")


def eligibility_groups(program: Program, v: Values) -> str:
    groups = list(v["spending.eligibility_groups"])
    return f"Members of {len(groups)} eligibility groups are counted: {words(groups)}."


def attribution(program: Program, v: Values) -> str:
    first = label(program, v["attribution.first_budget_period_with_members"])
    if v["attribution.method"] == "claims_plurality":
        how = ("each member is attributed to the participating primary-care provider with the plurality of the "
               f"member's primary-care visits in a {v['attribution.plurality_lookback_months']}-month look-back "
               "(claims plurality)")
    else:
        how = ("each member is attributed by enrollment: to the ACO the member is enrolled in, or, for an MCO "
               "enrollee, to the ACO of the primary-care provider the member is assigned to")
    return f"Members are attributed from {first} on; {how}."


def participating_entities(program: Program, v: Values) -> str:
    entities = words([_name(t) for t in v["settlement.participating_entity_types"]])
    return f"The participating provider entities are {entities}, which share in savings they achieve for their members."


def aco_models(program: Program, v: Values) -> str:
    models = {m.model: m.model_name for m in v["aco_payments.model_adjustments"]}
    text = f"Accountable care organisations of {len(models)} models: " + words(
        [f"model {k} ({name})" for k, name in models.items()]) + "."
    if v.get("cp_payments.substreams"):
        text += f" Community partner entity types: {words([_name(t) for t in v['cp_payments.substreams']])}."
    return text


def care_coordination_addon(program: Program, v: Values) -> str:
    addon = v["settlement.care_coordination_addon"]
    return (f"A care-coordination add-on of {usd(addon.pmpm_usd)} PMPM is paid to "
            f"{words([_name(t) for t in addon.entity_types])} only.")


def community_partners(program: Program, v: Values) -> str:
    pmpm = v["cp_payments.care_coordination_pmpm_usd"]
    text = "Community partners are paid for care coordination: " + words(
        [f"{_name(t)} {usd(x)} PMPM" for t, x in pmpm.items()]) + "."
    if v.get("cp_payments.caseload_per_fte"):
        text += " Expected caseloads per FTE: " + words(
            [f"{_name(t)} {r.low:g}-{r.high:g}" if r.low is not None else f"{_name(t)} up to {r.high:g}"
             for t, r in v["cp_payments.caseload_per_fte"].items()]) + "."
    if v.get("aco_payments.flexible_services_pmpm_usd"):
        text += (" Flexible services (health-related social needs) are funded by ACO PMPM: "
                 f"{by_period(program, v['aco_payments.flexible_services_pmpm_usd'], usd)}.")
    return text


def state_accountability(program: Program, v: Values) -> str:
    weights = v["state_accountability.domain_weights"]
    parts = [f"{_name(domain)} ({by_period(program, table)})" for domain, table in weights.items()]
    return ("The State is scored each budget period on " + words(parts) +
            "; the weighted score decides how much of the expenditure authority at risk is earned.")


def payment_gates(program: Program, v: Values) -> str:
    span = v["gating.preliminary_plan_until"]
    return (f"Payments wait for approved participation plans (a preliminary plan suffices until {span.months} "
            f"month(s) into {label(program, span.budget_period)}) and for progress reports every "
            f"{v['gating.progress_report_months']} months, due {v['gating.progress_report_due_months_after_close']} "
            "months after the period they cover.")


def timeline(program: Program, v: Values) -> str:
    demo = v["calendar.demonstration"]
    kinds = v["calendar.budget_period_schedules"]
    periods = "; ".join(f"{kind} schedule: " + ", ".join(f"{p.label} {p.start}..{p.end}" for p in sorted(
        schedule.values(), key=lambda p: p.start)) for kind, schedule in kinds.items())
    return f"The program runs from {demo.start} to {demo.end}. Budget periods: {periods}."


# -- quality strategy -----------------------------------------------------------------------------
def state_goals(program: Program, v: Values) -> str:
    targets = v["state_accountability.quality_utilization.avoidable_utilization_targets"]
    return (f"ACO/APM adoption targets: {by_period(program, v['state_accountability.adoption.targets'])}. "
            "Reduction in spending growth against the trended baseline: "
            f"{by_period(program, v['state_accountability.spending_growth.reduction_targets'])}. "
            "Avoidable-utilisation reduction targets: " + "; ".join(
                f"{_name(m)} {by_period(program, t)}" for m, t in targets.items()) + ".")


def measure_slates(program: Program, v: Values) -> str:
    slates = v["measures"]
    parts = []
    for entity_type in type(slates).model_fields:
        slate = getattr(slates, entity_type)
        if slate:
            sources = Counter(m.data_source.replace("_", " ") for m in slate)
            parts.append(f"{_name(entity_type)} {len(slate)} measures ("
                         + ", ".join(f"{n} {s}" for s, n in sources.items()) + ")")
    return ("Measure slates by entity type and data source: " + "; ".join(parts) +
            ". Each measure is pay-for-reporting or pay-for-performance by budget period.")


def settlement_measures(program: Program, v: Values) -> str:
    measures = v["settlement.quality_measures"]
    under = [m for m in measures if m.under_service]
    return (f"{len(measures)} quality measures: {words([m.name for m in measures])}; "
            f"{len(under)} of them are measures of under-service.")


def performance_thresholds(program: Program, v: Values) -> str:
    achievement = v["aco_accountability.achievement"]
    text = (f"Each measure earns up to {achievement.max_points_per_measure:g} achievement points between an "
            "attainment threshold and an excellence benchmark; benchmarks may be reset when "
            f"{pct(achievement.benchmark_reset_share_of_acos)} of ACOs miss or meet them. Poor performers may "
            f"earn back up to {pct(v['at_risk.remediation_max_earn_back_share'])} of unearned withheld funds "
            "through a performance remediation plan.")
    if v.get("measure_benchmarks.illustrative"):
        text += " The thresholds and benchmarks in this definition are illustrative."
    return text


def quality_gate(program: Program, v: Values) -> str:
    gate = v["settlement.quality_gate"]
    text = f"An entity shares in savings only with a quality score of at least {pct(gate.minimum_score)}"
    text += "; its sharing rate is then multiplied by its quality score." if gate.scale_sharing else "."
    if v.get("settlement.challenge_pool"):
        text += " Savings withheld by the gate go to a challenge pool for the entities that met it."
    return text


def progress_reports(program: Program, v: Values) -> str:
    return (f"Entities report progress every {v['gating.progress_report_months']} months, due "
            f"{v['gating.progress_report_due_months_after_close']} months after the months covered; payments wait "
            "for them.")


def under_service_measures(program: Program, v: Values) -> str:
    under = [m.name for m in v["settlement.quality_measures"] if m.under_service]
    if not under:
        return "No quality measure is marked as a measure of under-service."
    return f"Measures of under-service watch that care is delivered: {words(under)}."


def domain_tests(program: Program, v: Values) -> str:
    text = ("Each quality domain's member-weighted score is tested against earlier periods with a van Elteren test "
            f"at alpha {v['state_accountability.quality_utilization.alpha']:g}; the "
            f"{_name(v['state_accountability.quality_utilization.utilization_domain'])} domain is scored by "
            "gap-to-goal against its targets instead")
    floor = v.get("state_accountability.gap_to_goal_floor_share")
    return text + (f" (0 below {pct(floor)} of the target)." if floor is not None else ".")


def quality_withhold(program: Program, v: Values) -> str:
    weights = v["aco_accountability.component_weights"]
    withheld = v["at_risk.aco"]
    return ("A share of ACO funds is withheld and earned back by the accountability score: " + "; ".join(
        f"{_name(s)} {by_period(program, t)}" for s, t in withheld.items()) + ". The score weighs " + "; ".join(
        f"{_name(c)} {by_period(program, t)}" for c, t in weights.items()) + ".")


# -- payment methodology --------------------------------------------------------------------------
def settlement_overview(program: Program, v: Values) -> str:
    sides = "upside-only (no losses repaid)" if v.get("settlement.losses") is None else "two-sided"
    text = f"Retrospective shared savings, {sides}, at a sharing rate of {pct(v['settlement.sharing_rate'])}"
    return text + (", conditioned on quality." if v.get("settlement.quality_gate") is not None else ".")


def funding_streams(program: Program, v: Values) -> str:
    mechanisms = {"not_at_risk": "not at risk", "withhold": "partly withheld at risk",
                  "retrospective_reimbursement": "reimbursed retrospectively", "incentive_pool": "an incentive pool"}
    text = "ACO sub-streams: " + "; ".join(f"{_name(s)} {mechanisms[m]}" for s, m in
                                           v["aco_payments.substreams"].items()) + "."
    if v.get("cp_payments.substreams"):
        text += " Community partner sub-streams: " + "; ".join(
            f"{_name(t)}: " + ", ".join(f"{_name(s)} {mechanisms[m]}" for s, m in subs.items())
            for t, subs in v["cp_payments.substreams"].items()) + "."
    return text


def rate_tiers(program: Program, v: Values) -> str:
    safety = v["aco_payments.safety_net_adjustment"]
    models = v["aco_payments.model_adjustments"]
    return ("PMPMs are raised by safety-net category (" + ", ".join(
        f"category {k} +{pct(x)}" for k, x in sorted(safety.items(), reverse=True)) + ") and by model and risk track ("
        + ", ".join(f"model {m.model}" + (f" track {m.risk_track}" if m.risk_track is not None else "")
                    + f" +{pct(m.adjustment)}" for m in models) + ").")


def addon_tiers(program: Program, v: Values) -> str:
    addon = v["settlement.care_coordination_addon"]
    return (f"Payment differs by entity type: {words([_name(t) for t in addon.entity_types])} receive a "
            f"{usd(addon.pmpm_usd)} PMPM care-coordination add-on, other entities none.")


def pmpm_schedule(program: Program, v: Values) -> str:
    return ("The average startup/ongoing PMPM is set per budget period: "
            f"{by_period(program, v['aco_payments.startup_ongoing_average_pmpm_usd'], usd)}; the average disbursed "
            f"may differ by up to {usd(v['aco_payments.startup_ongoing_average_pmpm_tolerance_usd'])}.")


def payment_trigger(program: Program, v: Values) -> str:
    span = v["gating.preliminary_plan_until"]
    return ("Payments are triggered by approved participation plans (the preliminary plan until "
            f"{span.months} month(s) into {label(program, span.budget_period)}) and by member counts: the first "
            f"installment of a period is paid on the count {v['aco_payments.preliminary_count_months_before_period']} "
            "month(s) before it starts, later installments adjusted to the final count.")


def tcoc_component(program: Program, v: Values) -> str:
    weights = v["aco_accountability.component_weights"]
    corridor = pct(v["aco_accountability.tcoc_loss_corridor_share"])
    tcoc = f" (weight {by_period(program, weights['tcoc'])})" if "tcoc" in weights else ""
    return ("No shared-savings payment: each ACO's total cost of care is compared with its TCOC benchmark and the "
            f"result becomes the TCOC component of its accountability score{tcoc}, 0 when losses reach "
            f"{corridor} of the benchmark.")


def msr_population(program: Program, v: Values) -> str:
    msr = v["settlement.minimum_savings_rate"]
    if msr.sliding is None:
        return f"One minimum savings rate of {pct(msr.fixed)} applies whatever the population; no minimum is set."
    first, last = msr.sliding[0], msr.sliding[-1]
    floor = (f"Entities need at least {first.min_attributed:,} attributed members" if first.min_attributed
             else "No minimum population is set")
    return (f"{floor}; the minimum savings rate slides with the attributed population from {pct(first.rate)} down "
            f"to {pct(last.rate)} from {last.min_attributed:,} members, since smaller populations vary more at random.")


def minimum_denominator(program: Program, v: Values) -> str:
    return (f"A quality measure is scored only with a denominator of at least "
            f"{v['measure_benchmarks.minimum_denominator']} members.")


def installments(program: Program, v: Values) -> str:
    text = f"ACO funds are paid in {v['aco_payments.installments_per_budget_period']} installments per budget period"
    half = v.get("aco_payments.first_half_only_budget_periods")
    if half:
        text += f" (in {words([label(program, bp) for bp in half])} only in its first half)"
    cp = v.get("cp_payments.infrastructure_installments_per_budget_period")
    return text + (f"; community partner infrastructure in {cp} per budget period." if cp else ".")


def net_of_addon(program: Program, v: Values) -> str:
    addon = v.get("settlement.care_coordination_addon")
    paid = f" ({usd(addon.pmpm_usd)} PMPM)" if addon is not None else ""
    if v["settlement.net_of_care_coordination_addon"]:
        return (f"Shared savings are paid net of the care-coordination add-on{paid}: the add-on is subtracted, "
                "and an add-on larger than the savings is not recouped.")
    return f"Shared savings are paid in addition to the care-coordination add-on{paid}, not net of it."


def exclusions(program: Program, v: Values) -> str:
    excluded = list(v["spending.excluded_categories"].values())
    return f"Spending excludes {len(excluded)} categories, in baseline and performance alike: {words(excluded)}."


def baseline(program: Program, v: Values) -> str:
    text = f"The baseline is calendar year {v['calendar.baseline_year']}"
    groups = v.get("spending.eligibility_groups")
    text += f", PMPM by eligibility group ({words(list(groups))})" if groups else ""
    excluded = v.get("spending.excluded_categories")
    return text + (f", of included spending ({len(excluded)} categories excluded)." if excluded else ".")


def truncation(program: Program, v: Values) -> str:
    rule = v["spending.truncation"]
    if rule.method == "dollar_cap":
        return f"Each member's included spending is capped at {usd(rule.cap_usd)} a year."
    if rule.method == "percentile":
        return f"Each member's included spending is capped at the {pct(rule.percentile)} percentile of member-years."
    return "High-cost claims are not limited: no truncation."


def supplemental_payments(program: Program, v: Values) -> str:
    if v["spending.dsti_glide_path_savings"]:
        return ("DSTI glide-path savings (baseline-year DSTI payments less the year's glide-path payments) are "
                "subtracted from the weighted PMPM; other DSRIP payments are excluded.")
    return "Supplemental (DSTI glide-path) payments are not counted in the total cost of care."


def trend(program: Program, v: Values) -> str:
    return (f"Baseline PMPMs are trended at {pct(v['state_accountability.spending_growth.trend_rate'])} a year "
            f"from the {program.calendar.baseline_year} baseline.")


def trend_by_group(program: Program, v: Values) -> str:
    groups = v["state_accountability.spending_growth.eligibility_groups"]
    return (f"One trend rate, {pct(v['state_accountability.spending_growth.trend_rate'])}, for all "
            f"{len(groups)} eligibility groups; none differs by service category.")


def msr(program: Program, v: Values) -> str:
    rule = v["settlement.minimum_savings_rate"]
    rates = pct(rule.fixed) if rule.sliding is None else f"{pct(rule.sliding[0].rate)}-{pct(rule.sliding[-1].rate)}"
    return f"A minimum savings rate ({rates}) keeps savings from random variation from being paid."


def exclusion_protection(program: Program, v: Values) -> str:
    return exclusions(program, v) + " " + truncation(program, v)


def downside_required(program: Program, v: Values) -> str:
    if v.get("settlement.losses") is None:
        return "No: the arrangement is upside-only; entities share savings and repay no losses."
    return "Yes: entities repay a share of losses beyond the minimum loss rate."


def withhold_required(program: Program, v: Values) -> str:
    text = ("Yes: a share of every ACO's DSRIP funds is withheld at risk on its accountability score: " + "; ".join(
        f"{_name(s)} {by_period(program, t)}" for s, t in v["at_risk.aco"].items()))
    cp = v.get("at_risk.cp_csa")
    return text + (f"; community partners {by_period(program, cp, kind='cp')}." if cp else ".")


def risk_corridors(program: Program, v: Values) -> str:
    bands, low, parts = v["partnership_plan_risk_corridors"].bands, 0.0, []
    for band in bands:
        span = f"{pct(low)}-{pct(band.up_to_share)}" if band.up_to_share is not None else f"beyond {pct(low)}"
        parts.append(f"{span} of capitation: State takes {pct(band.state_share_of_gains)} of gains, bears "
                     f"{pct(band.state_share_of_losses)} of losses")
        low = band.up_to_share or low
    text = "Partnership Plans' medical gains and losses are shared in risk corridors: " + "; ".join(parts) + "."
    corridor = v.get("aco_accountability.tcoc_loss_corridor_share")
    return text + (f" Other ACOs' TCOC component falls to 0 at losses of {pct(corridor)}." if corridor else "")


def sharing_arrangement(program: Program, v: Values) -> str:
    cap = v.get("settlement.cap_share_of_benchmark")
    capped = f", capped at {pct(cap)} of the benchmark" if cap is not None else ", uncapped"
    losses = v.get("settlement.losses")
    down = "no downside risk" if losses is None else (
        f"losses shared at {pct(losses.sharing_rate)} beyond {pct(losses.minimum_loss_rate)}, capped at "
        f"{pct(losses.cap_share_of_benchmark)} of the benchmark")
    return f"Shared savings at {pct(v['settlement.sharing_rate'])}{capped}; {down}."


def settlement_losses(program: Program, v: Values) -> str:
    losses = v.get("settlement.losses")
    if losses is None:
        return "Nothing is recouped: the arrangement is upside-only."
    return (f"Entities repay {pct(losses.sharing_rate)} of losses at or beyond {pct(losses.minimum_loss_rate)} of "
            f"the benchmark, at most {pct(losses.cap_share_of_benchmark)} of it.")


def recoupment(program: Program, v: Values) -> str:
    shares = v["funding.table_f.shares"]
    return ("Authority the State loses is recouped from providers, split between classes by "
            + words([f"{_name(k)} {pct(x)}" for k, x in shares.items()])
            + f" and within a class by accountability score; a loss is first applied to the authority "
            f"{v['reallocation.reduction_applied_after_periods']} budget periods later where one remains.")


def savings_calculation(program: Program, v: Values) -> str:
    first = v["settlement.share_from_first_dollar"]
    return ("Savings are the entity's benchmark less its actual spending (each PMPM x member-months); an entity "
            "shares only when its savings rate meets the minimum savings rate, "
            + ("from the first dollar." if first else "on the savings above it."))


def sharing_rate(program: Program, v: Values) -> str:
    gate = v.get("settlement.quality_gate")
    tiered = ", multiplied by the entity's quality score" if gate is not None and gate.scale_sharing else ""
    down = "; no losses are shared" if v.get("settlement.losses") is None else ""
    return f"{pct(v['settlement.sharing_rate'])} of savings are shared{tiered}{down}."


def accountability_blend(program: Program, v: Values) -> str:
    weights = v["aco_accountability.component_weights"]
    return ("No savings gate: quality and cost are blended into the accountability score that releases withheld "
            "funds, weighing " + "; ".join(f"{_name(c)} {by_period(program, t)}" for c, t in weights.items()) + ".")


def benchmark_reset(program: Program, v: Values) -> str:
    return ("No rule rebases the spending baseline. Quality benchmarks may be reset when "
            f"{pct(v['aco_accountability.achievement.benchmark_reset_share_of_acos'])} of ACOs miss or meet them.")


RENDERERS: dict[str, Renderer] = {f.__name__: f for f in (
    eligible_population, eligibility_groups, attribution, participating_entities, aco_models,
    care_coordination_addon, community_partners, state_accountability, payment_gates, timeline,
    state_goals, measure_slates, settlement_measures, performance_thresholds, quality_gate, progress_reports,
    under_service_measures, domain_tests, quality_withhold,
    settlement_overview, funding_streams, rate_tiers, addon_tiers, pmpm_schedule, payment_trigger, tcoc_component,
    msr_population, minimum_denominator, installments, net_of_addon, exclusions, baseline, truncation,
    supplemental_payments, trend, trend_by_group, msr, exclusion_protection, downside_required, withhold_required,
    risk_corridors, sharing_arrangement, settlement_losses, recoupment, savings_calculation, sharing_rate,
    accountability_blend, benchmark_reset,
)}
