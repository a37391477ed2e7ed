"""Alerts carry the standard labels and annotations, non-empty."""

from collections.abc import Iterator

from responder.catalogue.lint_base import Context, RuleView, per_rule
from responder.vocabulary import SEVERITIES

REQUIRED_LABELS = ("severity", "team", "system")
REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url", "action")


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    if rule.kind != "alert":
        return
    for key in REQUIRED_LABELS:
        if not rule.labels.get(key, "").strip():
            yield f"label {key} is missing or empty; routing and the responder need it"
    for key in REQUIRED_ANNOTATIONS:
        if not rule.annotations.get(key, "").strip():
            yield f"annotation {key} is missing or empty; notifications and the responder need it"
    severity = rule.labels.get("severity")
    if severity and severity not in SEVERITIES:
        yield f"severity {severity!r} is not one of {', '.join(SEVERITIES)}"


CHECK = per_rule(
    "required-metadata",
    "Alertmanager routes on severity/team/system and the responder acts on the annotations.",
    _check,
    needs_ast=False,
)
