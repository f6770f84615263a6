"""Accountability: ACO/APM adoption (State domain 1), ACO and CP/CSA scores, earned at-risk funds, outcomes pools.

MassHealth DSRIP Protocol, Sec 5.2-5.4.
"""
