"""PMPM from claims: included spending per member-year, and spending, member-months and risk per cell.

Claims-scale steps are Ibis expressions (DuckDB by default). Claims are scanned once, grouped
by member and calendar year of service; enrollment months carry the ACO the attribution stage
gives them (its member-months, never recounted); one grouped aggregate then gives, per calendar
year, eligibility group and ACO, the member-months, the spending and the risk-score sums from
which every PMPM of the spending stage is a ratio (entity-level pandas from there on).

A member's included spending in a year is shared among the cells the member was in that year
in proportion to the member's enrolled months in each, so moving a claim between months of the
same year never changes an annual PMPM (docs/methodology/spending.md).

References
----------
MassHealth DSRIP Protocol, Sec 5.2.1.2 (PMPM by eligibility group by dates of service in
Included Spending Categories; average risk scores per eligibility group), Sec 5.3.2 (TCOC).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.exact import exact_sum
from dsrip_lib.inputs.codes import EXCLUSION_CATEGORIES
from dsrip_lib.program import Program
from dsrip_lib.program.spending import Spending, Truncation

ELIGIBLE = "aco_eligible"  # the population of MCO- and PCC-enrolled members (Sec 5.2.1.2)
ACO = "aco"  # the ACO population: ACO-enrolled or attributed member-months
# the per-cell sums of :func:`pmpm_cells`, per population prefix
SUMS = ("member_months", "spending", "risk_months", "scored_months", "unscored_with_spending")
N_EXAMPLES = 5


def spending_rules(program: Program) -> Spending:
    """The program's ``spending`` block, its exclusion codes checked against the data contract's.

    Raises
    ------
    ParameterError
        The program has no ``spending`` block, or excludes a category the contract does not know.
    """
    rules = program.require("spending")
    unknown = sorted(set(rules.excluded_categories) - set(EXCLUSION_CATEGORIES))
    if unknown:
        raise ParameterError(f"program {program.name!r}: spending.excluded_categories {unknown} are not "
                             f"exclusion categories of the data contract ({', '.join(EXCLUSION_CATEGORIES)})")
    return rules


def member_year_spending(claims: ir.Table, program: Program, truncation: Truncation | None = None,
                         cache: bool = False) -> ir.Table:
    """Included spending per member and calendar year of service: one grouped scan of claims.

    Claims whose ``exclusion_category`` the program excludes are dropped (a null category is
    included). No paid amount may be negative, NaN or null: checked first, by a count that reads
    only ``paid_amount``. Optional truncation caps each member-year (``truncation``, default the
    program's: off).

    ``cache``: keep the grouped scan on the backend, for a caller that reads it more than once. By
    default the scan streams into the caller's query: a cached copy holds memory that a large
    state's joins need (on 2 million members it pushed the PMPM cells past DuckDB's memory limit:
    1.66x the hand-written SQL cached, 1.23x streamed, ``bench_tcoc.py``, benchmarks/RESULTS.md).

    Returns ``member_id``, ``year``, ``paid``.

    Raises
    ------
    InputValidationError
        A paid amount is negative, NaN or null (the claims and a few examples named).
    ParameterError
        See :func:`spending_rules`.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 (expenditures by date of service in Included Spending
    Categories; the excluded categories).
    """
    rules = spending_rules(program)
    excluded = list(rules.excluded_categories)
    amount = claims.paid_amount
    bad = amount.isnull() | amount.isnan() | (amount < 0)
    n_bad = int(claims.filter(bad).count().execute())
    if n_bad:
        examples = claims.filter(bad).select("member_id", "service_date", "paid_amount").limit(N_EXAMPLES).execute()
        shown = "; ".join(f"member_id={r.member_id!r}, service_date={r.service_date}, paid_amount={r.paid_amount}"
                          for r in examples.itertuples())
        raise InputValidationError(f"claims.paid_amount: {n_bad:,} row(s) negative, NaN or null (rule: a finite "
                                   f"amount >= 0); e.g. {shown}")
    included = claims.exclusion_category.isnull() | ~claims.exclusion_category.isin(excluded)
    spending = claims.group_by(member_id=claims.member_id, year=claims.service_date.year().cast("int64")).aggregate(
        paid=exact_sum(ibis.ifelse(included, amount, 0.0)))
    truncation = truncation or rules.truncation
    if cache or truncation.method == "percentile":  # a percentile cap reads the spending twice (truncate)
        spending = spending.cache()
    return truncate(spending, truncation)


def truncate(spending: ir.Table, truncation: Truncation) -> ir.Table:
    """Member-year spending capped as ``truncation`` says (unchanged for method ``none``).

    ``percentile``: the cap of a year is that percentile (continuous) of the year's member-years
    with spending. It reads ``spending`` twice (the caps, then the capped amounts): pass a cached
    table, as :func:`member_year_spending` does.

    References
    ----------
    An option the State may use, not in the MassHealth protocol (CMS ICM proposal toolkit,
    "high-cost claim limits"); MassHealth DSRIP Protocol, Sec 5.2.1.2 for the PMPMs it caps.
    """
    if truncation.method == "none":
        return spending
    if truncation.method == "dollar_cap":
        return spending.mutate(paid=ibis.least(spending.paid, truncation.cap_usd))
    positive = spending.filter(spending.paid > 0)
    caps = positive.group_by("year").aggregate(_cap=positive.paid.quantile(truncation.percentile))
    joined = spending.left_join(caps, "year")
    return joined.select("member_id", "year", paid=ibis.least(joined.paid, joined._cap.fill_null(0.0)))


def member_year_cells(enrollment: ir.Table, attribution: ir.Table) -> ir.Table:
    """Enrolled months per member, year, eligibility group and attributed ACO (null when none).

    Enrollment months are matched to the attribution stage's member-months on member and month;
    an attributed month without an enrollment row keeps a null eligibility group (refused later).
    Returns ``member_id``, ``year``, ``eligibility_group``, ``aco_id``, ``months`` (enrolled
    months in the cell), ``eligible_months`` (of them ACO-eligible) and ``total_months`` (the
    member's enrolled months in the year, every cell).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 (member-months of the ACO-eligible population and of
    the ACO population, by eligibility group); Sec 4.4.4 (attributed member-months).
    """
    enr = enrollment.select("member_id", "month", "eligibility_group", "aco_eligible")
    att = attribution.select(_member="member_id", _month="month", aco_id="aco_id")
    joined = enr.outer_join(att, [enr.member_id == att._member, enr.month == att._month])
    months = joined.select(
        member_id=joined.member_id.fill_null(joined._member),
        year=joined.month.fill_null(joined._month).year().cast("int64"),
        eligibility_group=joined.eligibility_group,
        aco_id=joined.aco_id,
        eligible=joined.aco_eligible.fill_null(False).cast("int64"),
    )
    cells = months.group_by(["member_id", "year", "eligibility_group", "aco_id"]).aggregate(
        months=months.count(), eligible_months=months.eligible.sum())
    return cells.mutate(total_months=cells.months.sum().over(group_by=[cells.member_id, cells.year]))


def pmpm_cells(claims: ir.Table, enrollment: ir.Table, attribution: ir.Table, risk_scores: ir.Table,
               program: Program, truncation: Truncation | None = None) -> pd.DataFrame:
    """Member-months, spending and risk sums per calendar year, eligibility group and ACO.

    One row per ``year``, ``eligibility_group`` and ``aco_id`` (null: months attributed to no
    ACO). For each of two populations (prefix ``aco_eligible_`` and ``aco_``): ``member_months``,
    ``spending`` (the members' included spending shared by months), ``risk_months`` (risk score
    x months, over member-years with a score), ``scored_months`` and ``unscored_with_spending``
    (member-years with spending and no risk score). The ACO-eligible columns count the
    ACO-eligible months of every row; the ACO columns, the attributed months (rows with an ACO).

    Raises
    ------
    InputValidationError
        A member-month without an eligibility group; a member-year with spending and no risk
        score; a bad paid amount (:func:`member_year_spending`).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 (raw PMPM spending for the ACO population and the
    ACO-eligible population within each EG; average risk score per population and EG).
    """
    spending = member_year_spending(claims, program, truncation)
    risk = risk_scores.select(_rm="member_id", _ry="year", risk_score="risk_score")
    cells = member_year_cells(enrollment, attribution)
    spent = spending.rename(_sm="member_id", _sy="year")
    j = cells.left_join(spent, [cells.member_id == spent._sm, cells.year == spent._sy])
    j = j.left_join(risk, [j.member_id == risk._rm, j.year == risk._ry])
    paid = j.paid.fill_null(0.0)
    share = paid / j.total_months
    scored = j.risk_score.notnull()
    unscored_spender = (~scored & (paid > 0)).cast("int64")
    aco = j.aco_id.notnull()
    sums = {}
    for prefix, months in ((f"{ELIGIBLE}_", j.eligible_months), (f"{ACO}_", ibis.ifelse(aco, j.months, 0))):
        sums |= {
            f"{prefix}member_months": months.sum(),
            f"{prefix}spending": exact_sum(share * months),
            f"{prefix}risk_months": exact_sum(ibis.ifelse(scored, j.risk_score * months, 0.0)),
            f"{prefix}scored_months": ibis.ifelse(scored, months, 0).sum(),
            f"{prefix}unscored_with_spending": ibis.ifelse(months > 0, unscored_spender, 0).sum(),
        }
    out = j.group_by(["year", "eligibility_group", "aco_id"]).aggregate(**sums).execute()
    _refuse_gaps(out, j)
    out = out.sort_values(["year", "eligibility_group", "aco_id"], na_position="first", ignore_index=True)
    counts = ("member_months", "scored_months", "unscored_with_spending")
    return out.astype({c: "int64" for c in out.columns if c.endswith(counts)} | {"year": "int64"})


def _refuse_gaps(out: pd.DataFrame, joined: ir.Table) -> None:
    """Refuse cells with member-months but no eligibility group, or spenders without a risk score."""
    if out["eligibility_group"].isna().any():
        rows = joined.filter(joined.eligibility_group.isnull())
        n = int(rows.months.sum().execute())
        shown = "; ".join(f"member_id={r.member_id!r}, year={r.year}, aco_id={None if pd.isna(r.aco_id) else r.aco_id!r}"
                          for r in rows.select("member_id", "year", "aco_id").limit(N_EXAMPLES).execute().itertuples())
        raise InputValidationError(f"enrollment.eligibility_group: {n:,} member-month(s) with no eligibility "
                                   f"group (null, or attributed with no enrollment row); e.g. {shown}")
    counts = out[[f"{ELIGIBLE}_unscored_with_spending", f"{ACO}_unscored_with_spending"]].to_numpy()
    if counts.sum():
        rows = joined.filter(joined.risk_score.isnull() & (joined.paid.fill_null(0.0) > 0))
        shown = "; ".join(f"member_id={r.member_id!r}, year={r.year}" for r in
                          rows.select("member_id", "year").distinct().limit(N_EXAMPLES).execute().itertuples())
        raise InputValidationError(f"risk_scores: no risk score for {int(counts.max()):,} or more member-year(s) "
                                   f"with included spending (rule: every member-year with spending has a score, "
                                   f"Sec 5.2.1.2 risk adjustment); e.g. {shown}")


def population_totals(cells: pd.DataFrame, population: str, by: list[str]) -> pd.DataFrame:
    """Sums of one population's columns of :func:`pmpm_cells` over ``by`` with ``pmpm`` and ``risk``.

    ``pmpm`` = spending / member-months; ``risk`` = member-month-weighted average risk score
    (NaN where no member-month has a score, e.g. an empty cell). Rows without member-months in
    the population are dropped.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 (raw PMPM per population and eligibility group;
    average risk score per population and eligibility group).
    """
    cols = {f"{population}_{s}": s for s in SUMS}
    rows = cells if population == ELIGIBLE else cells[cells["aco_id"].notna()]
    out = rows.groupby(by, as_index=False, dropna=False)[list(cols)].sum().rename(columns=cols)
    out = out[out["member_months"] > 0].reset_index(drop=True)
    out["pmpm"] = out["spending"] / out["member_months"]
    out["risk"] = (out["risk_months"] / out["scored_months"].where(out["scored_months"] > 0))
    return out


def aco_member_costs(spending: ir.Table, enrollment: ir.Table, attribution: ir.Table, program: Program,
                     year: int) -> pd.DataFrame:
    """Each ACO member's attributed months and included spending in calendar year ``year``.

    The member-level input of the random-variation estimate (one row per ACO and member, the
    member's spending shared by months as in :func:`pmpm_cells`, groups outside the program's
    eligibility groups left out). ``spending`` is :func:`member_year_spending` of every year, which
    the caller keeps (its claims scan is cached on the backend while it is referred to), so asking
    for several years scans the claims once.

    Returns ``entity_id``, ``member_id``, ``member_months``, ``paid``.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.2 (included spending), Sec 5.3.2 (TCOC Performance).
    """
    codes = spending_rules(program).group_codes
    spending = spending.filter(spending.year == year)
    cells = member_year_cells(enrollment.filter(enrollment.month.year() == year),
                              attribution.filter(attribution.month.year() == year))
    cells = cells.filter(cells.aco_id.notnull(), cells.eligibility_group.isin(codes))
    spent = spending.select(_sm="member_id", paid="paid")
    j = cells.left_join(spent, cells.member_id == spent._sm)
    out = j.group_by(entity_id=j.aco_id, member_id=j.member_id).aggregate(
        member_months=j.months.sum(), paid=exact_sum(j.paid.fill_null(0.0) * j.months / j.total_months))
    return out.execute().sort_values(["entity_id", "member_id"], ignore_index=True)
