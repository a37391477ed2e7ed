"""Alerting as code: the catalogue model, the rule generator and the linter."""
