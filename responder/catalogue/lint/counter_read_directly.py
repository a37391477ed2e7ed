"""A counter is read through rate(), increase() or another function that tolerates resets.

`errors_total > 10` compares the count since the process started: it fires after the eleventh
error of the pod's life and clears only on a restart. The same holds inside `max_over_time`.
"""

from collections.abc import Iterator

import promql_parser

from responder.catalogue import promql
from responder.catalogue.lint_base import Context, RuleView, per_rule
from responder.catalogue.metric_types import MetricType

# Functions and aggregations whose result does not depend on the counter's absolute value.
_SAFE_CALLS = frozenset(
    {"rate", "irate", "increase", "resets", "changes", "absent", "absent_over_time", "timestamp",
     "count_over_time", "present_over_time", "histogram_quantile"}
)  # fmt: skip
_SAFE_AGGREGATIONS = frozenset({"count", "group"})


def _raw_counters(node: promql.Node, ctx: Context) -> Iterator[str]:
    if isinstance(node, promql_parser.Call) and node.func.name in _SAFE_CALLS:
        return
    if isinstance(node, promql_parser.AggregateExpr) and str(node.op) in _SAFE_AGGREGATIONS:
        return
    if isinstance(node, promql_parser.VectorSelector) and node.name and ctx.type_of(node.name) == MetricType.COUNTER:
        yield node.name
        return
    for child in promql.children(node):
        yield from _raw_counters(child, ctx)


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    for name in dict.fromkeys(_raw_counters(rule.ast, ctx)):
        yield (
            f"the counter {name} is read directly: its value counts since the process started and "
            "drops to zero on restart; use rate() or increase() over a window"
        )


CHECK = per_rule(
    "counter-read-directly",
    "A raw counter compares the total since boot: it fires late, then never clears until a restart.",
    _check,
)
