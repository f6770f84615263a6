"""Independent references for the stats tests: published data sets, a per-stratum loop over
scipy's ranks, and brute-force enumeration of every within-stratum labelling."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from hypothesis import assume
from hypothesis import strategies as st
from scipy.stats import rankdata

# Lehmann (1975), Nonparametrics, pp. 132-141: van Elteren's example (4 blocks, 2 treatments).
# SAS's page on van Elteren's test (ftp.sas.com/techsup/download/stat/vanelter.html), as quoted
# in the example file lehmann.do of the Stata package -vanelteren- (J. R. Coveney, SSC 2004),
# reports for PROC FREQ CMH SCORES=MODRIDIT: chi-square 2.744, 1 df, P = 0.09765.
LEHMANN = pd.DataFrame(
    {
        "block": [1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4],
        "treatment": [1, 2, 1, 2, 2, 1, 1, 2, 1, 1, 1, 2, 2, 2],
        "consumption": [236, 255, 183, 179, 193, 115, 128, 132, 61, 70, 79, 67, 84, 88],
    }
)
LEHMANN_SAS_CHISQ = 2.744  # printed to 3 decimals
LEHMANN_SAS_P = 0.09765  # printed to 5 decimals

# SAS Usage Note 25022, "Van Elteren test for nonparametric two-way analysis"
# (support.sas.com/kb/25022.html), data from Dmitrienko et al. (2005), Analysis of Clinical
# Trials Using SAS: percent change in weekly incontinence episodes, two therapies, three strata.
# Rows as in the note: therapy, stratum, then up to ten values ("." = none). Every line agrees
# with the datalines of Program 1.9 (p. 16) in the SAS program listing distributed with the book.
# The tests below compare with an independent computation, not with SAS's printed output.
_URININC = """
Placebo 1 -86 -38 43 -100 289 0 -78 38 -80 -25
Placebo 1 -100 -100 -50 25 -100 -100 -67 0 400 -100
Placebo 1 -63 -70 -83 -67 -33 0 -13 -100 0 -3
Placebo 1 -62 -29 -50 -100 0 -100 -60 -40 -44 -14
Placebo 2 -36 -77 -6 -85 29 -17 -53 18 -62 -93
Placebo 2 64 -29 100 31 -6 -100 -30 11 -52 -55
Placebo 2 -100 -82 -85 -36 -75 -8 -75 -42 122 -30
Placebo 2 22 -82 . . . . . . . .
Placebo 3 12 -68 -100 95 -43 -17 -87 -66 -8 64
Placebo 3 61 -41 -73 -42 -32 12 -69 81 0 87
Drug 1 50 -100 -80 -57 -44 340 -100 -100 -25 -74
Drug 1 0 43 -100 -100 -100 -100 -63 -100 -100 -100
Drug 1 -100 -100 0 -100 -50 0 0 -83 369 -50
Drug 1 -33 -50 -33 -67 25 390 -50 0 -100 .
Drug 2 -93 -55 -73 -25 31 8 -92 -91 -89 -67
Drug 2 -25 -61 -47 -75 -94 -100 -69 -92 -100 -35
Drug 2 -100 -82 -31 -29 -100 -14 -55 31 -40 -100
Drug 2 -82 131 -60 . . . . . . .
Drug 3 -17 -13 -55 -85 -68 -87 -42 36 -44 -98
Drug 3 -75 -35 7 -57 -92 -78 -69 -21 -14 .
"""


def urininc() -> pd.DataFrame:
    """The urinary-incontinence trial of SAS Usage Note 25022 as a long table."""
    records = []
    for line in _URININC.strip().splitlines():
        therapy, stratum, *values = line.split()
        records += [(therapy, int(stratum), float(v)) for v in values if v != "."]
    return pd.DataFrame(records, columns=["therapy", "stratum", "change"])


def _stratum_terms(x: np.ndarray, is_first: np.ndarray, ridit: bool = True) -> tuple[np.ndarray, float, float] | None:
    """Modified ridit (or rank) scores, E and V of one stratum, or None when it carries no information."""
    n, n1 = len(x), int(is_first.sum())
    if n1 in (0, n) or np.unique(x).size == 1:
        return None
    a = rankdata(x) / (n + 1) if ridit else rankdata(x)
    return a, n1 * a.mean(), n1 * (n - n1) / (n * (n - 1)) * ((a - a.mean()) ** 2).sum()


def van_elteren_by_hand(df: pd.DataFrame, value: str, group: str, stratum: str, first) -> tuple[float, float]:
    """T and Var summed over strata, one scipy.stats.rankdata call per stratum."""
    t = var = 0.0
    for _, part in df.groupby(stratum):
        x, is_first = part[value].to_numpy(float), (part[group] == first).to_numpy()
        terms = _stratum_terms(x, is_first)
        if terms is not None:
            a, expected, v = terms
            t += a[is_first].sum() - expected
            var += v
    return t, var


def enumerate_null(
    df: pd.DataFrame, value: str, group: str, stratum: str, first, ridit: bool = True
) -> tuple[np.ndarray, float]:
    """Every equally likely value of T under within-stratum relabelling, and the observed T."""
    support, observed = np.zeros(1), 0.0
    for _, part in df.groupby(stratum):
        x, is_first = part[value].to_numpy(float), (part[group] == first).to_numpy()
        terms = _stratum_terms(x, is_first, ridit)
        if terms is None:
            continue
        a, expected, _ = terms
        sums = [a[list(c)].sum() for c in itertools.combinations(range(len(a)), int(is_first.sum()))]
        support = np.add.outer(support, np.array(sums) - expected).ravel()
        observed += a[is_first].sum() - expected
    return support, observed


@st.composite
def tables(draw, max_strata=4, max_per_group=7, binary=False):
    """Long tables with groups "A"/"B", strata "s0".., heavy ties, some one-group strata."""
    values = st.integers(0, 1) if binary else st.one_of(st.integers(0, 5), st.floats(-50, 50, allow_nan=False))
    rows = []
    for h in range(draw(st.integers(1, max_strata))):
        n_a, n_b = draw(st.integers(0, max_per_group)), draw(st.integers(0, max_per_group))
        for i in range(n_a + n_b):
            rows.append(("A" if i < n_a else "B", f"s{h}", float(draw(values))))
    df = pd.DataFrame(rows, columns=["g", "s", "y"])
    assume(len(df) > 0 and df["g"].nunique() == 2)
    return df
