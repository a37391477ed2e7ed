"""The words alerts and the responder share: actions and severities, defined once."""

ACTIONS = ("EMERGENCY_STOP", "FREEZE_DEPLOYMENTS", "INVESTIGATE")
MUTATING = frozenset({"EMERGENCY_STOP", "FREEZE_DEPLOYMENTS"})
# Remediations a resolve plans: they act after the resolve by design, and keep their retries.
ON_RESOLVE = frozenset({"UNFREEZE"})
SEVERITIES = ("critical", "warning", "info")
