"""Every recorded series an expression reads is recorded by the catalogue, and is not re-rated.

A name in the `level:metric:operations` form that no recording rule writes is always empty: the
alert reading it never fires. `rate()` over a recorded `sum(counter)` breaks at every counter
reset of any summed series (the sum drops, rate() reads it as a reset of the whole sum); record
`sum(rate(...))` instead.
"""

from collections.abc import Iterator

import promql_parser

from responder.catalogue import promql
from responder.catalogue.lint_base import Context, RuleView, per_rule
from responder.catalogue.metric_types import MetricType

_RATES = ("rate", "irate", "increase")


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    for name in dict.fromkeys(promql.metric_names(rule.ast)):
        if ":" in name and name not in ctx.recorded_names:
            yield (
                f"{name} looks like a recorded series but no recording rule in the catalogue writes it, "
                "so this rule never sees data; add the recording rule or fix the name"
            )
    for call in promql.calls(rule.ast, *_RATES):
        for name in promql.metric_names(call):
            expr = ctx.recorded_exprs.get(name)
            if expr is not None and _sums_raw_counters(expr, ctx):
                yield (
                    f"{call.func.name}() over {name}, which records a sum of raw counters: a reset of "
                    "any one series looks like a reset of the sum; record sum(rate(...)) instead"
                )


def _sums_raw_counters(expr: str, ctx: Context) -> bool:
    node = promql.unwrap(promql.parse(expr))
    if not isinstance(node, promql_parser.AggregateExpr) or str(node.op) != "sum":
        return False
    names = list(promql.metric_names(node))
    rated = any(promql.calls(node, *_RATES))
    return bool(names) and not rated and all(ctx.type_of(n) == MetricType.COUNTER for n in names)


CHECK = per_rule(
    "rule-dependencies",
    "An alert on a series no rule records never fires; rate() of a recorded sum of counters breaks at resets.",
    _check,
)
