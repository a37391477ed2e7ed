"""Label and annotation templates parse as Prometheus parses them, and read labels that exist.

A template that does not parse makes Prometheus refuse the whole rule file. `$labels.X` where the
expression cannot return X (`sum by (job)` leaves no `instance`) renders empty in every
notification. A raw `$value` of a rate or ratio prints seventeen digits; a formatting function
(`humanize`, `humanizePercentage`, `printf`) makes it readable.
"""

from collections.abc import Iterator

import promql_parser

from responder.catalogue import promql, templates
from responder.catalogue.lint_base import Context, Note, RuleView, per_rule, warning

_FRACTIONAL = ("rate", "irate", "deriv")


def _fractional(ast: promql.Node) -> bool:
    """The value the alert compares is a rate or a ratio, so printed raw it is a long decimal."""
    node = promql.unwrap(ast)
    while isinstance(node, promql_parser.BinaryExpr) and (promql.is_comparison(node) or str(node.op) == "and"):
        node = promql.unwrap(node.lhs)
    while isinstance(node, promql_parser.AggregateExpr):
        node = promql.unwrap(node.expr)
    if isinstance(node, promql_parser.Call):
        return node.func.name in _FRACTIONAL
    return isinstance(node, promql_parser.BinaryExpr) and str(node.op) == "/"


def _query_problems(kind: str, key: str, found: templates.Template) -> Iterator[str]:
    """Each `query "…"` must parse, and `label "X"` on its result must be a label it can return."""
    for query in dict.fromkeys(found.queries):
        try:
            promql.parse(query)
        except ValueError as exc:
            yield f"{kind} {key} runs query {query!r}, which does not parse ({exc})"
    for query, label in dict.fromkeys(found.query_labels):
        try:
            ast = promql.parse(query)
        except ValueError:
            continue
        if not promql.may_carry(ast, label):
            yield f"{kind} {key} reads label {label!r} from query {query!r}, which cannot return it"


def _check(rule: RuleView, ctx: Context) -> Iterator[str | Note]:
    fields = [("label", k, v) for k, v in rule.labels.items()]
    fields += [("annotation", k, v) for k, v in rule.annotations.items()]
    for kind, key, text in sorted(fields):
        found = templates.read(text)
        for error in found.errors:
            yield f"{kind} {key} does not parse as a Prometheus template: {error}; Prometheus refuses the file"
        yield from _query_problems(kind, key, found)
        if rule.ast is None or rule.kind != "alert":
            continue
        for label in sorted(set(found.labels)):
            if not promql.may_carry(rule.ast, label):
                yield (
                    f"{kind} {key} reads $labels.{label}, which the expression cannot return "
                    "(an aggregation or match drops it); keep it in by (...) or stop reading it"
                )
        if found.raw_values and _fractional(rule.ast):
            yield warning(
                f"{kind} {key} prints $value of a rate or ratio raw; pipe it through humanize, "
                "humanizePercentage or printf"
            )


CHECK = per_rule(
    "template-syntax",
    "A template that does not parse stops the whole rule file loading; a missing label renders empty.",
    _check,
    needs_ast=False,
)
