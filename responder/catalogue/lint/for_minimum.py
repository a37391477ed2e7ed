"""`for` is at least the catalogue's minimum for the alert's severity."""

from collections.abc import Iterator

from responder.catalogue.lint_base import Context, RuleView, per_rule
from responder.durations import parse_duration


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    minimum = ctx.for_minimum_seconds.get(rule.labels.get("severity", ""))
    if rule.kind != "alert" or minimum is None:
        return
    actual = parse_duration(rule.for_) if rule.for_ else 0.0
    if actual < minimum:
        yield (
            f"for {rule.for_ or '0s'} is shorter than the {minimum:g}s minimum for "
            f"{rule.labels['severity']} alerts (rules/catalogue.yaml for_minimum)"
        )


CHECK = per_rule(
    "for-minimum",
    "An alert with no dwell time pages on a single bad scrape.",
    _check,
    needs_ast=False,
)
