"""The expression parses as PromQL."""

from collections.abc import Iterator

from responder.catalogue.lint_base import Context, RuleView, per_rule


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    if rule.parse_error is not None:
        yield f"expression does not parse ({rule.parse_error}); fix the PromQL in the source"


CHECK = per_rule(
    "expr-parses",
    "Prometheus refuses to load a whole rule file when one expression does not parse.",
    _check,
    needs_ast=False,
)
