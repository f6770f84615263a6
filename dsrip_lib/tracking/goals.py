"""A program definition's goals as a target table, and their actuals from the stages' results.

MassHealth's goals are the State DSRIP Accountability domains (Sec 5.2.1): the ACO/APM adoption
rate against Exhibit 26, the reduction in spending growth off the trended PMPM against
Exhibit 27, each quality domain not statistically worse than the earlier periods (Sec 5.2.1.3)
and the statewide avoidable-utilisation reductions against Exhibit 29. They take the tracker's
shape: one aim (State accountability), the three domains as primary drivers, the exhibits as
secondary drivers, the budget periods as periods. A period the exhibit marks "NA" or "Reporting
only" is a ``"-"`` cell (no target).

References
----------
MassHealth DSRIP Protocol, Sec 5.2.1 (Exhibit 25), 5.2.1.1 (Exhibit 26), 5.2.1.2 (Exhibit 27),
5.2.1.3 (Exhibits 28-29).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from dsrip_lib.accountability.adoption import AdoptionResult
from dsrip_lib.accountability.state import ADOPTION, NAMES, QUALITY, SPENDING
from dsrip_lib.errors import ParameterError
from dsrip_lib.program import Program
from dsrip_lib.quality.state_domains import DomainTests
from dsrip_lib.quality.state_utilization import StateUtilization
from dsrip_lib.spending.growth import SpendingGrowthResult
from dsrip_lib.tracking.table import AT_LEAST, NO_TARGET, NUMBER, TargetTable

AIM_ID = "state_accountability"
AIM = "State DSRIP accountability to CMS (Sec 5.2)"
ADOPTION_RATE, SPENDING_REDUCTION = "adoption_rate", "spending_reduction"


def has_goals(program: Program) -> bool:
    """Whether the program defines State accountability goals (CT PCMH+ does not)."""
    return program.state_accountability is not None and program.quality_domains is not None


def quality_measure_id(domain: str) -> str:
    return f"quality.{domain}"


def utilization_measure_id(measure: str) -> str:
    return f"utilization.{measure}"


def _periods(program: Program) -> list:
    return program.calendar.budget_periods("aco")


def program_goals(program: Program) -> TargetTable:
    """The program's State accountability goals per budget period, in tracker shape.

    Raises
    ------
    ParameterError
        The program defines no State accountability (:func:`has_goals`).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.1 (Exhibit 26), 5.2.1.2 (Exhibit 27), 5.2.1.3 (Exhibits 28-29).
    """
    if not has_goals(program):
        raise ParameterError(f"program {program.name} defines no State accountability goals "
                             "(state_accountability and quality_domains)")
    rules = program.require("state_accountability")
    domains = program.require("quality_domains")
    quality = rules.quality_utilization
    periods = _periods(program)
    tested = {p.number: rules.domain_weights[QUALITY].get(p.number) is not None for p in periods}
    names = {d.key: d.label for d in domains}
    measures, targets = [], []

    def add(measure_id, name, driver, secondary_id, secondary, by_period):
        measures.append({"measure_id": measure_id, "measure": name, "unit": "share", "direction": AT_LEAST,
                         "secondary_driver_id": secondary_id, "secondary_driver": secondary,
                         "primary_driver_id": driver, "primary_driver": NAMES[driver]})
        for p in periods:
            value = by_period.get(p.number)
            targets.append({"measure_id": measure_id, "period": p.label, "cell": NO_TARGET if value is None else NUMBER,
                            "target": value})

    add(ADOPTION_RATE, "ACO/APM adoption rate", ADOPTION, "exhibit_26", "Adoption targets (Sec 5.2.1.1, Exhibit 26)",
        rules.adoption.targets)
    add(SPENDING_REDUCTION, "Reduction in spending growth off the trended PMPM", SPENDING, "exhibit_27",
        "Spending-growth reduction targets (Sec 5.2.1.2, Exhibit 27)", rules.spending_growth.reduction_targets)
    for domain in domains:
        if domain.key == quality.utilization_domain:
            continue
        # the State's domain score is 100% unless the domain is statistically worse (Sec 5.2.1.3)
        add(quality_measure_id(domain.key), f"{names[domain.key]}: domain score (100% unless statistically worse)",
            QUALITY, "quality_domains",
            "Quality domains not worse (Sec 5.2.1.3, Exhibit 28)",
            {bp: 1.0 for bp, w in domain.weights.items() if tested.get(bp) and w})
    for measure, by_period in quality.avoidable_utilization_targets.items():
        add(utilization_measure_id(measure), f"{measure}: reduction of the statewide O/E ratio from the baseline",
            QUALITY, "exhibit_29", "Avoidable utilisation (Sec 5.2.1.3, Exhibit 29)", by_period)
    table_periods = pd.DataFrame([{"period": p.label, "start": p.start, "end": p.end} for p in periods])
    aims = pd.DataFrame([{"primary_driver_id": d, "aim_id": AIM_ID, "aim": AIM} for d in NAMES])
    return TargetTable(program.name, f"{program.title}: State accountability goals", table_periods,
                       pd.DataFrame(measures), aims, pd.DataFrame(targets).astype({"target": "float64"}))


def goal_actuals(program: Program, adoption: Iterable[AdoptionResult], growth: SpendingGrowthResult | None,
                 tests: Mapping[int, DomainTests], utilization: Mapping[int, StateUtilization]) -> pd.DataFrame:
    """The goals' actuals from the stages' results: ``measure_id, period, value, as_of``.

    Adoption rates (Sec 5.2.1.1), the spending chain's percent reduction per budget period
    (Sec 5.2.1.2; ``growth`` None when the data cannot run the chain), the State's DSRIP domain
    score per tested quality domain and the statewide avoidable-utilisation reduction per
    Exhibit 29 measure (Sec 5.2.1.3). A result the data does not give (no eligible member, no
    scored year, no tested domain) has no row, so its due target is off track with "no actual
    reported". ``as_of`` is empty: a result computed from the data counts at any as-of date.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.1, 5.2.1.2, 5.2.1.3; Appendix C, steps 1-3.
    """
    label = {p.number: p.label for p in _periods(program)}
    rows = [(ADOPTION_RATE, r.budget_period, r.rate) for r in adoption if r.rate is not None]
    if growth is not None:
        summary = growth.summary_table.dropna(subset=["budget_period", "percent_reduction"])
        rows += [(SPENDING_REDUCTION, int(r.budget_period), float(r.percent_reduction))
                 for r in summary.itertuples()]
    for bp, result in tests.items():
        rows += [(quality_measure_id(domain), bp, float(score)) for domain, score in result.scores().items()]
    for bp, result in utilization.items():
        rows += [(utilization_measure_id(r.measure_id), bp, float(r.reduction)) for r in result.table().itertuples()
                 if pd.notna(r.reduction)]
    return pd.DataFrame([{"measure_id": m, "period": label[bp], "value": v, "as_of": None} for m, bp, v in rows],
                        columns=["measure_id", "period", "value", "as_of"])
