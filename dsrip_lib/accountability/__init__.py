"""Accountability: ACO/APM adoption (State domain 1); to come, the State, ACO and CP/CSA scores.

MassHealth DSRIP Protocol, Sec 5.2-5.4.
"""
