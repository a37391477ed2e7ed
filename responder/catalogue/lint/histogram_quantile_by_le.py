"""histogram_quantile over a sum of _bucket rates that keeps `le`."""

from collections.abc import Iterator

import promql_parser

from responder.catalogue import promql
from responder.catalogue.lint_base import Context, RuleView, per_rule

_RATES = ("rate", "irate", "increase")


def _problem(arg: promql.Node, ctx: Context) -> str | None:
    arg = promql.unwrap(arg)
    if isinstance(arg, promql_parser.VectorSelector) and arg.name in ctx.recorded_names:
        return None
    if not isinstance(arg, promql_parser.AggregateExpr) or str(arg.op) != "sum":
        return "must be over sum(...) of bucket rates, so that instances add up"
    if not promql.keeps_label(arg, "le"):
        return "aggregates `le` away; use sum by (le, ...) or a without () that keeps le"
    inner = promql.unwrap(arg.expr)
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
