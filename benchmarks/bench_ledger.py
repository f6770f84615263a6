"""Speed of the payment ledger at state scale, against a row-by-row Python reference in the same run.

The library side is ``dsrip_lib.payments.ledger.ledger_from_tables``: every stream the data supports
(ACO startup/ongoing and flexible services, DSTI glide path, CP care coordination and
infrastructure, statewide investments) for every entity, budget period (Prep to BP 5) and
installment, with scores released for BP 1-4. Its inputs: the contract's tables of the synthetic
state, ACO member-months from ``truth.json`` (the attribution stage is benchmarked by
bench_attribution.py; CHC months 0), ILLUSTRATIVE scores drawn once per entity and period.

The reference recomputes, from the same allotments (``Ledger.allotments`` and the monthly care
coordination rows), every installment's paid and withheld cents and every release with plain
Python integers and ``decimal``: withheld = allotted x share rounded half up, each part split
evenly with the remainder cents on the first installments, BP 5 in its first half only; released
= score x withheld rounded half up, spread over the installments by largest remainder. Every
ledger row outside flexible services (whose reimbursement is not installment arithmetic) must
agree to the cent. Target: the ledger under 10 s; peak memory is this process's high-water mark.

    .venv/bin/python benchmarks/bench_ledger.py [--data DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from _common import GIB, ROOT, STATE_DATA, checkout, load_average, own_peak_rss, require_data, show, timed

from dsrip_lib.payments.ledger import ledger_from_tables
from dsrip_lib.payments.streams import cp_care_coordination
from dsrip_lib.program import load_program

TARGET_S = 10.0
SCHEDULES = {"quarterly": ("aco_payments", "installments_per_budget_period"),
             "biannual": ("cp_payments", "infrastructure_installments_per_budget_period")}


def inputs(data: Path, program) -> dict:
    """The ledger's inputs: contract tables, truth.json member-months, illustrative scores and approvals."""
    def read(name):
        return pd.read_parquet(data / f"{name}.parquet")

    truth = json.loads((data / "truth.json").read_text())
    months = pd.DataFrame([(aco, int(bp), mm, 0.0) for aco, by_bp in truth["aco_member_months"].items()
                           for bp, mm in by_bp.items() if mm > 0],
                          columns=["entity_id", "budget_period", "member_months", "chc_member_months"])
    entities = read("entities")
    payees = entities.loc[entities["entity_type"] != "mco", "entity_id"].sort_values()
    rng = np.random.default_rng(2017)
    scores = pd.DataFrame([(e, bp) for e in payees for bp in range(1, 6)], columns=["entity_id", "budget_period"])
    scores["accountability_score"] = rng.uniform(0.4, 1.0, len(scores))
    ends = {p.number: pd.Timestamp(p.end) for p in program.calendar.budget_periods("aco")}
    approvals = pd.DataFrame({"budget_period": [1, 2, 3, 4]})
    approvals["submitted_on"] = approvals["budget_period"].map(ends) + pd.DateOffset(months=3)
    approvals["approved_on"] = approvals["budget_period"].map(ends) + pd.DateOffset(months=9)
    return {"member_months": months, "entities": entities, "engagement": read("cp_engagement"),
            "flexible_requests": read("flexible_services"), "dsti_payments": read("dsti_payments"),
            "investments": read("statewide_investments"), "scores": scores, "approvals": approvals,
            "dsti_contracts": read("dsti_contracts"), "csa_caseload": read("csa_caseload")}


def library(program, tables: dict):
    return ledger_from_tables(tables["member_months"], tables["entities"], program, engagement=tables["engagement"],
                              flexible_requests=tables["flexible_requests"], dsti_payments=tables["dsti_payments"],
                              investments=tables["investments"], scores=tables["scores"],
                              approvals=tables["approvals"], dsti_contracts=tables["dsti_contracts"],
                              csa_caseload=tables["csa_caseload"])


def _half_up(cents: int, share: float) -> int:
    return int((Decimal(cents) * Decimal(repr(float(share)))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _even(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (i < extra) for i in range(parts)]


def reference(program, scheduled: pd.DataFrame, monthly: pd.DataFrame, scores: pd.DataFrame,
              approvals: pd.DataFrame) -> dict:
    """``(entity, sub_stream, budget_period, installment, kind) -> cents``, one Python loop per row."""
    out: dict = {}
    months_of: dict = {}
    for row in scheduled.itertuples(index=False):
        bp = int(row.budget_period)
        key = (row.calendar, bp, row.schedule)
        if key not in months_of:
            block_name, attribute = SCHEDULES[row.schedule]
            block = program.require(block_name)
            months = program.calendar.budget_period(bp, row.calendar).months
            if bp in block.first_half_only_budget_periods:
                months = months[:len(months) // 2]
            months_of[key] = len(months[::12 // getattr(block, attribute)])
        n = months_of[key]
        withheld = _half_up(int(row.allotted_cents), row.at_risk_share)
        for kind, cents in (("paid", int(row.allotted_cents) - withheld), ("withheld", withheld)):
            for i, part in enumerate(_even(cents, n), start=1):
                out[(row.entity_id, row.sub_stream, bp, i, kind)] = part
    rank: dict = {}
    for row in monthly.sort_values("month").itertuples(index=False):
        group = (row.entity_id, int(row.budget_period))
        rank[group] = rank.get(group, 0) + 1
        total = int(round(row.allotted_usd * 100))
        withheld = _half_up(total, row.at_risk_share)
        out[(row.entity_id, "care_coordination", group[1], rank[group], "paid")] = total - withheld
        out[(row.entity_id, "care_coordination", group[1], rank[group], "withheld")] = withheld
    _releases(out, scores, set(approvals["budget_period"]))
    return {k: v for k, v in out.items() if v > 0}


def _releases(out: dict, scores: pd.DataFrame, approved: set) -> None:
    """score x each group's withheld, half up, spread by largest remainder (ties to the earlier installment)."""
    score = {(e, int(bp)): s for e, bp, s in scores[["entity_id", "budget_period", "accountability_score"]]
             .itertuples(index=False)}
    groups: dict = {}
    for (entity, sub, bp, installment, kind), cents in out.items():
        if kind == "withheld" and cents > 0 and bp in approved and (entity, bp) in score:
            groups.setdefault((entity, sub, bp), []).append((installment, cents))
    for (entity, sub, bp), parts in groups.items():
        total = sum(c for _, c in parts)
        earned = _half_up(total, score[(entity, bp)])
        floors = [(earned * c // total, earned * c % total, i) for i, c in parts]
        extra = earned - sum(f for f, _, _ in floors)
        bonus = {i for _, _, i in sorted(floors, key=lambda t: (-t[1], t[2]))[:extra]}
        for (floor, _, i), (_, cents) in zip(floors, parts):
            released = floor + (i in bonus)
            out[(entity, sub, bp, i, "released")] = released
            out[(entity, sub, bp, i, "forfeited")] = cents - released


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=STATE_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = require_data(args.data)
    program = load_program()
    tables = inputs(data, program)
    print(f"payment ledger (dsrip_lib at {ROOT}, commit {checkout(ROOT)}) on {data}: "
          f"{len(tables['entities'])} entities, {len(tables['engagement']):,} CP engagement rows, "
          f"{len(tables['flexible_requests']):,} flexible-services requests; median (min-max) of {args.repeat}; "
          f"load average {load_average():.1f}")
    monthly = cp_care_coordination(tables["engagement"], tables["entities"], program)
    t_lib, t_ref = [], []
    for _ in range(args.repeat):
        t, ledger = timed(lambda: library(program, tables))
        allotments = ledger.allotments
        scheduled = allotments[allotments["schedule"].isin(list(SCHEDULES))
                               & (allotments["sub_stream"] != "flexible_services")]
        u, expected = timed(lambda: reference(program, scheduled, monthly, tables["scores"], tables["approvals"]))
        t_lib.append(t)
        t_ref.append(u)
    rows = ledger.rows[ledger.rows["sub_stream"] != "flexible_services"]
    got = {(e, s, int(bp), int(i), k): int(c) for e, s, bp, i, k, c in rows[
        ["entity_id", "sub_stream", "budget_period", "installment", "kind", "cents"]].itertuples(index=False)}
    agree = got == expected
    if not agree:
        differ = sorted(k for k in got.keys() | expected.keys() if got.get(k) != expected.get(k))
        print(f"  DISAGREE on {len(differ)} rows, e.g. " + "; ".join(
            f"{k}: ledger {got.get(k)} reference {expected.get(k)}" for k in differ[:3]))
    kinds = ledger.rows.groupby("kind")["cents"].sum()
    print(f"  {len(ledger.rows):,} ledger rows, {ledger.rows['entity_id'].nunique()} payees, "
          f"{ledger.rows['budget_period'].nunique()} budget periods; "
          + ", ".join(f"{k} ${v / 100:,.2f}" for k, v in kinds.items()))
    print(f"  ledger_from_tables (every stream):              {show(t_lib, '{:.3f}', ' s')}")
    print(f"  reference (installments, withholds, releases): {show(t_ref, '{:.3f}', ' s')}   "
          f"agree to the cent on all {len(got):,} non-flexible rows: {agree}")
    met = max(t_lib) < TARGET_S
    print(f"  peak memory (this process): {own_peak_rss() / GIB:.2f} GiB   target < {TARGET_S:g} s: "
          f"{'met' if met else 'MISSED'}")
    return 0 if agree and met else 1


if __name__ == "__main__":
    sys.exit(main())
