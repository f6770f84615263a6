"""DSTI glide-path funds paid to the ACO each DSTI hospital contracts with (the contract's ``dsti_contracts``).

The glide path is paid "directly to any ACO that is contracted with one of these seven DSTI safety
net hospitals", which passes the full amount on to the hospital, and "a DSTI hospital can only
contract with one ACO" (Sec 4.4.3). So:

* each hospital-period of ``dsrip_lib.payments.streams.dsti_glide_path`` covered by a contract is
  allotted whole to the contracting ACO (payee and entity type ``aco``; ``hospital`` keeps the
  hospital, so totals by hospital hold), its withheld share Exhibit 20's glide-path row lagged by
  the ACO's join period, and released by that ACO's accountability score (Sec 5.3.3, sub-stream 4);
* two contracts of one hospital covering the same budget period are refused, not split;
* a hospital-period without a contract stays at the State level, allotted to the hospital as
  without the table (:func:`uncontracted_hospital_periods` lists them).

References
----------
MassHealth DSRIP Protocol, Sec 4.4 (line 388), Sec 4.4.3 (line 659, Exhibits 10 and 11), Sec 5.1.2
(Exhibit 20 and the late-joiner lag), Sec 5.3.3.
"""

from __future__ import annotations

import pandas as pd

from dsrip_lib.inputs.codes import ACO_ENTITY_TYPE
from dsrip_lib.inputs.frame_checks import reject_rows, require_columns
from dsrip_lib.payments.streams import DSTI, DSTI_HOSPITAL, HOSPITAL, require_existing
from dsrip_lib.program import Program

TABLE = "dsti_contracts"
CONTRACT_COLUMNS = ["hospital", "aco_id", "from_budget_period", "to_budget_period"]


def contracted_periods(contracts: pd.DataFrame, entities: pd.DataFrame, program: Program,
                       hospitals: pd.Series | None = None) -> pd.DataFrame:
    """One row per hospital and ACO budget period a contract covers: ``hospital, budget_period, aco_id``.

    Parameters
    ----------
    contracts : DataFrame
        The contract's ``dsti_contracts`` (:data:`CONTRACT_COLUMNS`; budget periods on the ACO
        calendar, both ends included).
    entities : DataFrame
        The contract's ``entities``.
    program : Program
        The ACO calendar.
    hospitals : Series, optional
        The DSTI hospitals (``dsti_payments.hospital``): a contract of any other hospital is refused.

    Raises
    ------
    InputValidationError
        A missing column; a hospital without DSTI payments; an ``aco_id`` that is not an ACO of
        ``entities``; a period outside the ACO calendar or ``from_budget_period`` after
        ``to_budget_period``; a contract starting before its ACO joined; two contracts of one
        hospital covering the same budget period (Sec 4.4.3: one ACO per hospital).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4.3 (line 659: a DSTI hospital can only contract with one ACO).
    """
    require_columns(contracts, TABLE, CONTRACT_COLUMNS)
    rows = contracts[CONTRACT_COLUMNS].reset_index(drop=True)
    if hospitals is not None:
        reject_rows(rows, TABLE, ~rows["hospital"].isin(set(hospitals)), "hospital",
                    "a hospital of dsti_payments", CONTRACT_COLUMNS)
    types = rows["aco_id"].map(entities.set_index("entity_id")["entity_type"])
    reject_rows(rows.assign(entity_type=types), TABLE, types != ACO_ENTITY_TYPE, "aco_id",
                f"an entity of the entities table with entity_type {ACO_ENTITY_TYPE!r}",
                [*CONTRACT_COLUMNS, "entity_type"])
    numbers = [p.number for p in program.calendar.budget_periods("aco")]
    for column in ("from_budget_period", "to_budget_period"):
        reject_rows(rows, TABLE, ~rows[column].isin(numbers), column,
                    f"a budget period of the ACO calendar ({numbers[0]}-{numbers[-1]})", CONTRACT_COLUMNS)
    reject_rows(rows, TABLE, ~(rows["from_budget_period"] <= rows["to_budget_period"]), "to_budget_period",
                "from_budget_period <= to_budget_period", CONTRACT_COLUMNS)
    require_existing(rows.assign(budget_period=rows["from_budget_period"]), TABLE, entities, column="aco_id")
    spans = [range(int(a), int(b) + 1) for a, b in zip(rows["from_budget_period"], rows["to_budget_period"])]
    covered = rows.loc[rows.index.repeat([len(s) for s in spans])].assign(
        budget_period=[bp for s in spans for bp in s])
    overlap = covered.duplicated(["hospital", "budget_period"], keep=False)
    reject_rows(covered, TABLE, overlap, "from_budget_period, to_budget_period",
                "a hospital contracts with one ACO at a time (Sec 4.4.3): no two contracts of a hospital cover the "
                "same budget period", [*CONTRACT_COLUMNS, "budget_period"])
    return covered[["hospital", "budget_period", "aco_id"]].astype({"budget_period": "int64"}).reset_index(drop=True)


def allot_to_contracting_acos(dsti: pd.DataFrame, contracts: pd.DataFrame, entities: pd.DataFrame,
                              program: Program, hospitals: pd.Series) -> pd.DataFrame:
    """The DSTI allotments with each contracted hospital-period allotted to its ACO.

    Parameters
    ----------
    dsti : DataFrame
        ``dsrip_lib.payments.streams.dsti_glide_path`` (State level, with ``hospital``).
    contracts, entities, program, hospitals
        As for :func:`contracted_periods` (``hospitals``: those of ``dsti_payments``).

    Returns
    -------
    DataFrame
        The same rows and amounts: a contracted one with ``entity_id`` the ACO, ``entity_type``
        ``aco`` and the at-risk share of Exhibit 20's glide-path row for the ACO's join period;
        an uncontracted one unchanged (the hospital, at the State level).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4 (line 388), Sec 4.4.3, Sec 5.1.2 (Exhibit 20, late joiners).
    """
    covered = contracted_periods(contracts, entities, program, hospitals=hospitals)
    out = dsti.merge(covered, on=[HOSPITAL, "budget_period"], how="left", validate="one_to_one")
    paid = out["aco_id"].notna()
    joins = out.loc[paid, "aco_id"].map(entities.set_index("entity_id")["join_budget_period"]).astype("int64")
    at_risk = program.require("at_risk")
    out.loc[paid, "at_risk_share"] = [at_risk.aco_share(DSTI, int(bp), int(join))
                                      for bp, join in zip(out.loc[paid, "budget_period"], joins)]
    out.loc[paid, "entity_id"] = out.loc[paid, "aco_id"]
    out.loc[paid, "entity_type"] = ACO_ENTITY_TYPE
    return out.drop(columns="aco_id")[dsti.columns]


def uncontracted_hospital_periods(allotments: pd.DataFrame) -> pd.DataFrame:
    """``hospital, budget_period, allotted_usd`` of the DSTI allotments left at the State level (no contract).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 4.4 (line 387: the glide path is contingent on a contract with an ACO).
    """
    rows = allotments[(allotments["sub_stream"] == DSTI) & (allotments["entity_type"] == DSTI_HOSPITAL)]
    return rows[[HOSPITAL, "budget_period", "allotted_usd"]].sort_values([HOSPITAL, "budget_period"],
                                                                          ignore_index=True)
