"""Sec 4.4.1 worked example: a startup/ongoing PMPM with its model and safety-net adjustments.

MassHealth DSRIP Protocol, Sec 4.4.1, Exhibits 7 and 8, lines 531-532 of the published text:
a $10 base for a Primary Care ACO on risk track 2 in safety-net category 3 pays $16; its
members attributed to community health centers pay $18.
"""

from __future__ import annotations

from pytest import approx


def test_published_pmpms(program, example):
    aco = program.aco_payments
    for case in example("sec_4_4_1_pmpm_example").itertuples():
        safety_net = (aco.chc_safety_net_adjustment if case.safety_net == "chc"
                      else aco.safety_net_adjustment[int(case.safety_net)])
        pmpm = case.base_pmpm_usd * (1 + aco.model_adjustment(case.aco_model, case.risk_track) + safety_net)
        assert round(pmpm, 2) == approx(case.published_pmpm_usd), case.case
