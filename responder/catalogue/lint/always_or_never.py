"""An alert neither fires always nor can never match.

Three shapes do: an `or` branch with no condition (`(x > 1) or vector(0)` fires every evaluation),
a match `on (...)` or an aggregation `by (...)` over labels an inner aggregation already removed
(`sum(foo) / on (cluster) count(bar)` matches on a label neither side has), a side with labels
matched to a label-less aggregation (`foo{job="a"} unless sum(foo)`), and `absent()` of an
expression that can never be empty (`absent(sum(x) or vector(0))` never fires).
"""

from collections.abc import Iterator

import promql_parser

from responder.catalogue import promql
from responder.catalogue.lint_base import Context, RuleView, per_rule

_ABSENCE = ("absent", "absent_over_time")


def _filters(node: promql.Node) -> bool:
    return any(promql.is_comparison(n) for n in promql.walk(node)) or any(promql.calls(node, *_ABSENCE))


def _or_branches(node: promql.Node) -> Iterator[promql.Node]:
    """The alternatives of the top-level `or` chain (through parentheses and `and`'s left side)."""
    node = promql.unwrap(node)
    if isinstance(node, promql_parser.BinaryExpr) and str(node.op) == "or":
        yield from _or_branches(node.lhs)
        yield from _or_branches(node.rhs)
    else:
        yield node


def _never_empty(node: promql.Node) -> bool:
    node = promql.unwrap(node)
    if promql.is_scalar(node):
        return True
    if isinstance(node, promql_parser.Call) and node.func.name == "vector":
        return True
    if isinstance(node, promql_parser.BinaryExpr) and str(node.op) == "or":
        return _never_empty(node.lhs) or _never_empty(node.rhs)
    return False


def _shape(node: promql.Node) -> str:
    """ "none" when the series carry no labels at all (`sum(foo)`, `vector(1)`), "some" when they
    surely carry some (a selector, `sum by (job)`), "unknown" otherwise."""
    node = promql.unwrap(node)
    if isinstance(node, promql_parser.VectorSelector | promql_parser.MatrixSelector):
        return "some"
    if isinstance(node, promql_parser.AggregateExpr):
        if str(node.op) in ("topk", "bottomk", "limitk", "limit_ratio"):
            return _shape(node.expr)
        grouping = node.modifier
        if grouping is None or (str(grouping.type).endswith("By") and not grouping.labels):
            return "none"
        return "some" if str(grouping.type).endswith("By") else "unknown"
    if isinstance(node, promql_parser.BinaryExpr):
        if promql.is_scalar(node.lhs) or promql.is_scalar(node.rhs):
            return _shape(node.rhs if promql.is_scalar(node.lhs) else node.lhs)
        return _shape(node.lhs) if node.modifier is None else "unknown"
    if isinstance(node, promql_parser.Call):
        if node.func.name == "vector":
            return "none"
        vectors = [a for a in node.args if not promql.is_scalar(a) and not isinstance(a, promql_parser.StringLiteral)]
        return _shape(vectors[0]) if vectors and node.func.name not in ("label_replace", "label_join") else "unknown"
    return "unknown"


def _unmatched_sides(node: promql.Node) -> Iterator[str]:
    """`foo{job="a"} unless sum(foo)`: a labelled side matched, on all labels, to one without any."""
    for n in promql.walk(node):
        if not isinstance(n, promql_parser.BinaryExpr) or (n.modifier is not None and n.modifier.matching is not None):
            continue
        if promql.is_scalar(n.lhs) or promql.is_scalar(n.rhs):
            continue
        if {_shape(n.lhs), _shape(n.rhs)} == {"none", "some"} and str(n.op) != "or":
            yield f"`{n.op}` matches a side with labels to an aggregation without any, so it never matches"


def _lost_labels(node: promql.Node) -> Iterator[str]:
    """Labels that a match or an aggregation names although its input cannot carry them."""
    for n in promql.walk(node):
        if isinstance(n, promql_parser.BinaryExpr) and n.modifier is not None and n.modifier.matching is not None:
            matching = n.modifier.matching
            if str(matching.type).endswith("Include"):
                for label in matching.labels:
                    if not (promql.may_carry(n.lhs, label) or promql.may_carry(n.rhs, label)):
                        yield f"on ({label}) matches on a label neither side carries"
        grouping = n.modifier if isinstance(n, promql_parser.AggregateExpr) else None
        if grouping is not None and str(grouping.type).endswith("By"):
            for label in grouping.labels:
                if not promql.may_carry(n.expr, label):
                    yield f"{n.op} by ({label}) groups by a label its input no longer carries"


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    if rule.kind == "alert":
        branches = list(_or_branches(rule.ast))
        if len(branches) > 1:
            for branch in branches:
                if not _filters(branch):
                    yield (
                        f"the `or` branch {branch.prettify()!r} has no condition, so the alert fires "
                        "whenever it returns anything; compare it with a threshold"
                    )
    for call in promql.calls(rule.ast, *_ABSENCE):
        if call.args and _never_empty(call.args[0]):
            yield f"{call.func.name}() of an expression that is never empty never fires; drop the or vector(...)"
    for problem in dict.fromkeys(_lost_labels(rule.ast)):
        yield f"{problem}: an inner aggregation removed it; keep it in the inner by (...)"
    for problem in dict.fromkeys(_unmatched_sides(rule.ast)):
        yield f"{problem}; aggregate both sides by the same labels, or match with on (...)"


CHECK = per_rule(
    "always-or-never",
    "An alert that always fires is ignored, and one that can never match is no alert at all.",
    _check,
)
