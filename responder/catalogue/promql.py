"""Small helpers over promql_parser's AST, shared by the lint checks.

The parser is the Rust PromQL parser behind GreptimeDB, exposed to Python; it accepts what
Prometheus accepts, so "parses here" is a fair stand-in for "Prometheus will load it".
"""

from collections.abc import Iterator
from typing import Any

import promql_parser

COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})
COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")

Node = Any


def parse(expr: str) -> Node:
    """The AST of `expr`; ValueError carries the parser's own message."""
    return promql_parser.parse(expr)


def children(node: Node) -> list[Node]:
    if isinstance(node, promql_parser.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, promql_parser.AggregateExpr):
        return [node.expr] + ([node.param] if node.param is not None else [])
    if isinstance(node, promql_parser.Call):
        return list(node.args)
    if isinstance(node, promql_parser.MatrixSelector):
        return [node.vector_selector]
    if isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr):
        return [node.expr]
    return []


def walk(node: Node) -> Iterator[Node]:
    """Every node, parents before children."""
    yield node
    for child in children(node):
        yield from walk(child)


def unwrap(node: Node) -> Node:
    """The expression inside any number of parentheses."""
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    return node


def calls(node: Node, *names: str) -> Iterator[Node]:
    for n in walk(node):
        if isinstance(n, promql_parser.Call) and n.func.name in names:
            yield n


def is_comparison(node: Node) -> bool:
    """A filtering comparison (`a > 1`), not a `bool` one, which keeps every series."""
    if not isinstance(node, promql_parser.BinaryExpr) or str(node.op) not in COMPARISONS:
        return False
    return not (node.modifier is not None and node.modifier.return_bool)


def metric_names(node: Node) -> Iterator[str]:
    """Names of the series selected under `node` (selectors without a plain name are skipped)."""
    for n in walk(node):
        if isinstance(n, promql_parser.VectorSelector) and n.name:
            yield n.name


def range_seconds(node: Node) -> float | None:
    """The range of a matrix selector or subquery, in seconds; None for other nodes."""
    if isinstance(node, promql_parser.MatrixSelector | promql_parser.SubqueryExpr) and node.range:
        return float(node.range.total_seconds())
    return None


def is_counter_name(name: str) -> bool:
    return name.endswith(COUNTER_SUFFIXES)


def keeps_label(aggregation: Node, label: str) -> bool:
    """Whether an aggregation's result still carries `label` (by (…, le) or without (… not le))."""
    modifier = aggregation.modifier
    if modifier is None:
        return False
    listed = label in modifier.labels
    if modifier.type == promql_parser.AggModifierType.By:
        return listed
    return not listed
