"""histogram_quantile over summed bucket rates in which `le` survives.

Judged by shape, not spelling: the measured side may be joined to an info metric
(`* on (cluster, instance) group_left (node) kubelet_node_name`) or deduplicated with
`topk by (…, le)`; what matters is that every aggregation on the way keeps `le`, that the
buckets were summed across instances, and that they were rated, not read raw.
"""

from collections.abc import Iterator

import promql_parser

from responder.catalogue import promql
from responder.catalogue.lint_base import Context, RuleView, per_rule

_RATES = ("rate", "irate", "increase")


def _measured(node: promql.Node) -> promql.Node:
    """The side that carries the buckets: through joins (group_left keeps the left), topk/bottomk
    and label_replace/label_join."""
    node = promql.unwrap(node)
    if isinstance(node, promql_parser.BinaryExpr) and not promql.is_scalar(node.lhs):
        card = str(node.modifier.card) if node.modifier is not None else ""
        return _measured(node.rhs if card.endswith("OneToMany") else node.lhs)
    if isinstance(node, promql_parser.BinaryExpr):
        return _measured(node.rhs)
    if isinstance(node, promql_parser.AggregateExpr) and str(node.op) in ("topk", "bottomk"):
        return _measured(node.expr)
    if isinstance(node, promql_parser.Call) and node.func.name in ("label_replace", "label_join"):
        return _measured(node.args[0])
    return node


def _problem(arg: promql.Node, ctx: Context) -> str | None:
    core = _measured(arg)
    if isinstance(core, promql_parser.VectorSelector) and core.name in ctx.recorded_names:
        return None
    if not isinstance(core, promql_parser.AggregateExpr) or str(core.op) != "sum":
        return "must be over sum(...) of bucket rates, so that instances add up"
    if not promql.may_carry(arg, "le"):
        return "aggregates `le` away; use sum by (le, ...) or a without () that keeps le"
    inner = _measured(core.expr)
    if not (isinstance(inner, promql_parser.Call) and inner.func.name in _RATES):
        return "must sum rate() of the buckets; raw bucket counters hold all of history"
    if not all(name.endswith("_bucket") for name in promql.metric_names(inner)):
        return "must take the rate of a _bucket series"
    return None


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    for call in promql.calls(rule.ast, "histogram_quantile"):
        problem = _problem(call.args[1], ctx)
        if problem:
            yield f"histogram_quantile {problem}"


CHECK = per_rule(
    "histogram-quantile-by-le",
    "A quantile of unsummed or unrated buckets is per pod or over all time, not the service now.",
    _check,
)
