"""Every range window covers at least four scrape intervals."""

from collections.abc import Iterator

from responder.catalogue import promql
from responder.catalogue.lint_base import Context, RuleView, per_rule

SCRAPES_PER_WINDOW = 4


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    minimum = SCRAPES_PER_WINDOW * rule.scrape_seconds
    for node in promql.walk(rule.ast):
        seconds = promql.range_seconds(node)
        if seconds is not None and seconds < minimum:
            yield (
                f"range window of {seconds:g}s is shorter than {SCRAPES_PER_WINDOW} scrapes "
                f"({minimum:g}s at a {rule.scrape_seconds:g}s scrape interval); widen it"
            )


CHECK = per_rule(
    "range-windows",
    "A window of fewer than four scrapes goes empty after one missed scrape and flaps the alert.",
    _check,
)
