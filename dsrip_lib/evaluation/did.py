"""Difference-in-differences of the member-year panel, its placebo, the naive comparisons and the MDE.

The estimator (docs/methodology/evaluation.md):

* every member's outcome in each later calendar year is differenced from the member's own
  baseline-year mean (a long difference: it absorbs member effects, as member fixed effects
  would), for the members with baseline-year months;
* treated rows are a member's attributed months in a year (its mean over them); comparison rows
  are members never attributed (the clean comparison: no already-treated or later-treated member
  serves as a control, so staggered entry - the late-joining ACO, members switching in later -
  is handled as Callaway and Sant'Anna do with never-treated controls and a universal base
  period); a member's months before first attribution (``not_yet``) and after leaving
  (``after``) are in neither;
* one weighted least squares regression per outcome (weights = the row's member-months) of the
  change on year effects and treated-by-year effects, solved from per-column sums
  (:func:`~dsrip_lib.evaluation.dummy_wls.dummy_wls`: the design is all dummies; statsmodels'
  WLS gives the same numbers and is the tests' reference); the effect is the treated-by-year effects
  averaged with the treated member-months of each year as weights, the relative effect that over
  the treated rows' counterfactual mean (their mean minus the effect), its interval by the delta
  method from the joint covariance of a stacked regression;
* standard errors clustered by member, or by ACO (treated rows by the member's first ACO,
  comparison members their own clusters) where the question is about ACOs. With fewer ACO
  clusters than ``min_clusters``, ``small_clusters="refuse"`` refuses and ``"cr1_t"`` keeps
  the CR1 covariance and takes intervals from t with G - 1 degrees of freedom, G the
  ACO clusters.

References
----------
MassHealth DSRIP Protocol, Sec 6.4.1 (the independent evaluation's interim and summative
assessments). Callaway, B. and Sant'Anna, P. (2021), Difference-in-differences with multiple time
periods, J. Econometrics 225, 200-230. Cameron, A. C. and Miller, D. L. (2015), A practitioner's
guide to cluster-robust inference, J. Human Resources 50, 317-372.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.evaluation.dummy_wls import NONE, dummy_wls
from dsrip_lib.evaluation.panel import AFTER, NEVER, NOT_YET, OUTCOMES, TREATED

Cluster = Literal["member", "aco"]
SmallClusters = Literal["refuse", "cr1_t"]
ESTIMATE_COLUMNS = ["outcome", "estimate", "se", "low", "high", "counterfactual", "relative", "relative_low",
                    "relative_high", "mde", "mde_relative", "treated_member_months", "comparison_member_months",
                    "members", "clusters", "df", "method"]
N_EXAMPLES = 5


def _base_means(periods: pd.DataFrame, baseline_year: int, outcomes: Sequence[str]) -> pd.DataFrame:
    base = periods[(periods["year"] == baseline_year) & (periods["phase"] != AFTER)]
    base = base.groupby("member")[["months", *outcomes]].sum()
    return base[list(outcomes)].div(base["months"], axis=0)


def _changes(periods: pd.DataFrame, baseline_year: int, outcomes: Sequence[str], placebo: bool) -> pd.DataFrame:
    """The regression rows: each later member-year row's mean minus the member's baseline mean,
    with ``treated`` (for the placebo: the year before a member's first attributed year)."""
    later = periods[periods["year"] > baseline_year]
    if placebo:
        fake = (later["phase"] == NOT_YET) & (later["year"] == later["cohort"] - 1)
        later = later[fake | (later["phase"] == NEVER)].assign(treated=fake)
        later = later[later["year"].isin(later.loc[later["treated"], "year"].unique())]
    else:
        later = later[later["phase"].isin([TREATED, NEVER])].assign(treated=later["phase"] == TREATED)
    rows = later.groupby(["member", "year", "treated"], as_index=False).agg(
        months=("months", "sum"), first_aco=("first_aco", "first"), **{o: (o, "sum") for o in outcomes})
    base = _base_means(periods, baseline_year, outcomes)
    rows = rows[rows["member"].isin(base.index)].reset_index(drop=True)
    means = rows[list(outcomes)].div(rows["months"], axis=0)
    for o in outcomes:
        rows[f"{o}_level"] = means[o]
        rows[o] = means[o] - base[o].reindex(rows["member"]).to_numpy()
    return rows


def _check_comparison(rows: pd.DataFrame, outcomes: Sequence[str]) -> None:
    """Refuse a period with treated rows and no comparison member (for any outcome)."""
    for o in outcomes:
        has = rows[rows[o].notna()].groupby("year")["treated"].agg(["any", "all"])
        bad = has[has["all"]]
        if len(bad):
            counts = rows[rows["year"].isin(bad.index)].groupby("year")["months"].sum()
            shown = "; ".join(f"year={y}: {m:,} attributed member-months" for y, m in counts.head(N_EXAMPLES).items())
            raise InputValidationError(
                f"enrollment / attribution, outcome {o}: {len(bad)} period(s) with ACO-attributed members and no "
                f"ACO-eligible member never attributed (rule: a difference-in-differences needs comparison members "
                f"in every period it estimates); {shown}")


def _clusters(rows: pd.DataFrame, cluster: Cluster) -> tuple[np.ndarray, int]:
    """Cluster codes of the rows and the count that decides small-cluster handling."""
    if cluster == "member":
        codes, uniques = pd.factorize(rows["member"])
        return codes, len(uniques)
    if cluster != "aco":
        raise ParameterError(f"cluster must be 'member' or 'aco', got {cluster!r}")
    key = np.where(rows["treated"], "aco:" + rows["first_aco"].astype(str), "member:" + rows["member"].astype(str))
    codes, _ = pd.factorize(key)
    return codes, int(rows.loc[rows["treated"], "first_aco"].nunique())


def _critical(alpha: float, df: float | None) -> float:
    return float(stats.norm.ppf(1 - alpha / 2) if df is None else stats.t.ppf(1 - alpha / 2, df))


def _power_quantile(power: float, df: float | None) -> float:
    return float(stats.norm.ppf(power) if df is None else stats.t.ppf(power, df))


def did(periods: pd.DataFrame, baseline_year: int, *, outcomes: Sequence[str] = OUTCOMES, alpha: float = 0.05,
        power: float = 0.8, cluster: Cluster = "member", min_clusters: int = 30,
        small_clusters: SmallClusters = "cr1_t", exclude_years: Sequence[int] = (),
        placebo: bool = False) -> pd.DataFrame:
    """The difference-in-differences effect of ACO attribution on each outcome (module docstring).

    Parameters
    ----------
    periods
        :func:`~dsrip_lib.evaluation.panel.member_periods` (``after`` rows are left out).
    baseline_year
        The base period of every member's difference (the program's baseline year).
    alpha, power
        Two-sided level of the intervals; power of the minimum detectable effect.
    cluster, min_clusters, small_clusters
        Clustering unit; the fewest clusters the cluster-robust covariance is trusted with; what
        to do below it (``refuse`` or ``cr1_t``).
    exclude_years
        Years left out (the COVID sensitivity analysis).
    placebo
        A fake launch one year before each member's first attributed year: the treated rows
        are that year's months (not yet attributed), the comparison the never-attributed
        members of the same years; an interval covering zero is what parallel trends predict.

    Returns
    -------
    DataFrame
        One row per outcome, :data:`ESTIMATE_COLUMNS`: the effect per member-month
        (``estimate``, ``se``, ``low``, ``high``), the treated rows' ``counterfactual`` mean,
        ``relative`` effect and its interval, the minimum detectable effect (``mde``,
        ``mde_relative``: the true effect the design detects with probability ``power`` at
        level ``alpha``), sizes, ``clusters``, ``df`` (NaN: normal) and ``method``.

    Raises
    ------
    InputValidationError
        A period with treated rows and no comparison member; fewer clusters than
        ``min_clusters`` with ``small_clusters="refuse"``; no treated rows.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 6.4.1 (independent evaluation). Callaway and Sant'Anna (2021);
    Cameron and Miller (2015); Bloom, H. S. (1995), Minimum detectable effects, Evaluation
    Review 19, 547-556.
    """
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ParameterError(f"alpha and power must be in (0, 1), got alpha={alpha!r}, power={power!r}")
    if small_clusters not in ("refuse", "cr1_t"):
        raise ParameterError(f"small_clusters must be 'refuse' or 'cr1_t', got {small_clusters!r}")
    rows = _changes(periods[~periods["year"].isin(list(exclude_years))], baseline_year, outcomes, placebo)
    if not rows["treated"].any():
        raise InputValidationError("enrollment / attribution: no attributed member-month with a baseline-year "
                                   f"month in {baseline_year} (rule: the difference-in-differences needs treated "
                                   "members observed at baseline)" + (" for the placebo" if placebo else ""))
    _check_comparison(rows, outcomes)
    groups, n_clusters = _clusters(rows, cluster)
    df = None
    method = f"WLS, {cluster}-clustered CR1, normal intervals"
    if n_clusters < min_clusters:
        if small_clusters == "refuse":
            raise InputValidationError(
                f"cluster={cluster}: {n_clusters} clusters among the treated rows, fewer than min_clusters="
                f"{min_clusters} (rule: cluster-robust standard errors need at least that many clusters; set "
                f"small_clusters=cr1_t for the CR1 covariance with t({n_clusters - 1}) intervals)")
        df = n_clusters - 1
        method = f"WLS, {cluster}-clustered CR1 with t(G-1) intervals, G={n_clusters} (below {min_clusters})"
    years = np.sort(rows["year"].unique())
    k = len(years)
    year = np.searchsorted(years, rows["year"].to_numpy())
    treated = rows["treated"].to_numpy()
    t_rows = np.flatnonzero(treated)
    months = rows["months"].to_numpy(dtype=float)
    w_treated = np.bincount(year[t_rows], months[t_rows], minlength=k)
    share = w_treated / w_treated.sum()
    # stacked: [year effects | treated x year effects | treated rows' mean level], block-diagonal
    columns = np.full((len(rows) + len(t_rows), 2), NONE)
    columns[: len(rows), 0] = year
    columns[t_rows, 1] = k + year[t_rows]
    columns[len(rows):, 0] = 2 * k
    w = np.concatenate([months, months[t_rows]])
    g = np.concatenate([groups, groups[t_rows]])
    crit, zp = _critical(alpha, df), _power_quantile(power, df)
    out = []
    for o in outcomes:
        y = np.concatenate([rows[o].to_numpy(), rows[f"{o}_level"].to_numpy()[t_rows]])
        fit = dummy_wls(y, columns, w, g, 2 * k + 1)
        params, cov = fit.params, fit.cov
        grad = np.zeros(2 * k + 1)
        grad[k: 2 * k] = share
        effect = float(grad @ params)
        se = float(np.sqrt(grad @ cov @ grad))
        level = params[2 * k]
        cf = level - effect
        rel = effect / cf
        rgrad = grad * level / cf ** 2
        rgrad[2 * k] = -effect / cf ** 2
        rse = float(np.sqrt(rgrad @ cov @ rgrad))
        mde = (crit + zp) * se
        out.append({"outcome": o, "estimate": effect, "se": se, "low": effect - crit * se, "high": effect + crit * se,
                    "counterfactual": cf, "relative": rel, "relative_low": rel - crit * rse,
                    "relative_high": rel + crit * rse, "mde": mde, "mde_relative": mde / abs(cf),
                    "treated_member_months": int(months[t_rows].sum()),
                    "comparison_member_months": int(months[~treated].sum()),
                    "members": int(rows["member"].nunique()), "clusters": n_clusters,
                    "df": np.nan if df is None else float(df), "method": method})
    return pd.DataFrame(out, columns=ESTIMATE_COLUMNS)


def naive(periods: pd.DataFrame, baseline_year: int, *, outcomes: Sequence[str] = OUTCOMES,
          alpha: float = 0.05) -> pd.DataFrame:
    """The two naive estimates a difference-in-differences corrects, per outcome, as relative effects.

    * ``pre_post``: the ACO-attributed member-months after launch against every ACO-eligible
      member-month of the baseline year (what an observed-to-expected ratio against the
      baseline reads as an effect): biased by who joins ACOs and by any secular trend;
    * ``cross_section``: the attributed member-months against the never-attributed ones of the
      same years: biased by who joins ACOs.

    Intervals by the delta method, clustered by member (a member may be in both means).

    Returns ``outcome``, ``comparison``, ``treated_mean``, ``reference_mean``, ``relative``,
    ``low``, ``high``.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 6.4.1. Shown beside :func:`did` to show the bias it removes.
    """
    later = periods[periods["year"] > baseline_year]
    base = periods[(periods["year"] == baseline_year) & (periods["phase"] != AFTER)]
    refs = {"pre_post": base, "cross_section": later[later["phase"] == NEVER]}
    treated = later[later["phase"] == TREATED]
    crit = _critical(alpha, None)
    out = []
    for name, ref in refs.items():
        both = pd.concat([treated, ref], ignore_index=True)
        groups, _ = pd.factorize(both["member"])
        columns = np.repeat([[0], [1]], [len(treated), len(ref)], axis=0)
        w = both["months"].to_numpy(dtype=float)
        for o in outcomes:
            fit = dummy_wls((both[o] / both["months"]).to_numpy(), columns, w, groups, 2)
            params, cov = fit.params, fit.cov
            a, b = params
            rel = a / b - 1
            grad = np.array([1 / b, -a / b ** 2])
            se = float(np.sqrt(grad @ cov @ grad))
            out.append({"outcome": o, "comparison": name, "treated_mean": a, "reference_mean": b, "relative": rel,
                        "low": rel - crit * se, "high": rel + crit * se})
    return pd.DataFrame(out)
