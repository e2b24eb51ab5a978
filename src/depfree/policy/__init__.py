"""Judgement for CI: rules with stable IDs, a policy file (or preset), suppressions and a baseline."""
