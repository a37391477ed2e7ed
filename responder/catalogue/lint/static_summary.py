"""The summary annotation is static text (a quoted literal inside {{ }} still counts as static)."""

from collections.abc import Iterator

from responder.catalogue import templates
from responder.catalogue.lint_base import Context, RuleView, per_rule


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    if templates.read(rule.annotations.get("summary", "")).dynamic:
        yield "summary is templated; keep it static and put values in the description"


CHECK = per_rule(
    "static-summary",
    "The summary is a notification's headline and groups repeats; a changing one splits them.",
    _check,
    needs_ast=False,
)
