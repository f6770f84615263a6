"""Spending: PMPM, trend chain, ACO benchmarks, settlement, gap-to-goal scoring (Sec 5.2.1.2, 5.3.2)."""
