"""Payments: funding streams, installments, withholds (Sec 4, 5.1).

MassHealth DSRIP Protocol, Sec 4.4 and Sec 5.1.2.
"""
