"""Stratified two-sample tests: the CMH mean-score statistic and van Elteren's test.

Van Elteren's test (stratified Wilcoxon rank-sum) is the Cochran-Mantel-Haenszel
"row mean scores differ" statistic with modified ridit scores, as SAS PROC FREQ computes
it with ``CMH2 SCORES=MODRIDIT``. The formulas, choices and references are in
``docs/methodology/statistics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from dsrip_lib.errors import ParameterError
from dsrip_lib.stats._input import ALTERNATIVES, LongTable, check_choice, read_long_table

SCORES = ("modridit", "rank", "table")
METHODS = ("asymptotic", "exact", "permutation")
SKIP_ONE_GROUP = "only one group present"
SKIP_ALL_TIED = "all values tied"

Alternative = Literal["two-sided", "greater", "less"]


@dataclass(frozen=True)
class StratumScores:
    """Within-stratum scores of every row, grouped by cell (one cell = one test x stratum).

    Row arrays are in sorted order (by cell, then value); ``cell_start`` gives each cell's
    first position and the ``table`` row of the same index describes it. ``rank2`` is twice
    the mid-rank, an integer, which the exact method needs to place score sums on a lattice.
    """

    cell_start: np.ndarray
    values: np.ndarray
    rank2: np.ndarray
    score: np.ndarray
    is_first: np.ndarray
    table: pd.DataFrame  # one row per cell; see score_cells


def _midranks(cell_start: np.ndarray, n: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Twice the mid-rank of each value within its cell, and each cell's number of distinct values.

    Rows are sorted by (cell, value); cell h holds rows cell_start[h] .. cell_start[h] + n[h] - 1.
    A run of L tied values starting at position s in a cell starting at c has mid-rank
    s - c + (L + 1) / 2, so twice it is the integer 2 (s - c) + L + 1.
    """
    size = len(values)
    new_tie = np.zeros(size, dtype=bool)
    new_tie[1:] = values[1:] != values[:-1]
    new_tie[cell_start] = True
    tie_start = np.flatnonzero(new_tie)
    tie_length = np.diff(np.append(tie_start, size))
    rank2 = np.repeat(2 * tie_start + tie_length + 1, tie_length) - np.repeat(2 * cell_start, n)
    return rank2, np.add.reduceat(new_tie, cell_start, dtype=np.int64)


def _cell_value_order(pair: np.ndarray, values: np.ndarray, n_pairs: int) -> np.ndarray:
    """Row order sorted by cell, then value (the order of tied values is irrelevant).

    Same result as ``np.lexsort((values, pair))`` several times faster: numpy's default
    float sort is vectorised, and its stable sort of 8- or 16-bit integers is a radix sort.
    """
    by_value = np.argsort(values)
    key = pair[by_value]
    for small in (np.uint8, np.uint16):
        if n_pairs <= np.iinfo(small).max:
            key = key.astype(small)
            break
    return by_value[np.argsort(key, kind="stable")]


def score_cells(table: LongTable, scores: str) -> StratumScores:
    """Rank within each test x stratum cell and compute each cell's CMH mean-score terms.

    For cell h with n_h rows, n1_h of them in the first group and scores a_hj:
    S_h = sum of the first group's scores, E_h = n1_h * mean_h, and the conditional
    permutation variance V_h = n1_h n2_h / (n_h (n_h - 1)) * sum_j (a_hj - mean_h)^2.

    References
    ----------
    SAS/STAT User's Guide, PROC FREQ, "Cochran-Mantel-Haenszel Statistics" (mean score
    statistic) and "Modified Ridit Scores". Van Elteren (1960). MassHealth DSRIP Protocol,
    Sec 5.2.1.3 and Appendix C step 3(a), Exhibit A6.
    """
    n_strata = max(len(table.stratum_labels), 1)
    n_pairs = len(table.test_labels) * n_strata
    pair = table.test_codes * n_strata + table.stratum_codes
    counts = np.bincount(pair, minlength=n_pairs)
    cell_pair = np.flatnonzero(counts)  # cells in sorted order are the non-empty pairs
    n = counts[cell_pair]
    cell_start = np.append(0, np.cumsum(n)[:-1])
    order = _cell_value_order(pair, table.values, n_pairs)
    values = table.values[order]
    is_first = table.is_first[order]
    rank2, n_distinct = _midranks(cell_start, n, values)

    if scores == "modridit":
        score = rank2 / np.repeat(2.0 * (n + 1), n)
        weight = 1.0 / (n + 1)
    elif scores == "rank":
        score = rank2 / 2.0
        weight = np.ones(len(n))
    else:
        score = values
        weight = np.ones(len(n))
    n1 = np.add.reduceat(is_first, cell_start, dtype=np.int64)
    n2 = n - n1
    mean = np.add.reduceat(score, cell_start) / n
    # centred sum of squares: exact zero for tied scores, no cancellation for large table scores
    sum_sq = np.add.reduceat((score - np.repeat(mean, n)) ** 2, cell_start)
    sum_first = np.add.reduceat(np.where(is_first, score, 0.0), cell_start)
    expected = n1 * mean
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = np.where(n > 1, n1 * n2 / (n * (n - 1.0)) * sum_sq, 0.0)
    reason = np.where((n1 == 0) | (n2 == 0), SKIP_ONE_GROUP, np.where(n_distinct <= 1, SKIP_ALL_TIED, ""))
    frame = pd.DataFrame(
        {
            "test": cell_pair // n_strata,
            "stratum": cell_pair % n_strata,
            "n_first": n1,
            "n_second": n2,
            "n": n,
            "weight": weight,
            "score_sum_first": sum_first,
            "expected": expected,
            "variance": np.where(reason == "", variance, 0.0),
            "used": reason == "",
            "skip_reason": reason,
        }
    )
    return StratumScores(cell_start, values, rank2, score, is_first, frame)


@dataclass(frozen=True)
class StratifiedTestResult:
    """Result of a stratified two-sample mean-score test, in scipy's style.

    Attributes
    ----------
    statistic : float
        CMH chi-square, T**2 / Var (1 df): SAS's "Row Mean Scores Differ" value.
    pvalue : float
        For ``alternative``; NaN when no stratum is informative (not testable).
    zscore : float
        T / sqrt(Var), positive when ``first`` has the higher scores.
    observed_minus_expected : float
        T = sum_h (S_h - E_h) over informative strata.
    variance : float
        Var = sum_h V_h, the conditional permutation variance of T.
    strata : pandas.DataFrame
        One row per stratum: n per group, score sum of the first group, its expectation and
        variance, the stratum weight, whether it was used and why not.
    pvalue_mc_se : float or None
        Monte Carlo standard error of ``pvalue`` (``method="permutation"`` only).
    null_distribution : pandas.DataFrame or None
        Exact null distribution of T (columns ``t``, ``probability``; ``method="exact"`` only).
    """

    statistic: float
    pvalue: float
    zscore: float
    observed_minus_expected: float
    variance: float
    alternative: str
    method: str
    scores: str
    first: object
    second: object
    strata: pd.DataFrame = field(repr=False)
    pvalue_mc_se: float | None = None
    n_resamples: int | None = None
    null_distribution: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def strata_used(self) -> list:
        """Labels of the informative strata that entered the statistic."""
        return self.strata.loc[self.strata["used"], "stratum"].tolist()

    @property
    def strata_skipped(self) -> dict:
        """Label -> reason for every stratum that carried no information."""
        skipped = self.strata.loc[~self.strata["used"]]
        return dict(zip(skipped["stratum"], skipped["skip_reason"]))

    @property
    def n_informative_strata(self) -> int:
        """How many strata entered the statistic; zero means not testable."""
        return int(self.strata["used"].sum())

    @property
    def testable(self) -> bool:
        """False when no stratum is informative (the report shows "not testable")."""
        return self.n_informative_strata > 0


def normal_pvalue(z: np.ndarray | float, alternative: str) -> np.ndarray | float:
    """P-value of a standard normal z for the alternative; two-sided equals chi2.sf(z**2, 1)."""
    if alternative == "greater":
        return stats.norm.sf(z)
    if alternative == "less":
        return stats.norm.cdf(z)
    return stats.chi2.sf(np.square(z), 1)


def _combine(frame: pd.DataFrame, n_tests: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per test: T, Var and number of informative strata."""
    used = frame["used"].to_numpy()
    test = frame["test"].to_numpy()[used]
    diff = (frame["score_sum_first"] - frame["expected"]).to_numpy()[used]
    t = np.bincount(test, weights=diff, minlength=n_tests)
    var = np.bincount(test, weights=frame["variance"].to_numpy()[used], minlength=n_tests)
    return t, var, np.bincount(test, minlength=n_tests)


def _check_common(alternative: str, scores: str) -> None:
    check_choice("alternative", alternative, ALTERNATIVES)
    check_choice("scores", scores, SCORES)


def cmh_mean_score(
    data: pd.DataFrame,
    value: str,
    group: str,
    stratum: str,
    *,
    first: object,
    scores: str = "modridit",
    alternative: Alternative = "two-sided",
    method: str = "asymptotic",
    n_resamples: int = 10_000,
    random_state: int | np.random.Generator | None = None,
) -> StratifiedTestResult:
    """CMH mean-score test of two groups stratified by a blocking variable.

    Parameters
    ----------
    data : pandas.DataFrame
        Long table, one row per observation.
    value, group, stratum : str
        Column names: the response, the two-level group, the stratum (block).
    first : object
        The group label whose higher scores make ``zscore`` positive. Never inferred.
    scores : {"modridit", "rank", "table"}
        Within-stratum scores: modified ridit (mid-rank / (n_h + 1), van Elteren's test),
        mid-ranks, or the values themselves (SAS ``SCORES=TABLE``).
    alternative : {"two-sided", "greater", "less"}
        "greater": the first group tends to score higher.
    method : {"asymptotic", "exact", "permutation"}
        Normal approximation (no continuity correction); the exact conditional permutation
        distribution (shift algorithm within strata, convolved across strata); or Monte Carlo
        resampling of group labels within strata.
    n_resamples : int
        Monte Carlo resamples for ``method="permutation"``.
    random_state : int, numpy.random.Generator or None
        Seed for ``method="permutation"``.

    Returns
    -------
    StratifiedTestResult

    Raises
    ------
    InputValidationError
        Bad table (see ``read_long_table``).
    ParameterError
        Unknown option, or an exact distribution too large to compute.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 (State accountability domain 3: "stratified
    Wilcoxon test; i.e., the van Elteren test") and Appendix C step 3(a), Exhibit A6.
    Van Elteren, P. H. (1960), Bull. Int. Stat. Inst. 37, 351-361. Lehmann, E. L. (1975),
    Nonparametrics, pp. 132-141. SAS/STAT User's Guide, PROC FREQ, CMH statistics.
    """
    _check_common(alternative, scores)
    check_choice("method", method, METHODS)
    table = read_long_table(data, value, group, stratum, first)
    cells = score_cells(table, scores)
    frame = cells.table
    t, var, used = _combine(frame, 1)
    strata = frame.drop(columns="test").assign(stratum=table.stratum_labels[frame["stratum"].to_numpy()])
    common = dict(
        alternative=alternative, method=method, scores=scores, first=table.first, second=table.second, strata=strata
    )
    if used[0] == 0:
        return StratifiedTestResult(np.nan, np.nan, np.nan, 0.0, 0.0, **common)
    z = t[0] / np.sqrt(var[0])
    statistic = z * z
    if method == "asymptotic":
        return StratifiedTestResult(statistic, float(normal_pvalue(z, alternative)), z, t[0], var[0], **common)
    if method == "exact":
        from dsrip_lib.stats.exact import exact_pvalue

        pvalue, null = exact_pvalue(cells, scores, alternative)
        return StratifiedTestResult(statistic, pvalue, z, t[0], var[0], **common, null_distribution=null)
    from dsrip_lib.stats.permutation import permutation_pvalue

    if not (isinstance(n_resamples, (int, np.integer)) and n_resamples > 0):
        raise ParameterError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    pvalue, se = permutation_pvalue(cells, t[0], var[0], alternative, int(n_resamples), random_state)
    return StratifiedTestResult(
        statistic, pvalue, z, t[0], var[0], **common, pvalue_mc_se=se, n_resamples=int(n_resamples)
    )


def van_elteren(
    data: pd.DataFrame,
    value: str,
    group: str,
    stratum: str,
    *,
    first: object,
    alternative: Alternative = "two-sided",
    method: str = "asymptotic",
    n_resamples: int = 10_000,
    random_state: int | np.random.Generator | None = None,
) -> StratifiedTestResult:
    """Van Elteren's stratified Wilcoxon rank-sum test (modified-ridit CMH mean-score test).

    Within each stratum, values get mid-ranks (ties averaged) and modified ridit scores
    rank / (n_h + 1); strata where one group is absent or every value is tied are skipped
    and reported. The statistic equals SAS PROC FREQ ``CMH2 SCORES=MODRIDIT`` "Row Mean
    Scores Differ"; no continuity correction. See :func:`cmh_mean_score` for parameters.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 and Appendix C step 3(a), Exhibit A6: the
    domain test of the current Budget Period's aggregate score against the pooled previous
    Budget Periods. Van Elteren (1960); Lehmann (1975), pp. 132-141; SAS Usage Note 25022.
    """
    return cmh_mean_score(
        data,
        value,
        group,
        stratum,
        first=first,
        scores="modridit",
        alternative=alternative,
        method=method,
        n_resamples=n_resamples,
        random_state=random_state,
    )


def cmh_mean_score_many(
    data: pd.DataFrame,
    value: str,
    group: str,
    stratum: str,
    test: str,
    *,
    first: object,
    scores: str = "modridit",
    alternative: Alternative = "two-sided",
) -> pd.DataFrame:
    """Many asymptotic stratified tests at once from one long table, one row per test id.

    ``test`` names the column identifying the test (e.g. domain x budget period x
    sensitivity option); every test compares the same two group labels. Ranks are
    computed once for all test x stratum cells.

    Returns
    -------
    pandas.DataFrame
        Indexed by test id, columns ``statistic``, ``zscore``, ``pvalue`` (NaN when not
        testable), ``observed_minus_expected``, ``variance``, ``n_strata_used``,
        ``n_strata_skipped`` and ``strata_skipped`` (dict stratum -> reason).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 and Appendix C step 3(a), Exhibit A6 (one van
    Elteren test per quality domain per Budget Period). SAS/STAT PROC FREQ CMH statistics.
    """
    _check_common(alternative, scores)
    table = read_long_table(data, value, group, stratum, first, test=test)
    frame = score_cells(table, scores).table
    n_tests = len(table.test_labels)
    t, var, used = _combine(frame, n_tests)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(used > 0, t / np.sqrt(var), np.nan)
    skipped = frame.loc[~frame["used"]]
    skipped_by_test = [{} for _ in range(n_tests)]
    for test_code, stratum_code, reason in zip(skipped["test"], skipped["stratum"], skipped["skip_reason"]):
        skipped_by_test[test_code][table.stratum_labels[stratum_code]] = reason
    return pd.DataFrame(
        {
            "statistic": z * z,
            "zscore": z,
            "pvalue": normal_pvalue(z, alternative),
            "observed_minus_expected": t,
            "variance": var,
            "n_strata_used": used,
            "n_strata_skipped": [len(s) for s in skipped_by_test],
            "strata_skipped": skipped_by_test,
        },
        index=pd.Index(table.test_labels, name=test),
    )


def van_elteren_many(
    data: pd.DataFrame,
    value: str,
    group: str,
    stratum: str,
    test: str,
    *,
    first: object,
    alternative: Alternative = "two-sided",
) -> pd.DataFrame:
    """Van Elteren's test for every test id of a long table at once (asymptotic).

    See :func:`cmh_mean_score_many`; this is its modified-ridit case.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 and Appendix C step 3(a), Exhibit A6.
    """
    return cmh_mean_score_many(
        data, value, group, stratum, test, first=first, scores="modridit", alternative=alternative
    )
