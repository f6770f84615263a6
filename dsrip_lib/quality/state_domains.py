"""The State's quality domains: member-weighted aggregate and pooled scores, van Elteren domain tests.

For every quality domain except avoidable utilisation, the State's DSRIP domain score in a
Budget Period is 100% unless the period's aggregate domain score is statistically worse than
the pooled aggregate score of all previous Budget Periods (van Elteren's stratified Wilcoxon
test, alpha from the program), and 0% when it is. The protocol does not say what the test's
observations and strata are; :data:`READINGS` are the candidate readings and
docs/methodology/state_quality_domain.md says why ``"aco_strata"`` is the default.

References
----------
MassHealth DSRIP Protocol, Sec 5.2.1.3 ("Scoring for All Domains Except Avoidable
Utilization") and Appendix C, step 3(a), Exhibits A5 and A6.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dsrip_lib.errors import InputValidationError, ParameterError
from dsrip_lib.exact import exact as exact_value
from dsrip_lib.inputs.frame_checks import require_columns, require_in_range, require_positive, require_unique
from dsrip_lib.stats import van_elteren, van_elteren_many

CURRENT, PREVIOUS = "current", "previous"
DEFAULT_READING = "aco_strata"
# reading -> (what the observations are, what the strata are, alternative)
READINGS: dict[str, tuple[str, str, str]] = {
    "aco_strata": ("ACO x measure rates, oriented higher-is-better", "ACO", "two-sided"),
    "measure_strata": ("ACO rates of one measure, oriented higher-is-better", "measure", "two-sided"),
    "domain_score": ("ACO domain scores, one per ACO and period", "ACO", "two-sided"),
    "member_level": ("member-level measure values, oriented higher-is-better", "ACO x measure", "two-sided"),
    "one_sided": ("ACO x measure rates, oriented higher-is-better", "ACO", "less"),
}
SCORE_COLUMNS = ("entity_id", "budget_period", "domain", "score")
MEMBER_COLUMNS = ("entity_id", "budget_period", "members")
MEASURE_COLUMNS = ("entity_id", "budget_period", "measure_id", "domain", "rate", "higher_is_better", "eligible")
MEMBER_MEASURE_COLUMNS = ("entity_id", "budget_period", "measure_id", "member_id", "value")
# Where the exact lattice is too large, the "exact" column holds a seeded Monte Carlo
# permutation p-value instead (standard error <= 0.005), labelled in ``exact_method``.
N_RESAMPLES, PERMUTATION_SEED = 10_000, 0
# Above this many rows (member-level readings) neither is attempted: the exact lattice would be
# refused and resampling would cost more than every other test together.
MAX_EXACT_ROWS = 20_000


def _with_members(domain_scores: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """ACO domain scores joined to the ACO's members in the period, validated."""
    require_columns(domain_scores, "domain_scores", SCORE_COLUMNS)
    require_columns(members, "members", MEMBER_COLUMNS)
    require_unique(domain_scores, "domain_scores", ("entity_id", "budget_period", "domain"))
    require_unique(members, "members", ("entity_id", "budget_period"))
    require_in_range(domain_scores, "domain_scores", "score", 0.0, 1.0, SCORE_COLUMNS[:3])
    require_positive(members, "members", "members", MEMBER_COLUMNS[:2])
    joined = domain_scores.loc[:, list(SCORE_COLUMNS)].merge(
        members.loc[:, list(MEMBER_COLUMNS)], on=["entity_id", "budget_period"], how="left", indicator=True)
    missing = joined["_merge"] != "both"
    if missing.any():
        examples = joined.loc[missing, ["entity_id", "budget_period"]].drop_duplicates().head(5)
        raise InputValidationError(
            f"members: no members for {int(missing.sum())} domain score row(s) (rule \"every ACO with a domain "
            f"score has members in that budget period\"), e.g. {examples.to_dict('records')}")
    return joined.drop(columns="_merge")


def _member_weighted(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group: score weighted by members, the number of distinct ACOs and the members."""
    frame = frame.assign(weighted=frame["score"] * frame["members"])
    out = frame.groupby(by, sort=True).agg(
        weighted=("weighted", "sum"), members=("members", "sum"), acos=("entity_id", "nunique"))
    out["score"] = out["weighted"] / out["members"]
    return out.reset_index().loc[:, [*by, "score", "acos", "members"]]


def aggregate_domain_scores(domain_scores: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    """Member-weighted aggregate domain score per Budget Period and domain.

    Parameters
    ----------
    domain_scores : DataFrame
        ``entity_id, budget_period, domain, score``: ACO domain scores in [0, 1].
    members : DataFrame
        ``entity_id, budget_period, members``: ACO members in the period (> 0).

    Returns
    -------
    DataFrame
        ``budget_period, domain, score, acos, members``: score = sum(score x members) /
        sum(members) over the period's ACOs; not rounded.

    Raises
    ------
    InputValidationError
        A missing column, a duplicated key, a score outside [0, 1], members not > 0, or an
        ACO-period with a domain score but no members.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 (the three-ACO example: 57%) and Appendix C,
    step 3(a)1, Exhibit A5.
    """
    return _member_weighted(_with_members(domain_scores, members), ["budget_period", "domain"])


def pooled_domain_scores(domain_scores: pd.DataFrame, members: pd.DataFrame, bp: int) -> pd.DataFrame:
    """Pooled aggregate domain score over every Budget Period before ``bp``.

    Every ACO-period counts with its own members, so the pooled score equals the average of
    the periods' aggregate scores weighted by each period's total members (Exhibit A5).

    Returns
    -------
    DataFrame
        ``domain, score, acos, members, budget_periods``: ``acos`` counts distinct ACOs,
        ``members`` sums ACO-period members, ``budget_periods`` the periods pooled.

    Raises
    ------
    InputValidationError
        As :func:`aggregate_domain_scores`, or when no period before ``bp`` has scores.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 (the two-ACO example: 58%) and Appendix C,
    step 3(a)2, Exhibit A5.
    """
    joined = _with_members(domain_scores, members)
    previous = joined.loc[joined["budget_period"] < bp]
    if previous.empty:
        raise InputValidationError(f"domain_scores: no scores before budget period {bp} to pool")
    out = _member_weighted(previous, ["domain"])
    periods = previous.groupby("domain")["budget_period"].apply(lambda s: sorted(set(s)))
    return out.assign(budget_periods=out["domain"].map(periods))


def van_elteren_domains(program, bp: int) -> list[str]:
    """Quality domains scored by a van Elteren test in ``bp``: weighted in ``bp``, not the utilisation domain.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 and Exhibit 28.
    """
    weights = program.require("quality_domains").weights_in(bp)
    utilization = program.require("state_accountability").quality_utilization.utilization_domain
    return [domain for domain, weight in weights.items() if weight > 0 and domain != utilization]


def _oriented(frame: pd.DataFrame, value: str) -> pd.Series:
    """Values with lower-is-better measures negated: within a stratum, negation reverses the ranks."""
    return frame[value].where(frame["higher_is_better"].astype(bool), -frame[value])


def _eligible_measures(scored_measures: pd.DataFrame, bp: int, domains: list[str]) -> pd.DataFrame:
    require_columns(scored_measures, "scored_measures", MEASURE_COLUMNS)
    rows = scored_measures.loc[scored_measures["eligible"].astype(bool)
                               & (scored_measures["budget_period"] <= bp)
                               & scored_measures["domain"].isin(domains), list(MEASURE_COLUMNS)]
    require_unique(rows, "scored_measures", ("entity_id", "budget_period", "measure_id"))
    rate = pd.to_numeric(rows["rate"], errors="coerce")
    if not np.isfinite(rate).all():
        bad = rows.loc[~np.isfinite(rate), ["entity_id", "budget_period", "measure_id"]].head(5)
        raise InputValidationError(
            f"scored_measures, column rate: an eligible measure needs a finite rate; e.g. {bad.to_dict('records')}")
    return rows.assign(rate=rate)


def _long_table(reading: str, scored_measures: pd.DataFrame, bp: int, domains: list[str],
                domain_scores: pd.DataFrame | None, member_measures: pd.DataFrame | None) -> pd.DataFrame:
    """The reading's observations: ``domain, stratum, group, value`` rows for periods <= ``bp``."""
    if reading == "domain_score":
        if domain_scores is None:
            raise ParameterError("reading='domain_score' needs domain_scores (ACO domain scores per period)")
        require_columns(domain_scores, "domain_scores", SCORE_COLUMNS)
        rows = domain_scores.loc[(domain_scores["budget_period"] <= bp) & domain_scores["domain"].isin(domains)]
        require_in_range(rows, "domain_scores", "score", 0.0, 1.0, SCORE_COLUMNS[:3])
        long = pd.DataFrame({"domain": rows["domain"], "stratum": rows["entity_id"].astype(str),
                             "budget_period": rows["budget_period"], "value": rows["score"].astype(float)})
    else:
        if scored_measures is None:
            raise ParameterError(f"reading={reading!r} needs scored_measures")
        measures = _eligible_measures(scored_measures, bp, domains)
        if reading == "member_level":
            if member_measures is None:
                raise ParameterError("reading='member_level' needs member_measures (member-level measure rows)")
            require_columns(member_measures, "member_measures", MEMBER_MEASURE_COLUMNS)
            rows = member_measures.loc[:, list(MEMBER_MEASURE_COLUMNS)].merge(
                measures.drop(columns="rate"), on=["entity_id", "budget_period", "measure_id"], how="inner")
            stratum = rows["entity_id"].astype(str) + " | " + rows["measure_id"].astype(str)
            value = _oriented(rows.assign(value=pd.to_numeric(rows["value"], errors="coerce")), "value")
        else:
            rows = measures
            stratum = rows["measure_id" if reading == "measure_strata" else "entity_id"].astype(str)
            value = _oriented(rows, "rate")
        long = pd.DataFrame({"domain": rows["domain"], "stratum": stratum,
                             "budget_period": rows["budget_period"], "value": value.astype(float)})
    long["group"] = np.where(long["budget_period"] == bp, CURRENT, PREVIOUS)
    counts = long.groupby(["domain", "group"]).size().unstack(fill_value=0).reindex(
        index=domains, columns=[CURRENT, PREVIOUS], fill_value=0)
    empty = counts.index[(counts == 0).any(axis=1)].tolist()
    if empty:
        raise InputValidationError(
            f"{'domain_scores' if reading == 'domain_score' else 'scored_measures'}: domain(s) {empty} have no "
            f"scores in budget period {bp} or in no earlier period (rule \"a tested domain has current and "
            f"previous scores\"; reading {reading!r}); the protocol leaves a missing domain to CMS")
    return long


def _worse(p: float, z: float, alpha: float) -> bool:
    """Statistically worse: p <= alpha (exactly, as the numbers are written) and the current period lower."""
    return bool(np.isfinite(p) and z < 0 and exact_value(float(p)) <= exact_value(alpha))


def _exact_p(long: pd.DataFrame, alternative: str) -> tuple[float, str]:
    """One domain's exact conditional p-value and how it was computed.

    ``"exact"``; ``"permutation"`` (Monte Carlo) when the exact lattice is too large;
    ``"none"`` (NaN) above :data:`MAX_EXACT_ROWS` rows.
    """
    if len(long) > MAX_EXACT_ROWS:
        return np.nan, "none"
    args = ("value", "group", "stratum")
    try:
        return van_elteren(long, *args, first=CURRENT, alternative=alternative, method="exact").pvalue, "exact"
    except ParameterError:  # the exact lattice is too large
        result = van_elteren(long, *args, first=CURRENT, alternative=alternative, method="permutation",
                             n_resamples=N_RESAMPLES, random_state=PERMUTATION_SEED)
        return result.pvalue, "permutation"


@dataclass(frozen=True)
class DomainTests:
    """Van Elteren tests of one Budget Period against the pooled previous periods, one row per domain.

    Attributes
    ----------
    budget_period : int
        The current period.
    reading : str
        Which observations and strata (:data:`READINGS`).
    alpha : float
        ``state_accountability.quality_utilization.alpha``.
    rows : DataFrame
        See :meth:`table`.
    """

    budget_period: int
    reading: str
    alpha: float
    rows: pd.DataFrame = field(repr=False)

    def table(self) -> pd.DataFrame:
        """``domain, reading, n_current, n_previous, strata, z, p_asymptotic, p_exact, worse,
        decision_differs, score``, then ``testable``, ``alternative`` and ``exact_method``
        (``"exact"``, ``"permutation"`` where the exact lattice is too large, ``"none"``).

        ``worse`` and ``score`` follow the asymptotic p-value (as SAS PROC FREQ prints it);
        ``decision_differs`` is True where the exact p-value would decide otherwise.
        """
        return self.rows.copy()

    def scores(self) -> dict[str, float]:
        """DSRIP domain score per tested domain: 0.0 when statistically worse, else 1.0."""
        return dict(zip(self.rows["domain"], self.rows["score"]))

    def summary(self) -> str:
        observations, strata, alternative = READINGS[self.reading]
        lines = [f"State quality domain tests, BP {self.budget_period} vs pooled earlier periods "
                 f"(van Elteren, {alternative}, alpha {self.alpha:g}; observations: {observations}; "
                 f"strata: {strata})"]
        for row in self.rows.itertuples():
            verdict = "WORSE -> 0%" if row.worse else "not worse -> 100%"
            flag = "  [exact p decides otherwise]" if row.decision_differs else ""
            lines.append(f"  {row.domain:<22} z={row.z:+.3f} p={row.p_asymptotic:.4f} "
                         f"exact p={row.p_exact:.4f}  {verdict}{flag}")
        return "\n".join(lines)


def domain_tests(scored_measures: pd.DataFrame | None, bp: int, program, *, reading: str = DEFAULT_READING,
                 domain_scores: pd.DataFrame | None = None, member_measures: pd.DataFrame | None = None,
                 domains: list[str] | None = None, exact: bool = True) -> DomainTests:
    """Van Elteren test of Budget Period ``bp`` against all previous periods pooled, per quality domain.

    A domain is statistically worse, and its DSRIP domain score 0%, when the asymptotic p-value
    is at most alpha and z < 0 (the current period lower); otherwise it scores 100%. The exact
    conditional p-value is reported beside it and every domain where it would decide otherwise
    is flagged.

    Parameters
    ----------
    scored_measures : DataFrame or None
        ``entity_id, budget_period, measure_id, domain, rate, higher_is_better, eligible``;
        ineligible rows are ignored, lower-is-better rates are negated (rank reversal). Not
        read by the ``"domain_score"`` reading (may be None there).
    bp : int
        The current Budget Period; every earlier period in the data is pooled.
    program : Program
        Gives alpha, the domains tested in ``bp`` (Exhibit 28 weight > 0, not the utilisation
        domain).
    reading : str
        One of :data:`READINGS`; docs/methodology/state_quality_domain.md.
    domain_scores, member_measures : DataFrame, optional
        Needed by the ``"domain_score"`` and ``"member_level"`` readings.
    domains : list of str, optional
        The domains to test; default :func:`van_elteren_domains`.
    exact : bool
        Compute the exact conditional p-values (a seeded Monte Carlo permutation p-value where
        the exact lattice is too large; none for member-level tables above
        :data:`MAX_EXACT_ROWS` rows). False skips them (asymptotic only, fastest).

    Raises
    ------
    ParameterError
        An unknown reading, or the data that reading needs not given.
    InputValidationError
        Missing columns, duplicated keys, an eligible measure without a rate, or a tested
        domain with no scores in ``bp`` or before it.

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 and Appendix C, step 3(a), Exhibit A6.
    """
    if reading not in READINGS:
        raise ParameterError(f"reading={reading!r} is not one of {', '.join(map(repr, READINGS))}")
    alpha = program.require("state_accountability").quality_utilization.alpha
    domains = van_elteren_domains(program, bp) if domains is None else list(domains)
    alternative = READINGS[reading][2]
    long = _long_table(reading, scored_measures, bp, domains, domain_scores, member_measures)
    many = van_elteren_many(long, "value", "group", "stratum", "domain", first=CURRENT, alternative=alternative)
    counts = long.groupby(["domain", "group"]).size().unstack(fill_value=0)
    rows = []
    for domain in domains:
        z, p = float(many.at[domain, "zscore"]), float(many.at[domain, "pvalue"])
        p_exact, method = _exact_p(long.loc[long["domain"] == domain], alternative) if exact else (np.nan, "none")
        worse = _worse(p, z, alpha)
        differs = bool(np.isfinite(p_exact) and _worse(p_exact, z, alpha) != worse)
        rows.append({"domain": domain, "reading": reading, "n_current": int(counts.at[domain, CURRENT]),
                     "n_previous": int(counts.at[domain, PREVIOUS]),
                     "strata": int(many.at[domain, "n_strata_used"]), "z": z, "p_asymptotic": p,
                     "p_exact": p_exact, "worse": worse, "decision_differs": differs,
                     "score": 0.0 if worse else 1.0, "testable": bool(np.isfinite(p)),
                     "alternative": alternative, "exact_method": method})
    return DomainTests(bp, reading, alpha, pd.DataFrame(rows))


def sensitivity(scored_measures: pd.DataFrame, bp: int, program, *, domain_scores: pd.DataFrame | None = None,
                member_measures: pd.DataFrame | None = None, domains: list[str] | None = None,
                exact: bool = True) -> pd.DataFrame:
    """Every applicable reading's decision per domain, and whether it agrees with the default.

    ``"domain_score"`` runs when ``domain_scores`` is given, ``"member_level"`` when
    ``member_measures`` is given; the others always.

    Returns
    -------
    DataFrame
        The :meth:`DomainTests.table` rows of every reading (default first), with
        ``default`` (the row is the default reading's) and ``agrees_with_default`` (same
        ``worse`` decision as the default reading for that domain).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.2.1.3 and Appendix C, step 3(a), Exhibit A6.
    """
    given = {"domain_score": domain_scores is not None, "member_level": member_measures is not None}
    tables = [domain_tests(scored_measures, bp, program, reading=reading, domain_scores=domain_scores,
                           member_measures=member_measures, domains=domains, exact=exact).table()
              for reading in READINGS if given.get(reading, True)]
    out = pd.concat(tables, ignore_index=True)
    default = out.loc[out["reading"] == DEFAULT_READING].set_index("domain")["worse"]
    return out.assign(default=out["reading"] == DEFAULT_READING,
                      agrees_with_default=out["worse"] == out["domain"].map(default))
