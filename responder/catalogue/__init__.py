"""Alerting as code: the catalogue model and loader, the rule generator and the linter."""
