"""Accountability: ACO/APM adoption (State domain 1) and, to come, State, ACO and CP/CSA scores (protocol 5.2-5.4)."""
