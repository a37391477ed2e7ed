"""No unguarded division inside sum, avg, stddev or stdvar.

One idle pod makes `0/0`, the sum of anything with NaN is NaN, and `NaN > 0.05` is false: the
alert goes silent for the whole service while one replica sees no traffic. A divisor filtered
to positive values (`rate(b[5m]) > 0`), `clamp_min(…, ε)` or a non-zero number cannot make NaN.
"""

from collections.abc import Iterator

import promql_parser

from responder.catalogue import promql
from responder.catalogue.lint_base import Context, RuleView, per_rule

_SUMMING = frozenset({"sum", "avg", "stddev", "stdvar"})


def _number(node: promql.Node) -> float | None:
    node = promql.unwrap(node)
    return float(node.val) if isinstance(node, promql_parser.NumberLiteral) else None


def _clamped_away_from_zero(call: promql.Node) -> bool:
    """clamp_min(x, >0), clamp_max(x, <0) or clamp(x, lo, hi) with a range that excludes zero."""
    given = [_number(a) for a in call.args[1:]]
    bounds = [b for b in given if b is not None]
    if len(bounds) != len(given) or not bounds:
        return False
    name = call.func.name
    if name == "clamp_min":
        return bounds[0] > 0
    if name == "clamp_max":
        return bounds[0] < 0
    return name == "clamp" and (bounds[0] > 0 or bounds[1] < 0)


def _guarded(divisor: promql.Node) -> bool:
    divisor = promql.unwrap(divisor)
    value = _number(divisor)
    if value is not None:
        return value != 0
    if isinstance(divisor, promql_parser.Call) and divisor.func.name in ("clamp_min", "clamp_max", "clamp"):
        return _clamped_away_from_zero(divisor)
    if promql.is_comparison(divisor):
        bound, op = _number(divisor.rhs), str(divisor.op)
        return bound is not None and (
            (op == ">" and bound >= 0) or (op == "<" and bound <= 0) or (op == "!=" and bound == 0)
        )
    return (
        isinstance(divisor, promql_parser.BinaryExpr)
        and str(divisor.op) in ("and", "unless")
        and (_guarded(divisor.lhs))
    )


def _divisions(node: promql.Node) -> Iterator[promql.Node]:
    for n in promql.walk(node):
        if isinstance(n, promql_parser.BinaryExpr) and str(n.op) in ("/", "%") and not _guarded(n.rhs):
            yield n


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    for aggregation in promql.walk(rule.ast):
        if isinstance(aggregation, promql_parser.AggregateExpr) and str(aggregation.op) in _SUMMING:
            for division in _divisions(aggregation.expr):
                yield (
                    f"{aggregation.op}() over {division.prettify()!r}: one series with a zero divisor "
                    f"makes the whole {aggregation.op} NaN and the alert silent; divide after the "
                    "aggregation, or filter the divisor with > 0"
                )


CHECK = per_rule(
    "nan-in-aggregation",
    "One 0/0 inside a sum makes the sum NaN, and NaN compares false: the alert goes silent.",
    _check,
)
