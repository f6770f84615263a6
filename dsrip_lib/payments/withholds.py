"""ACO startup/ongoing funding and the discretionary portion withheld at risk (sub-stream 2).

* funding (sub-streams 1 and 2 together) = base PMPM x (1 + model/risk-track adjustment +
  safety-net adjustment) x attributed member-months; member-months attributed to community
  health centers take the CHC safety-net adjustment instead of the ACO's category (Sec 4.4.1);
* the primary-care portion (sub-stream 1, never at risk) is its PMPM schedule x member-months;
* the discretionary rest (sub-stream 2) is withheld at the Exhibit 20 share of the budget period,
  lagged for ACOs that joined after BP 1.

The protocol never publishes the base rate, only the average adjusted PMPM of Exhibit 6; by
default the base of each budget period is calibrated so that the member-month-weighted average
adjusted PMPM of the ACOs paid equals Exhibit 6 (:func:`calibrated_base_pmpm`). Sub-stream 4
(the DSTI glide path) is withheld per hospital-to-ACO contract, in
``dsrip_lib.payments.dsti_contracts``.

References
----------
MassHealth DSRIP Protocol, Sec 4.4.1 (Exhibits 6-8, the primary-care PMPM schedule),
Sec 5.1.2 (Exhibits 19 and 20).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from dsrip_lib.errors import ParameterError
from dsrip_lib.inputs.codes import ACO_ENTITY_TYPE
from dsrip_lib.inputs.frame_checks import reject_rows, require_columns, require_finite, require_unique
from dsrip_lib.program import Program

KEY = ["entity_id", "budget_period"]
DISCRETIONARY = "startup_ongoing_discretionary"
MONTH_COLUMNS = [*KEY, "member_months", "chc_member_months"]
ENTITY_COLUMNS = ["entity_id", "entity_type", "aco_model", "risk_track", "safety_net_category", "join_budget_period"]


def calibrated_base_pmpm(member_months: pd.DataFrame, entities: pd.DataFrame, program: Program) -> dict[int, float]:
    """Base PMPM per budget period at which the ACOs' average adjusted PMPM is Exhibit 6's.

    ``base = exhibit_6_average x member_months / sum(member_months x (1 + adjustments))`` over
    every ACO paid in the period.

    Parameters
    ----------
    member_months, entities, program
        As for :func:`startup_ongoing_funding`.

    Returns
    -------
    dict
        Budget period -> base PMPM ($), for every period with member-months.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.1, Exhibit 6 (average adjusted PMPMs) and Exhibits 7-8.
    """
    factors = _adjusted(member_months, entities, program)
    totals = factors.groupby("budget_period")[["member_months", "adjusted_months"]].sum()
    averages = program.require("aco_payments").startup_ongoing_average_pmpm_usd
    return {int(bp): averages[int(bp)] * row.member_months / row.adjusted_months
            for bp, row in totals.iterrows() if row.adjusted_months > 0}


def startup_ongoing_funding(member_months: pd.DataFrame, entities: pd.DataFrame, program: Program, *,
                            base_pmpm_usd: Mapping[int, float] | None = None, chc_adjustment: bool = True
                            ) -> pd.DataFrame:
    """Startup/ongoing funding of each ACO and budget period, split into primary care and discretionary.

    Parameters
    ----------
    member_months : DataFrame
        ``entity_id, budget_period, member_months, chc_member_months`` (attributed member-months
        in total and to CHC PCPs, e.g. ``dsrip_lib.attribution.member_months.member_months_by_period``
        with ``aco_id`` renamed).
    entities : DataFrame
        The contract's ``entities`` (``entity_id, entity_type, aco_model, risk_track,
        safety_net_category, join_budget_period``); only ACOs are read.
    program : Program
        ``aco_payments`` (Exhibits 6-8, the primary-care schedule).
    base_pmpm_usd : mapping, optional
        The State's base PMPM per budget period; default :func:`calibrated_base_pmpm`.
    chc_adjustment : bool
        Apply the CHC safety-net adjustment to CHC-attributed member-months (the revised
        methodology the State may adopt, Sec 4.4.1); False gives every month the ACO's category.

    Returns
    -------
    DataFrame
        ``entity_id, budget_period, join_budget_period, member_months, chc_member_months,
        base_pmpm_usd, pmpm_usd, chc_pmpm_usd, funding_usd, primary_care_usd,
        discretionary_usd``. The primary-care portion is capped at the funding (discretionary
        is never negative). Amounts are not rounded.

    Raises
    ------
    InputValidationError
        A missing column, a duplicate ACO-period, negative or non-finite member-months, CHC
        months above the total, or member-months of an entity that is not an ACO in ``entities``.
    ParameterError
        A budget period without a base PMPM, or a model/risk track or safety-net category the
        exhibits do not list.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.1 (the $16 / $18 example), Exhibits 6-8 and the
    primary-care PMPM schedule.
    """
    payments = program.require("aco_payments")
    out = _adjusted(member_months, entities, program, chc_adjustment=chc_adjustment)
    base = calibrated_base_pmpm(member_months, entities, program) if base_pmpm_usd is None else dict(base_pmpm_usd)
    missing = sorted(set(out["budget_period"]) - set(base))
    if missing:
        raise ParameterError(f"no base startup/ongoing PMPM for budget period(s) {missing}")
    out["base_pmpm_usd"] = out["budget_period"].map(base).astype("float64")
    out["pmpm_usd"] = out["base_pmpm_usd"] * out["factor"]
    out["chc_pmpm_usd"] = out["base_pmpm_usd"] * out["chc_factor"]
    out["funding_usd"] = out["base_pmpm_usd"] * out["adjusted_months"]
    primary = out["budget_period"].map(payments.primary_care_investment_pmpm_usd.__getitem__).astype("float64")
    out["primary_care_usd"] = np.minimum(primary * out["member_months"], out["funding_usd"])
    out["discretionary_usd"] = out["funding_usd"] - out["primary_care_usd"]
    columns = [*KEY, "join_budget_period", "member_months", "chc_member_months", "base_pmpm_usd", "pmpm_usd",
               "chc_pmpm_usd", "funding_usd", "primary_care_usd", "discretionary_usd"]
    return out[columns].sort_values(KEY, ignore_index=True)


def aco_withholds(funding: pd.DataFrame, program: Program) -> pd.DataFrame:
    """Discretionary startup/ongoing funds withheld at risk: discretionary x the Exhibit 20 share.

    Parameters
    ----------
    funding : DataFrame
        :func:`startup_ongoing_funding` (``entity_id, budget_period, join_budget_period,
        discretionary_usd``).
    program : Program
        ``at_risk.aco_share`` (Exhibit 20, lagged for ACOs joining after BP 1).

    Returns
    -------
    DataFrame
        ``entity_id, budget_period, stream, at_risk_share, withheld_usd`` (``stream`` is
        ``startup_ongoing_discretionary``), ready for
        ``dsrip_lib.accountability.aco.earned_at_risk``.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.1.2, Exhibit 20 and the late-joiner rule below it.
    """
    at_risk = program.require("at_risk")
    require_columns(funding, "ACO startup/ongoing funding", [*KEY, "join_budget_period", "discretionary_usd"])
    shares = [at_risk.aco_share(DISCRETIONARY, int(bp), int(join))
              for bp, join in zip(funding["budget_period"], funding["join_budget_period"])]
    out = funding[KEY].assign(stream=DISCRETIONARY, at_risk_share=np.asarray(shares, dtype="float64"))
    out["withheld_usd"] = out["at_risk_share"] * funding["discretionary_usd"].to_numpy()
    return out


def _adjusted(member_months: pd.DataFrame, entities: pd.DataFrame, program: Program, *,
              chc_adjustment: bool = True) -> pd.DataFrame:
    """Member-months with each ACO's PMPM factors and ``adjusted_months`` (months x factor, summed)."""
    table = "ACO member-months"
    require_columns(member_months, table, MONTH_COLUMNS)
    require_unique(member_months, table, KEY)
    for column in ("member_months", "chc_member_months"):
        require_finite(member_months, table, column, KEY)
    reject_rows(member_months, table, (member_months["chc_member_months"] < 0)
                | (member_months["chc_member_months"] > member_months["member_months"]), "chc_member_months",
                "0 <= chc_member_months <= member_months", MONTH_COLUMNS)
    require_columns(entities, "entities", ENTITY_COLUMNS)
    acos = entities.loc[entities["entity_type"] == ACO_ENTITY_TYPE, ENTITY_COLUMNS]
    rows = member_months[MONTH_COLUMNS].merge(acos, on="entity_id", how="left", validate="many_to_one")
    reject_rows(rows, table, rows["entity_type"].isna(), "entity_id", "an ACO of the entities table", KEY)
    payments = program.require("aco_payments")
    tracks = [None if pd.isna(t) else int(t) for t in rows["risk_track"]]
    model_adj = np.array([payments.model_adjustment(m, t) for m, t in zip(rows["aco_model"], tracks)],
                         dtype="float64")
    categories = rows["safety_net_category"].astype("Int64")
    unknown = sorted(set(categories.dropna()) - set(payments.safety_net_adjustment)) + (
        ["missing"] if categories.isna().any() else [])
    if unknown:
        raise ParameterError(f"Exhibit 7 has no safety-net adjustment for ACO category(ies) {unknown}")
    rows["factor"] = 1 + model_adj + categories.map(payments.safety_net_adjustment).to_numpy(dtype="float64")
    rows["chc_factor"] = 1 + model_adj + payments.chc_safety_net_adjustment if chc_adjustment else rows["factor"]
    other = rows["member_months"] - rows["chc_member_months"]
    rows["adjusted_months"] = other * rows["factor"] + rows["chc_member_months"] * rows["chc_factor"]
    rows["join_budget_period"] = rows["join_budget_period"].astype("int64")
    return rows
