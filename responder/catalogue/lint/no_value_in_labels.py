"""Alert labels never read $value."""

from collections.abc import Iterator

from responder.catalogue import templates
from responder.catalogue.lint_base import Context, RuleView, per_rule


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    for key, value in sorted(rule.labels.items()):
        if templates.read(value).uses_value:
            yield f"label {key} uses $value; move it to an annotation"


CHECK = per_rule(
    "no-value-in-labels",
    "Labels are the alert's identity: a changing $value makes a new alert at every evaluation.",
    _check,
    needs_ast=False,
)
