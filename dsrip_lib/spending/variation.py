"""Random variation of savings: how sure is an entity's saving, from the spread of its members' costs.

An entity's PMPM is a ratio estimate, total paid over total member-months of its members.
Even with no true change in cost, a small population's PMPM lands above or below the
benchmark by chance; a minimum savings rate (MSR) exists to stop paying for that chance.
:func:`savings_variation` gives each entity the standard error of its PMPM, a confidence
interval for its savings, and the one-sided p-value: the probability, if its true PMPM
equalled the benchmark, of savings at least as large as observed. With an MSR it also gives
the chance that savings under that null would clear the MSR. docs/methodology/shared_savings.md
describes the method and why it matters.

Estimator: members are independent draws, each with cost ``y_i`` over ``m_i``
member-months. The PMPM is ``R = sum(y) / sum(m)`` (member-month weighted), and its
variance by the delta method (linearisation of the ratio) is
``Var(R) = n / (n - 1) * sum((y_i - R m_i)^2) / sum(m)^2`` (Cochran, *Sampling Techniques*,
3rd ed., Sec 6.3-6.4). Savings PMPM = benchmark - R; the benchmark is fixed unless its own
standard error is given, which is then added in quadrature (independent estimates).
Savings in dollars = savings PMPM x member-months. Intervals and p-values use the normal
approximation: on simulated nulls (tests/spending/test_variation.py) it holds its nominal level
for moderately skewed costs and a few hundred members, and is anti-conservative for heavily
skewed costs in small populations (chance savings look significant too often), a reason to
truncate high-cost members before settling.

References
----------
Medicare Shared Savings Program, 42 CFR 425.604(b) and the final rule's preamble (Medicare
Program; Medicare Shared Savings Program: Accountable Care Organizations, 76 FR 67802, 2011):
the MSR varies with the number of assigned beneficiaries so that savings at that rate are
unlikely (at a 90 percent confidence level) to be random variation. Connecticut DSS, "A Brief
Primer on the Medicaid Quality Improvement and Shared Savings Program (MQISSP)". CMS,
"Integrated Care Models in Medicaid: Proposal Planning Toolkit" (Part 2, III: target number
of beneficiaries for statistical validity; minimum savings thresholds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from dsrip_lib.errors import InputValidationError, ParameterError

MEMBER_COLUMNS = ("entity_id", "member_id", "member_months", "paid")
BENCHMARK_COLUMNS = ("entity_id", "benchmark_pmpm")
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class VariationResult:
    """Per-entity random variation of savings.

    ``entities``: ``entity_id, members, member_months, actual_pmpm, se_pmpm,
    benchmark_pmpm, benchmark_se_pmpm, savings_pmpm, savings_se_pmpm, savings_usd,
    savings_se_usd, ci_low_usd, ci_high_usd, savings_rate, ci_low_rate, ci_high_rate,
    statistic`` (savings / its standard error) and ``pvalue`` (one-sided, H0: true PMPM =
    benchmark); with an ``msr`` column in the benchmarks also ``msr`` and
    ``pvalue_at_msr`` (the chance, under H0, of a savings rate at or above the MSR).
    """

    entities: pd.DataFrame
    confidence: float

    @property
    def statistic(self) -> pd.Series:
        return self.entities.set_index("entity_id")["statistic"]

    @property
    def pvalue(self) -> pd.Series:
        return self.entities.set_index("entity_id")["pvalue"]

    def summary(self) -> str:
        e = self.entities
        significant = int((e["pvalue"] < 1 - self.confidence).sum())
        line = (f"Random variation of savings ({len(e)} entities, delta-method SE of the member-month-weighted "
                f"PMPM, {self.confidence:.0%} intervals): {significant} with savings unlikely to be chance "
                f"(one-sided p < {1 - self.confidence:.2g})")
        if "pvalue_at_msr" in e.columns:
            line += f"; chance of clearing the MSR with no true saving: median {e['pvalue_at_msr'].median():.1%}"
        return line


def pmpm_variance(member_costs: pd.DataFrame) -> pd.DataFrame:
    """Each entity's PMPM (total paid / member-months) and its delta-method standard error.

    Rows of the same member in an entity are added up first (a member is one draw).

    Returns
    -------
    DataFrame
        ``entity_id, members, member_months, paid, actual_pmpm, se_pmpm``.

    Raises
    ------
    InputValidationError
        A missing column, a missing or negative amount or member-month count, or an entity
        with fewer than two members or no member-months (no variance can be estimated).
    """
    _check_members(member_costs)
    per_member = member_costs.groupby(["entity_id", "member_id"], as_index=False, sort=True)[
        ["member_months", "paid"]].sum()
    totals = per_member.groupby("entity_id", sort=True).agg(
        members=("member_id", "size"), member_months=("member_months", "sum"), paid=("paid", "sum"))
    bad = totals[(totals["members"] < 2) | ~(totals["member_months"] > 0)]
    if len(bad):
        raise InputValidationError(
            f"member costs: {len(bad)} entit{'y has' if len(bad) == 1 else 'ies have'} fewer than two members or no "
            f"member-months, so the PMPM's variance cannot be estimated, e.g. "
            f"{bad.head(MAX_EXAMPLES).reset_index().to_dict('records')}")
    totals["actual_pmpm"] = totals["paid"] / totals["member_months"]
    ratio = per_member["entity_id"].map(totals["actual_pmpm"])
    residual_sq = (per_member["paid"] - ratio * per_member["member_months"]) ** 2
    sum_sq = residual_sq.groupby(per_member["entity_id"]).sum()
    n = totals["members"]
    totals["se_pmpm"] = np.sqrt(n / (n - 1) * sum_sq / totals["member_months"] ** 2)
    return totals.reset_index()


def savings_variation(member_costs: pd.DataFrame, benchmarks: pd.DataFrame, *,
                      confidence: float = 0.90) -> VariationResult:
    """Confidence interval and chance probability of each entity's savings against its benchmark.

    Parameters
    ----------
    member_costs : DataFrame
        ``entity_id, member_id, member_months, paid`` for the performance period (included
        spending only, as the PMPM that is settled).
    benchmarks : DataFrame
        ``entity_id, benchmark_pmpm``; optionally ``benchmark_se_pmpm`` (the benchmark's own
        standard error, else it is treated as fixed) and ``msr`` (the entity's minimum
        savings rate, to compare with chance).
    confidence : float
        Level of the two-sided intervals (default 90%, the MSSP's level for its MSRs).

    Returns
    -------
    VariationResult

    Raises
    ------
    ParameterError
        If ``confidence`` is not in (0, 1).
    InputValidationError
        For bad member costs (:func:`pmpm_variance`), a non-positive or missing benchmark, a
        negative benchmark standard error, or entities in one frame and not the other.

    References
    ----------
    42 CFR 425.604(b); 76 FR 67802 (2011) on the MSR's confidence level; Cochran,
    *Sampling Techniques*, Sec 6.3-6.4 (variance of a ratio estimate).
    """
    if not 0 < confidence < 1:
        raise ParameterError(f"confidence must be in (0, 1), got {confidence!r}")
    pmpm = pmpm_variance(member_costs)
    bench = _checked_benchmarks(benchmarks, set(pmpm["entity_id"]))
    out = pmpm.drop(columns="paid").merge(bench, on="entity_id", validate="one_to_one")
    out["savings_pmpm"] = out["benchmark_pmpm"] - out["actual_pmpm"]
    out["savings_se_pmpm"] = np.hypot(out["se_pmpm"], out["benchmark_se_pmpm"])
    out["savings_usd"] = out["savings_pmpm"] * out["member_months"]
    out["savings_se_usd"] = out["savings_se_pmpm"] * out["member_months"]
    half = stats.norm.ppf((1 + confidence) / 2) * out["savings_se_usd"]
    out["ci_low_usd"], out["ci_high_usd"] = out["savings_usd"] - half, out["savings_usd"] + half
    benchmark_usd = out["benchmark_pmpm"] * out["member_months"]
    out["savings_rate"] = out["savings_usd"] / benchmark_usd
    out["ci_low_rate"], out["ci_high_rate"] = out["ci_low_usd"] / benchmark_usd, out["ci_high_usd"] / benchmark_usd
    out["statistic"], out["pvalue"] = _one_sided(out["savings_pmpm"], out["savings_se_pmpm"])
    if "msr" in out.columns:
        _, out["pvalue_at_msr"] = _one_sided(out["msr"] * out["benchmark_pmpm"], out["savings_se_pmpm"])
    return VariationResult(out, confidence)


def _one_sided(savings: pd.Series, se: pd.Series) -> tuple[pd.Series, pd.Series]:
    """z = savings / se and P(Z >= z); with no variance (se 0), p is 0 for savings and 1 otherwise."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = savings / se
    degenerate = se == 0
    z = z.where(~degenerate, np.sign(savings) * np.inf)
    p = pd.Series(stats.norm.sf(z), index=savings.index).where(~degenerate, (savings <= 0).astype(float))
    return z, p


def _check_members(frame: pd.DataFrame) -> None:
    missing = [c for c in MEMBER_COLUMNS if c not in frame.columns]
    if missing:
        raise InputValidationError(f"member costs: missing column(s) {missing}; expected {list(MEMBER_COLUMNS)}")
    for column in ("member_months", "paid"):
        values = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        bad = ~(values >= 0) | ~np.isfinite(values)
        if bad.any():
            rows = frame.loc[bad, list(MEMBER_COLUMNS)].head(MAX_EXAMPLES).to_dict("records")
            raise InputValidationError(f"member costs, column {column}: must be a number >= 0; "
                                       f"{int(bad.sum())} row(s), e.g. {rows}")


def _checked_benchmarks(benchmarks: pd.DataFrame, entities: set) -> pd.DataFrame:
    missing = [c for c in BENCHMARK_COLUMNS if c not in benchmarks.columns]
    if missing:
        raise InputValidationError(f"benchmarks: missing column(s) {missing}; expected {list(BENCHMARK_COLUMNS)}")
    keep = [c for c in (*BENCHMARK_COLUMNS, "benchmark_se_pmpm", "msr") if c in benchmarks.columns]
    bench = benchmarks[keep].copy()
    if "benchmark_se_pmpm" not in bench.columns:
        bench["benchmark_se_pmpm"] = 0.0
    value, se = bench["benchmark_pmpm"].astype("float64"), bench["benchmark_se_pmpm"].astype("float64")
    bad = ~(value > 0) | ~np.isfinite(value) | ~(se >= 0) | ~np.isfinite(se) | bench["entity_id"].duplicated(keep=False)
    if bad.any():
        raise InputValidationError(f"benchmarks: benchmark_pmpm must be positive, benchmark_se_pmpm >= 0 and each "
                                   f"entity once; {int(bad.sum())} row(s), e.g. "
                                   f"{bench.loc[bad].head(MAX_EXAMPLES).to_dict('records')}")
    named = set(bench["entity_id"])
    if named != entities:
        raise InputValidationError(f"benchmarks and member costs name different entities: without a benchmark "
                                   f"{sorted(entities - named)[:MAX_EXAMPLES]}, without member costs "
                                   f"{sorted(named - entities)[:MAX_EXAMPLES]}")
    return bench
