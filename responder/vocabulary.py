"""The words alerts and the responder share: actions and severities, defined once."""

ACTIONS = ("EMERGENCY_STOP", "FREEZE_DEPLOYMENTS", "INVESTIGATE")
MUTATING = frozenset({"EMERGENCY_STOP", "FREEZE_DEPLOYMENTS"})
SEVERITIES = ("critical", "warning", "info")
