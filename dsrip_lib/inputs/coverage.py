"""What a data directory covers: rows per table and the span of time they fall in.

A quarterly report runs on data that ends mid-year; every report opens with this table so a
reader sees which months (or budget periods, or years) each table holds before reading a
number computed from them. An empty optional table is shown as empty.
"""

from __future__ import annotations

import pandas as pd

from dsrip_lib.inputs.dataset import Dataset

# The column that places a table's rows in time, and its unit; tables without one show rows only.
TIME_COLUMNS = {
    "enrollment": ("month", "month"),
    "pcp_assignments": ("start_date", "date"),
    "claims": ("service_date", "date"),
    "cp_engagement": ("month", "month"),
    "csa_caseload": ("month", "month"),
    "risk_scores": ("year", "year"),
    "measure_results": ("budget_period", "budget period"),
    "utilization": ("budget_period", "budget period"),
    "survey_scores": ("budget_period", "budget period"),
    "flexible_services": ("budget_period", "budget period"),
    "statewide_investments": ("budget_period", "budget period"),
    "dsti_payments": ("sfy", "SFY"),
    "target_actuals": ("as_of", "date"),
}


def _shown(value: object, unit: str) -> str:
    if unit in ("month", "date"):
        return f"{pd.Timestamp(value):%b %Y}"
    return {"budget period": f"BP {value}", "SFY": f"SFY{value}"}.get(unit, str(value))


def coverage(data: Dataset) -> pd.DataFrame:
    """One row per table present: ``table``, ``rows``, ``from``, ``to`` and, for dated tables,
    ``months with rows`` of ``months spanned`` (a gap inside the span shows as fewer).

    Tables without a time column show their rows only; an empty table shows ``empty``.
    """
    rows = []
    for name in data.names:
        table = data.table(name)
        column, unit = TIME_COLUMNS.get(name, (None, None))
        if column is None:
            rows.append({"table": name, "rows": int(table.count().execute())})
            continue
        # count the rows per distinct value first (a few thousand dates), then summarise those:
        # one cheap grouping of a claims-scale table instead of a distinct count of its months
        per_value = table.group_by(column).aggregate(_n=table.count())
        value = per_value[column]
        month = value.truncate("M") if unit in ("month", "date") else value
        stats = per_value.aggregate(rows=per_value._n.sum().fill_null(0), first=value.min(), last=value.max(),
                                    present=month.nunique()).execute().iloc[0]
        entry = {"table": name, "rows": int(stats["rows"])}
        if entry["rows"]:
            entry |= {"from": _shown(stats["first"], unit), "to": _shown(stats["last"], unit)}
            if unit in ("month", "date"):
                first, last = pd.Timestamp(stats["first"]), pd.Timestamp(stats["last"])
                spanned = (last.year - first.year) * 12 + last.month - first.month + 1
                entry |= {"months with rows": int(stats["present"]), "months spanned": spanned}
        else:
            entry["from"] = "empty"
        rows.append(entry)
    columns = ["table", "rows", "from", "to", "months with rows", "months spanned"]
    out = pd.DataFrame(rows).reindex(columns=columns)
    for col in ("months with rows", "months spanned"):
        out[col] = out[col].astype("Int64")
    return out.astype({"from": object, "to": object}).where(out.notna(), None)

