"""An alert expression filters with a comparison (or absent())."""

from collections.abc import Iterator

from responder.catalogue import promql
from responder.catalogue.lint_base import Context, RuleView, per_rule

_ABSENCE = ("absent", "absent_over_time")


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    if rule.kind != "alert":
        return
    nodes = list(promql.walk(rule.ast))
    if any(promql.is_comparison(n) for n in nodes) or any(promql.calls(rule.ast, *_ABSENCE)):
        return
    yield (
        "expression has no filtering comparison, so the alert fires whenever the series "
        "exists; compare it with a threshold (a `bool` comparison does not filter)"
    )


CHECK = per_rule(
    "alert-has-comparison",
    "Without a comparison an alert fires for every series that exists, i.e. all the time.",
    _check,
)
