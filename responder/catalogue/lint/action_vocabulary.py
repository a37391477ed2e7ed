"""The action annotation is one the responder knows."""

from collections.abc import Iterator

from responder.catalogue.lint_base import Context, RuleView, per_rule
from responder.vocabulary import ACTIONS


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    action = rule.annotations.get("action")
    if rule.kind == "alert" and action and action not in ACTIONS:
        yield f"action {action!r} is not one of {', '.join(ACTIONS)}"


CHECK = per_rule(
    "action-vocabulary",
    "An unknown action silently degrades to notify-only in the responder.",
    _check,
    needs_ast=False,
)
