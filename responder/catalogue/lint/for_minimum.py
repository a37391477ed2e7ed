"""`for` is at least the catalogue's minimum for the alert's severity, unless it cannot flap.

Some expressions hold their state by construction, so a dwell time only delays the page:
elapsed times and countdowns (`time() - start > 43200`, `…_ttl_seconds < 604800`) move one way
between scrapes; a rate over a window at least the minimum already averages a blip away;
lasting-state gauges (`node_md_disks{state="failed"}`) change only when the state does. Anything
else may be exempted per alert in the source (`for_exemption`, a reviewed reason).
"""

from collections.abc import Iterator

import promql_parser

from responder.catalogue import promql
from responder.catalogue.lint_base import Context, RuleView, per_rule
from responder.catalogue.metric_types import LASTING_STATE
from responder.durations import parse_duration

_COUNTDOWN_SUFFIXES = ("_ttl_seconds", "_expiry_seconds", "_expiration_seconds")


def _elapsed_or_countdown(comparison: promql.Node) -> bool:
    """`time() - x` / `x - time()` on either side, or a TTL gauge compared from below."""
    for n in promql.walk(comparison):
        if isinstance(n, promql_parser.BinaryExpr) and str(n.op) == "-":
            sides = (promql.unwrap(n.lhs), promql.unwrap(n.rhs))
            if any(isinstance(s, promql_parser.Call) and s.func.name == "time" for s in sides):
                return True
    names = list(promql.metric_names(comparison))
    return str(comparison.op) in ("<", "<=") and bool(names) and all(n.endswith(_COUNTDOWN_SUFFIXES) for n in names)


def _unwindowed(node: promql.Node, minimum: float) -> Iterator[promql.Node]:
    """Selectors under `node` that no range of at least `minimum` seconds encloses, leaving out the
    info metric a `group_left`/`group_right` join reads only for its labels."""
    if isinstance(node, promql_parser.VectorSelector):
        yield node
        return
    seconds = promql.range_seconds(node)
    if seconds is not None and seconds >= minimum:
        return
    children = promql.children(node)
    if isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None:
        card = str(node.modifier.card)  # a join's info side only adds labels; it does not decide firing
        children = [node.lhs] if card.endswith("ManyToOne") else [node.rhs] if card.endswith("OneToMany") else children
    for child in children:
        yield from _unwindowed(child, minimum)


def _windowed(ast: promql.Node, minimum: float) -> bool:
    """Every series is read through a range of at least `minimum` seconds."""
    return any(promql.metric_names(ast)) and not any(_unwindowed(ast, minimum))


def _lasting_state(ast: promql.Node) -> bool:
    names = list(promql.metric_names(ast))
    return bool(names) and all(n in LASTING_STATE for n in names)


def cannot_flap(ast: promql.Node, minimum: float) -> bool:
    comparisons = [n for n in promql.walk(ast) if promql.is_comparison(n)]
    if comparisons and all(_elapsed_or_countdown(c) for c in comparisons):
        return True
    return _windowed(ast, minimum) or _lasting_state(ast)


def _check(rule: RuleView, ctx: Context) -> Iterator[str]:
    minimum = ctx.for_minimum_seconds.get(rule.labels.get("severity", ""))
    if rule.kind != "alert" or minimum is None or rule.for_exemption:
        return
    actual = parse_duration(rule.for_) if rule.for_ else 0.0
    if actual >= minimum or (rule.ast is not None and cannot_flap(rule.ast, minimum)):
        return
    yield (
        f"for {rule.for_ or '0s'} is shorter than the {minimum:g}s minimum for "
        f"{rule.labels['severity']} alerts (rules/catalogue.yaml for_minimum); lengthen it, or give "
        "the alert a for_exemption saying why it cannot flap"
    )


CHECK = per_rule(
    "for-minimum",
    "An alert with no dwell time pages on a single bad scrape.",
    _check,
    needs_ast=False,
)
