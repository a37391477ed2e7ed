"""Small helpers over promql_parser's AST, shared by the lint checks.

The parser is the Rust PromQL parser behind GreptimeDB, exposed to Python; it accepts what
Prometheus accepts, so "parses here" is a fair stand-in for "Prometheus will load it".
"""

from collections.abc import Iterator
from typing import Any

import promql_parser

COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})

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


def keeps_label(aggregation: Node, label: str) -> bool:
    """Whether an aggregation's result still carries `label` (by (…, le) or without (… not le))."""
    modifier = aggregation.modifier
    if modifier is None:
        return False
    listed = label in modifier.labels
    if modifier.type == promql_parser.AggModifierType.By:
        return listed
    return not listed


_LABEL_FILTERS = frozenset({"topk", "bottomk", "limitk", "limit_ratio"})  # pick series, keep their labels
_SCALAR_FUNCTIONS = frozenset({"time", "scalar", "pi", "vector"})
_LABEL_SETTERS = frozenset({"label_replace", "label_join"})


def is_scalar(node: Node) -> bool:
    """A number, time(), scalar(…), or arithmetic over those: a value with no labels."""
    node = unwrap(node)
    if isinstance(node, promql_parser.NumberLiteral):
        return True
    if isinstance(node, promql_parser.Call):
        return node.func.name in _SCALAR_FUNCTIONS
    if isinstance(node, promql_parser.UnaryExpr):
        return is_scalar(node.expr)
    if isinstance(node, promql_parser.BinaryExpr):
        return is_scalar(node.lhs) and is_scalar(node.rhs)
    return False


def _binary_may_carry(node: Node, label: str) -> bool:
    lhs, rhs = node.lhs, node.rhs
    if is_scalar(lhs) or is_scalar(rhs):
        return may_carry(rhs if is_scalar(lhs) else lhs, label)
    op = str(node.op)
    if op == "or":
        return may_carry(lhs, label) or may_carry(rhs, label)
    modifier = node.modifier
    card = str(modifier.card) if modifier is not None else ""
    matching = modifier.matching if modifier is not None else None
    if card.endswith("OneToMany"):  # group_right: the right side's labels, plus the listed left ones
        return may_carry(rhs, label) or (label in (modifier.group_labels or ()) and may_carry(lhs, label))
    if card.endswith("ManyToOne"):  # group_left
        return may_carry(lhs, label) or (label in (modifier.group_labels or ()) and may_carry(rhs, label))
    if op in ("and", "unless") or is_comparison(node) or matching is None:
        return may_carry(lhs, label)
    listed = label in matching.labels
    on = str(matching.type).endswith("Include")
    return (listed if on else not listed) and may_carry(lhs, label)


def may_carry(node: Node, label: str) -> bool:
    """Whether series that `node` returns may carry `label`: selectors may carry any label, and
    each aggregation, function and vector match keeps, drops or adds labels as Prometheus does."""
    node = unwrap(node)
    if isinstance(node, promql_parser.VectorSelector | promql_parser.MatrixSelector):
        return True
    if isinstance(node, promql_parser.AggregateExpr):
        if str(node.op) in _LABEL_FILTERS:
            return may_carry(node.expr, label)
        return keeps_label(node, label) and may_carry(node.expr, label)
    if isinstance(node, promql_parser.BinaryExpr):
        return _binary_may_carry(node, label)
    if isinstance(node, promql_parser.Call):
        name = node.func.name
        if name in _LABEL_SETTERS and len(node.args) > 1 and unwrap(node.args[1]).val == label:
            return True
        if name in _SCALAR_FUNCTIONS or (name == "histogram_quantile" and label == "le"):
            return False
        vectors = [a for a in node.args if not isinstance(unwrap(a), promql_parser.StringLiteral) and not is_scalar(a)]
        return bool(vectors) and may_carry(vectors[0], label)
    if isinstance(node, promql_parser.UnaryExpr | promql_parser.SubqueryExpr):
        return may_carry(node.expr, label)
    return False
