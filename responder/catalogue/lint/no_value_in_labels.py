"""Alert labels never contain $value."""

from collections.abc import Iterator

from responder.catalogue.lint_base import Context, RuleView, per_rule

_VALUE_MARKERS = ("$value", ".Value")


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    for key, value in sorted(rule.labels.items()):
        if any(marker in value for marker in _VALUE_MARKERS):
            yield f"label {key} uses $value; move it to an annotation"


CHECK = per_rule(
    "no-value-in-labels",
    "Labels are the alert's identity: a changing $value makes a new alert at every evaluation.",
    _check,
    needs_ast=False,
)
