"""Small hand-built extracts shared by the tests: Ibis tables of the contract and a valid data directory."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

D = dt.date.fromisoformat  # "2018-05-01" -> a date

SCHEMAS = {
    "enrollment": {
        "member_id": "string", "month": "date", "eligibility_group": "string",
        "aco_eligible": "boolean", "plan_type": "string", "plan_id": "string",
        "aco_id": "string", "chc_pcp": "boolean",
    },
    "pcp_assignments": {
        "member_id": "string", "pcp_npi": "string", "plan_id": "string",
        "start_date": "date", "end_date": "date",
    },
    "providers": {
        "npi": "string", "provider_type": "string", "is_chc": "boolean",
        "aco_id": "string", "apm_paid": "boolean",
    },
    "entities": {
        "entity_id": "string", "entity_type": "string", "name": "string",
        "aco_model": "string", "risk_track": "int64", "safety_net_category": "int64",
        "mco_id": "string", "join_budget_period": "int64",
    },
    "claims": {
        "claim_id": "string", "member_id": "string", "service_date": "date",
        "provider_npi": "string", "service_category": "string",
        "primary_care_visit": "boolean", "paid_amount": "float64",
        "exclusion_category": "string",
    },
}


def table(name, rows):
    """An ibis memtable of the contract table ``name`` from full rows."""
    schema = SCHEMAS[name]
    df = pd.DataFrame(rows, columns=list(schema))
    for col, typ in schema.items():
        if typ == "date":
            df[col] = df[col].map(lambda v: D(v) if isinstance(v, str) else v)
    return ibis.memtable(df, schema=schema)


def enrollment(*rows):
    """Rows (member, "YYYY-MM", plan_type, aco_id[, aco_eligible])."""
    full = []
    for r in rows:
        member, month, plan, aco = r[:4]
        eligible = r[4] if len(r) > 4 else True
        plan_id = {"aco_a": aco, "aco_b": "PCC", "pcc": "PCC", "mco": "MCO1"}.get(plan)
        full.append((member, f"{month}-01", "base_families" if eligible else "other",
                     eligible, plan, plan_id, aco, False))
    return table("enrollment", full)


def assignments(*rows):
    """Rows (member, npi, start, end-or-None)."""
    return table("pcp_assignments", [(m, n, "MCO1", s, e) for m, n, s, e in rows])


def providers(*rows):
    """Rows (npi, is_chc, aco_id, apm_paid)."""
    return table("providers", [(n, "pcp", chc, aco, apm) for n, chc, aco, apm in rows])


ENTITIES = table("entities", [
    ("ACO_A", "aco", "A", "A", 2, 1, None, 0),
    ("ACO_B", "aco", "B", "B", 2, 1, None, 0),
    ("ACO_C", "aco", "C", "C", 1, 1, "MCO1", 0),
    ("MCO1", "mco", "MCO 1", None, None, None, None, 0),
])

PROVIDERS = providers(
    ("1000000001", False, "ACO_C", True),   # model C PCP
    ("1000000002", True, "ACO_C", True),    # model C PCP at a CHC
    ("1000000003", False, "ACO_B", False),  # model B PCP: no MCO attribution
    ("1000000004", False, None, True),      # non-participating, APM-paid
    ("1000000005", True, "ACO_A", False),   # model A PCP at a CHC
)


def valid_frames() -> dict[str, pd.DataFrame]:
    """A tiny, consistent state: every required table plus two optional ones."""
    return {
        "members": pd.DataFrame({
            "member_id": ["01060", "M2", "M3"], "birth_date": [dt.date(1980, 1, 1), dt.date(2001, 5, 2), dt.date(1950, 7, 9)],
            "sex": ["F", "M", "F"], "dual_eligible": [False, False, True]}),
        "enrollment": pd.DataFrame({
            "member_id": ["01060", "01060", "M2", "M3"],
            "month": [dt.date(2018, 1, 1), dt.date(2018, 2, 1), dt.date(2018, 1, 1), dt.date(2018, 1, 1)],
            "eligibility_group": ["base_families", "base_families", "new_adult", "other"],
            "aco_eligible": [True, True, True, False], "plan_type": ["aco_a", "mco", "aco_b", "ffs"],
            "plan_id": ["ACO1", "MCO1", "PCC", None], "aco_id": ["ACO1", None, "ACO1", None],
            "chc_pcp": [True, False, True, False]}),
        "pcp_assignments": pd.DataFrame({
            "member_id": ["01060", "01060", "M2"], "pcp_npi": ["1234567890", "0987654321", "1234567890"],
            "plan_id": ["ACO1", "MCO1", "PCC"], "start_date": [dt.date(2018, 1, 1), dt.date(2018, 2, 15), dt.date(2018, 1, 1)],
            "end_date": [dt.date(2018, 2, 14), None, dt.date(2018, 12, 31)]}),
        "entities": pd.DataFrame({
            "entity_id": ["ACO1", "ACO2", "MCO1", "CP1"], "entity_type": ["aco", "aco", "mco", "cp_bh"],
            "name": ["One", "Two", "Plan", "Partner"], "aco_model": ["A", "C", None, None],
            "risk_track": pd.array([None, 2, None, None], dtype="Int64"),
            "safety_net_category": pd.array([1, None, None, None], dtype="Int64"),
            "mco_id": [None, "MCO1", None, None], "join_budget_period": [0, 1, 0, 0]}),
        "providers": pd.DataFrame({
            "npi": ["1234567890", "0987654321"], "provider_type": ["pcp", "pcp"], "is_chc": [True, False],
            "aco_id": ["ACO1", None], "apm_paid": [True, False]}),
        "claims": pd.DataFrame({
            "claim_id": ["C1", "C2", "C3"], "member_id": ["01060", "M2", "M3"],
            "service_date": [dt.date(2018, 1, 5), dt.date(2019, 3, 3), dt.date(2017, 1, 1)],
            "provider_npi": ["1234567890", "0987654321", "0987654321"],
            "service_category": ["primary_care", "inpatient", "pharmacy"], "primary_care_visit": [True, False, False],
            "paid_amount": [120.5, 9000.0, 0.0], "exclusion_category": [None, None, "hep_c_drug"]}),
        "measure_results": pd.DataFrame({
            "entity_id": ["ACO1", "ACO1"], "budget_period": [1, 1], "measure_id": ["m1", "m2"],
            "numerator": [5.0, None], "denominator": [10.0, None], "rate": [None, 0.8], "eligible_members": [10, 20]}),
        "cp_engagement": pd.DataFrame({
            "member_id": ["M2"], "month": [dt.date(2019, 4, 1)], "cp_id": ["CP1"], "engaged": [True]}),
    }


def write(data_dir: Path, frames: dict[str, pd.DataFrame | pa.Table]) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, data_dir / f"{name}.parquet")
    return data_dir
