"""ACO quality domain 7, member experience: survey composites scored like domains 1-5.

Each composite is a measure of the ACO slate with id ``<survey>.<composite>`` (e.g.
``primary_care.communication``), scored against its attainment threshold and excellence
benchmark like a clinical measure. Survey scores and their thresholds and benchmarks are on the
contract's 0-100 scale (``measure_benchmarks`` in the program); scoring divides both by 100, so
the output's ``rate``, ``attainment_threshold`` and ``excellence_benchmark`` are fractions like
every other measure's.

Improvement: the protocol names no test for survey scores, and the contract carries a
composite's score and respondents, not its standard deviation. The score is read as a
proportion of respondents (``score / 100 x respondents`` of ``respondents``) and tested with
the same Pearson chi-square as a clinical proportion. For a top-box composite this is the
exact model; for a mean of item scores on a bounded scale the test is conservative, since a
variable in [0, 1] with mean p has variance at most p (1 - p) (Bhatia-Davis). The minimum
denominator applies to respondents.

References
----------
MassHealth DSRIP Protocol, Sec 5.3.1.3 (Calculating the Domain Score for Quality Domain 7:
"similar to the approach used for clinical quality measures ... benchmarks ... and/or
improved performance"), Exhibit 38, Appendix D.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dsrip_lib.inputs.frame_checks import require_columns, require_in_range
from dsrip_lib.program import Program
from dsrip_lib.quality.measure_scores import score_measures

SURVEY_KEY = ["entity_id", "budget_period", "survey", "composite"]
SCORE_SCALE = 100.0  # the contract's survey scores are 0-100 (docs/data_contract.md)


def score_experience(survey_scores: pd.DataFrame, program: Program, benchmarks: pd.DataFrame) -> pd.DataFrame:
    """Score every ACO x budget period x survey composite of the slate (quality domain 7).

    Parameters
    ----------
    survey_scores : DataFrame
        The contract's ``survey_scores`` rows of ACOs: ``entity_id, budget_period, survey,
        composite, score`` (0-100), ``respondents``.
    program : Program
    benchmarks : DataFrame
        As for :func:`~dsrip_lib.quality.measure_scores.score_aco_measures`; the composites'
        thresholds and benchmarks on the 0-100 scale of the scores.

    Returns
    -------
    DataFrame
        :data:`~dsrip_lib.quality.measure_scores.SCORED_COLUMNS`, ``measure_id`` =
        ``<survey>.<composite>``, ``rate`` = score / 100, ``numerator`` = rate x respondents,
        ``denominator`` = respondents (empty when there are none: the composite is then
        ineligible).

    References
    ----------
    MassHealth DSRIP Protocol, Sec 5.3.1.3 (Domain 7), Sec 5.3.1.2 (the points it follows).
    """
    require_columns(survey_scores, "survey_scores", [*SURVEY_KEY, "score", "respondents"])
    require_in_range(survey_scores, "survey_scores", "score", 0, SCORE_SCALE, SURVEY_KEY)
    rate = survey_scores["score"].astype(float) / SCORE_SCALE
    respondents = survey_scores["respondents"].astype(float)
    answered = respondents > 0
    results = pd.DataFrame({
        "entity_id": survey_scores["entity_id"],
        "budget_period": survey_scores["budget_period"],
        "measure_id": survey_scores["survey"].astype(str) + "." + survey_scores["composite"].astype(str),
        "numerator": np.where(answered, rate * respondents, np.nan),
        "denominator": np.where(answered, respondents, np.nan),
        "rate": rate,
        "eligible_members": respondents,
    })
    slate = {m.id: m for m in program.require("measures").slate("aco") if m.kind == "survey"}
    cells = ["attainment_threshold", "excellence_benchmark"]
    benchmarks = benchmarks.copy()
    composites = benchmarks["measure_id"].isin(list(slate))
    benchmarks.loc[composites, cells] = benchmarks.loc[composites, cells].astype(float) / SCORE_SCALE
    return score_measures(results, program, benchmarks, slate, table="survey_scores")
