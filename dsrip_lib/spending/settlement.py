"""Shared-savings settlement of a PCMH+-shaped program, and both programs side by side.

:func:`settle` turns each entity's benchmark and actual PMPM into its shared savings (or
losses owed) under a program's ``settlement`` rules (``dsrip_lib/program/settlement.py``):
minimum savings rate, quality gate and quality-scaled sharing, cap, upside-only or two-sided
risk, netting of the care-coordination add-on, and the challenge pool. Money is settled in
whole cents and every threshold is compared exactly (``dsrip_lib/exact.py``), so savings of
exactly the MSR pass. :func:`compare_programs` puts one set of entities under MassHealth (the
TCOC component of Sec 5.3.2) and under PCMH+ side by side. docs/methodology/shared_savings.md
states each rule and its source.

References
----------
Connecticut DSS, "A Brief Primer on the Medicaid Quality Improvement and Shared Savings Program
(MQISSP)" (overall statement of purpose; overview of financial model). 42 CFR 425.604 and
425.606 (Medicare Shared Savings Program: minimum savings rate, sharing rate scaled by quality,
performance payment limit, minimum loss rate, shared loss rate, loss limit). CMS, "Integrated
Care Models in Medicaid: Proposal Planning Toolkit" (Part 2, III: shared savings net of care
coordination PMPMs). MassHealth DSRIP Protocol, Sec 5.3.2 and Exhibit 39.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from dsrip_lib.errors import InputValidationError
from dsrip_lib.exact import allocate_cents, exact
from dsrip_lib.program import Program
from dsrip_lib.program.settlement import Settlement
from dsrip_lib.spending.tcoc_component import tcoc_components

INPUT_COLUMNS = ("entity_id", "benchmark_pmpm", "actual_pmpm", "member_months", "attributed_members",
                 "addon_payments_usd")
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class SettlementResult:
    """Per-entity settlement and the challenge-pool totals.

    ``entities`` has the input columns plus ``benchmark_usd, actual_usd, savings_usd,
    savings_rate, msr, passes_msr, quality_gate_met, sharing_rate, shared_savings_usd,
    net_of_addon_usd, losses_owed_usd, withheld_by_gate_usd, challenge_pool_usd,
    total_payment_usd`` (dollars to the cent; ``savings_usd`` negative for losses).
    ``pool_usd`` is the savings withheld by the quality gate, ``pool_allocated_usd`` what
    went to entities that met it (the rest stays with the State).
    """

    entities: pd.DataFrame
    pool_usd: float
    pool_allocated_usd: float
    upside_only: bool

    @property
    def pool_unallocated_usd(self) -> float:
        return round(self.pool_usd - self.pool_allocated_usd, 2)

    def summary(self) -> str:
        e = self.entities
        risk = "upside-only" if self.upside_only else "two-sided"
        return (f"Shared-savings settlement ({risk}): {len(e)} entities, {int(e['passes_msr'].sum())} met the MSR, "
                f"{int((e['shared_savings_usd'] > 0).sum())} shared savings; shared ${e['shared_savings_usd'].sum():,.2f}, "
                f"paid net of add-on ${e['net_of_addon_usd'].sum():,.2f}, losses owed ${e['losses_owed_usd'].sum():,.2f}; "
                f"challenge pool ${self.pool_usd:,.2f} (${self.pool_allocated_usd:,.2f} allocated)")


def settle(entities: pd.DataFrame, rules: Settlement | Program, *,
           quality: pd.Series | pd.DataFrame | None = None) -> SettlementResult:
    """Settle each entity's savings or losses against its benchmark.

    For each entity, with ``B`` = benchmark and ``A`` = actual spending in dollars
    (PMPM x member-months, to the cent):

    1. savings ``S = B - A``; savings rate ``S / B`` (0 for an entity with no member-months);
    2. MSR: fixed, or from the sliding table by ``attributed_members``; the entity *passes*
       when ``S / B >= MSR`` exactly (42 CFR 425.604(b): savings must "meet or exceed" it);
    3. quality gate: met when ``quality_score >= minimum_score`` exactly (primer: savings "on
       the condition that they meet benchmarks on identified quality measures"); with
       ``scale_sharing`` the sharing rate is ``sharing_rate x quality_score`` (42 CFR 425.604(d));
    4. shared savings = sharing rate x ``S`` (or x ``S - MSR x B`` when not shared from the
       first dollar), capped at ``cap_share_of_benchmark x B`` (42 CFR 425.604(e)); paid only
       when the entity passes the MSR and meets the gate;
    5. net of the add-on: ``max(shared - addon_payments_usd, 0)`` when the program nets the
       care-coordination add-on (CMS ICM toolkit, Part 2 III); add-ons are never recouped;
    6. losses (two-sided only; upside-only programs such as PCMH+ owe nothing, primer,
       overview of financial model): when ``-S / B >= minimum_loss_rate``, the entity owes
       ``loss sharing rate x -S``, capped at ``cap_share_of_benchmark x B`` (42 CFR 425.606);
    7. challenge pool: the shared savings an entity would have earned but for the quality
       gate go to a pool, split among the entities that met the gate in proportion to
       quality score x attributed members (ILLUSTRATIVE rule; docs/methodology/shared_savings.md).

    Parameters
    ----------
    entities : DataFrame
        One row per entity: ``entity_id, benchmark_pmpm, actual_pmpm, member_months,
        attributed_members, addon_payments_usd``; ``quality_score`` in [0, 1] too when the
        rules have a quality gate and ``quality`` is not given. Other columns are kept.
        ``actual_pmpm`` may be missing for an entity with no member-months.
    rules : Settlement or Program
        The ``settlement`` block, or a program that has one.
    quality : Series or DataFrame, optional
        Quality score per entity: a Series indexed by ``entity_id`` or a frame with
        ``entity_id, quality_score``; overrides a ``quality_score`` column.

    Returns
    -------
    SettlementResult

    Raises
    ------
    InputValidationError
        A missing column or quality score, a duplicated entity, an entity with no (or a
        non-positive) benchmark, negative member-months, add-on payments or members, a
        missing actual PMPM with member-months, a quality score outside [0, 1], or a
        population below a sliding MSR table's first band; the message names the entities.
    ParameterError
        If ``rules`` is a program without a ``settlement`` block.

    References
    ----------
    MQISSP primer (overall statement of purpose; overview of financial model); 42 CFR 425.604,
    425.606; CMS ICM proposal toolkit, Part 2 III.
    """
    rules = rules.require("settlement") if isinstance(rules, Program) else rules
    frame = _with_quality(entities, quality, required=rules.needs_quality)
    _check(frame, rules)
    rows = [_settle_one(row, rules) for row in frame.itertuples(index=False)]
    out = frame.reset_index(drop=True).join(pd.DataFrame.from_records(rows))
    pool = int(out.pop("_withheld_cents").sum())
    allocation = _allocate_pool(out, pool) if rules.challenge_pool else np.zeros(len(out), dtype=np.int64)
    out["challenge_pool_usd"] = allocation / 100
    out["total_payment_usd"] = (out["net_of_addon_usd"] * 100 + allocation).round() / 100
    return SettlementResult(out, pool_usd=pool / 100, pool_allocated_usd=int(allocation.sum()) / 100,
                            upside_only=rules.upside_only)


def care_coordination_addon_usd(entities: pd.DataFrame, rules: Settlement | Program) -> pd.Series:
    """Care-coordination add-on paid to each entity: add-on PMPM x member-months for the entity types that get it.

    ``entities`` has ``entity_type`` and ``member_months``; PCMH+ pays the add-on to FQHCs
    only (MQISSP primer, overview of financial model). Dollars to the cent, in input order.
    """
    rules = rules.require("settlement") if isinstance(rules, Program) else rules
    addon = rules.care_coordination_addon
    if addon is None:
        return pd.Series(0.0, index=entities.index, name="addon_payments_usd")
    eligible = entities["entity_type"].isin(addon.entity_types)
    dollars = (entities["member_months"].astype("float64") * addon.pmpm_usd).round(2)
    return dollars.where(eligible, 0.0).rename("addon_payments_usd")


def compare_programs(entities: pd.DataFrame, masshealth: Program, shared_savings: Program, *,
                     quality: pd.Series | pd.DataFrame | None = None,
                     variation: pd.DataFrame | None = None) -> pd.DataFrame:
    """The same entities settled under MassHealth (TCOC component) and under a shared-savings program.

    MassHealth has no shared-savings payment: its TCOC enters the ACO accountability score
    as the TCOC component (Sec 5.3.2, Exhibit 39; ``dsrip_lib/spending/tcoc_component.py``).
    The shared-savings program pays (or, if two-sided, collects) by :func:`settle`.

    Parameters
    ----------
    entities : DataFrame
        As for :func:`settle`, plus ``budget_period``.
    masshealth, shared_savings : Program
        Programs with an ``aco_accountability`` and a ``settlement`` block.
    quality : optional
        As for :func:`settle`.
    variation : DataFrame, optional
        ``entity_id`` and random-variation columns (``VariationResult.entities`` of
        ``dsrip_lib/spending/variation.py``) to add, matched by entity.

    Returns
    -------
    DataFrame
        One row per entity: ``entity_id, budget_period, benchmark_usd, actual_usd,
        savings_usd, savings_rate``, MassHealth ``tcoc_component``, then the shared-savings
        program's ``msr, passes_msr, quality_gate_met, sharing_rate, shared_savings_usd,
        net_of_addon_usd, losses_owed_usd, challenge_pool_usd, total_payment_usd``, then the
        variation columns if given.
    """
    if "budget_period" not in entities.columns:
        raise InputValidationError("settlement comparison input: missing column 'budget_period'")
    settled = settle(entities, shared_savings, quality=quality).entities
    tcoc = tcoc_components(settled.assign(reference_pmpm=settled["benchmark_pmpm"]), masshealth)
    columns = ["entity_id", "budget_period", "benchmark_usd", "actual_usd", "savings_usd", "savings_rate",
               "tcoc_component", "msr", "passes_msr", "quality_gate_met", "sharing_rate", "shared_savings_usd",
               "net_of_addon_usd", "losses_owed_usd", "challenge_pool_usd", "total_payment_usd"]
    out = settled.assign(tcoc_component=tcoc["tcoc_component"].to_numpy())[columns]
    if variation is not None:
        extra = variation.drop(columns=[c for c in variation.columns if c in columns and c != "entity_id"])
        out = out.merge(extra, on="entity_id", how="left", validate="one_to_one")
    return out


# -- one entity, exactly --------------------------------------------------------------------------
def _cents(pmpm: float, member_months: float) -> int:
    return round(exact(float(pmpm)) * exact(float(member_months)) * 100)


def _settle_one(row, rules: Settlement) -> dict:
    members, months = int(row.attributed_members), float(row.member_months)
    benchmark = _cents(row.benchmark_pmpm, months)
    actual = _cents(row.actual_pmpm, months) if months > 0 else 0
    savings = benchmark - actual
    msr = exact(rules.minimum_savings_rate.rate_for(members))
    passes = benchmark > 0 and savings >= msr * benchmark
    gate = rules.quality_gate
    score = exact(float(row.quality_score)) if gate is not None else Fraction(1)
    gate_met = gate is None or score >= exact(gate.minimum_score)
    rate = exact(rules.sharing_rate) * (score if gate is not None and gate.scale_sharing else 1)
    shareable = savings if rules.share_from_first_dollar else savings - msr * benchmark
    earned = rate * shareable if passes else Fraction(0)
    if rules.cap_share_of_benchmark is not None:
        earned = min(earned, exact(rules.cap_share_of_benchmark) * benchmark)
    withheld = 0 if gate_met else round(earned)
    shared = round(earned) if gate_met else 0
    addon = round(exact(float(row.addon_payments_usd)) * 100)
    net = max(shared - addon, 0) if rules.net_of_care_coordination_addon else shared
    owed = 0
    if rules.losses is not None and benchmark > 0 and -savings >= exact(rules.losses.minimum_loss_rate) * benchmark:
        owed = round(min(exact(rules.losses.sharing_rate) * -savings,
                         exact(rules.losses.cap_share_of_benchmark) * benchmark))
    return {
        "benchmark_usd": benchmark / 100, "actual_usd": actual / 100, "savings_usd": savings / 100,
        "savings_rate": savings / benchmark if benchmark else 0.0, "msr": float(msr), "passes_msr": bool(passes),
        "quality_gate_met": bool(gate_met), "sharing_rate": float(rate), "shared_savings_usd": shared / 100,
        "net_of_addon_usd": net / 100, "losses_owed_usd": owed / 100,
        "withheld_by_gate_usd": withheld / 100, "_withheld_cents": withheld,
    }


def _allocate_pool(out: pd.DataFrame, pool_cents: int) -> np.ndarray:
    """Cents of the pool for each entity: by quality x members among those that met the gate.

    Largest-remainder rounding (``allocate_cents``), so the allocations add up to the pool to
    the cent; equal remainders go to the smaller ``entity_id`` (row order never decides).
    """
    weights = [exact(float(q)) * int(m) if met else Fraction(0)
               for q, m, met in zip(out["quality_score"], out["attributed_members"], out["quality_gate_met"])]
    if not any(weights):
        return np.zeros(len(out), dtype=np.int64)
    return allocate_cents(pool_cents, weights, out["entity_id"].astype(str).tolist())


# -- input checks ---------------------------------------------------------------------------------
def _with_quality(entities: pd.DataFrame, quality, *, required: bool) -> pd.DataFrame:
    frame = entities.copy()
    if quality is not None:
        scores = quality if isinstance(quality, pd.Series) else quality.set_index("entity_id")["quality_score"]
        frame["quality_score"] = frame["entity_id"].map(scores)
    if required and "quality_score" not in frame.columns:
        raise InputValidationError("settlement input: the rules have a quality gate but no quality_score was given "
                                   "(a quality_score column or the quality argument)")
    return frame


def _check(frame: pd.DataFrame, rules: Settlement) -> None:
    missing = [c for c in INPUT_COLUMNS if c not in frame.columns]
    if missing:
        raise InputValidationError(f"settlement input: missing column(s) {missing}; expected {list(INPUT_COLUMNS)}")

    def number(column: str) -> pd.Series:
        return pd.to_numeric(frame[column], errors="coerce").astype("float64")

    months, members = number("member_months"), number("attributed_members")
    checks = {
        "entity_id: must be unique": frame["entity_id"].duplicated(keep=False),
        "benchmark_pmpm: every entity needs a positive benchmark": ~(number("benchmark_pmpm") > 0)
        | ~np.isfinite(number("benchmark_pmpm")),
        "member_months: must be a number >= 0": ~(months >= 0) | ~np.isfinite(months),
        "attributed_members: must be a whole number >= 0": ~(members >= 0) | (members % 1 != 0),
        "addon_payments_usd: must be a number >= 0": ~(number("addon_payments_usd") >= 0)
        | ~np.isfinite(number("addon_payments_usd")),
        "actual_pmpm: must be a finite number where member_months > 0": (months > 0)
        & ~np.isfinite(number("actual_pmpm")),
    }
    if rules.needs_quality:
        score = number("quality_score")
        checks["quality_score: must be in [0, 1] for every entity"] = ~score.between(0, 1)
    smallest = rules.minimum_savings_rate.smallest_population
    checks[f"attributed_members: below {smallest}, the sliding MSR table's first band"] = members < smallest
    for rule, bad in checks.items():
        if bad.any():
            shown = [c for c in (*INPUT_COLUMNS, "quality_score") if c in frame.columns]
            rows = frame.loc[bad, shown].head(MAX_EXAMPLES).to_dict("records")
            raise InputValidationError(f"settlement input, column {rule}; {int(bad.sum())} entit"
                                       f"{'y' if bad.sum() == 1 else 'ies'}, e.g. {rows}")

