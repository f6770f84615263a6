"""The evaluator's layer: impact estimates with their uncertainty, threats to them, and rating rules."""
