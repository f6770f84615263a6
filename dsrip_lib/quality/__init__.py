"""Quality scoring: measure points, domain scores, State domain tests, avoidable utilisation (Sec 5.2.1.3, 5.3.1, 5.4.4)."""
