"""Patterns that work until they do not: all warnings, except a window no Prometheus keeps.

- `topk`/`bottomk`: in an alert membership changes between evaluations, so the alert flaps
  between series and each change resets its `for`; in a recording rule the recorded series come
  and go the same way.
- a ratio of two aggregations in an alert with no `for`: just after a Prometheus restart one side
  may have scraped fewer targets than the other, and the ratio spikes for one evaluation.
- `absent()` with a `for` shorter than two scrapes: one late scrape fires it.
- a regex matcher with no regex characters (`=~"api"`: use `=`), with `^…$` anchors
  (Prometheus anchors every regex already), or picking parts out of a `job` name
  (`job=~"myservice_.+_production"`: the parts belong in labels of their own).
- an alert that recomputes what a recording rule already records: read the record instead.
- a range window or an offset longer than the retention (catalogue `max_range`): the data is not there.
"""

import re
from collections.abc import Iterator

import promql_parser

from responder.catalogue import promql
from responder.catalogue.lint_base import Context, Note, RuleView, per_rule, warning
from responder.durations import parse_duration

_REGEX_CHARACTERS = re.compile(r"[.*+?()\[\]{}|\\^$]")
_SMELLY = re.compile(r"[A-Za-z0-9]\.[*+]|\.[*+][A-Za-z0-9_]")  # a wildcard glued to literal text


def _regex_notes(node: promql.Node) -> Iterator[Note]:
    for selector in promql.walk(node):
        if not isinstance(selector, promql_parser.VectorSelector):
            continue
        for matcher in selector.matchers.matchers:
            if str(matcher.op) not in ("MatchOp.Re", "MatchOp.NotRe"):
                continue
            value, op = matcher.value, "=~" if str(matcher.op) == "MatchOp.Re" else "!~"
            if value.startswith("^") or value.endswith("$"):
                yield warning(f'{matcher.name}{op}"{value}": Prometheus anchors regexes already; drop ^ and $')
            elif not _REGEX_CHARACTERS.search(value):
                plain = "=" if op == "=~" else "!="
                yield warning(f'{matcher.name}{op}"{value}" has no regex characters; use {plain}')
            elif matcher.name == "job" and _SMELLY.search(value):
                yield warning(
                    f'job=~"{value}" picks parts out of job names; relabel those parts into labels of their own'
                )


def _aggregation_ratio(node: promql.Node) -> bool:
    for n in promql.walk(node):
        if isinstance(n, promql_parser.BinaryExpr) and str(n.op) == "/" and n.modifier is None:
            sides = (promql.unwrap(n.lhs), promql.unwrap(n.rhs))
            if all(isinstance(s, promql_parser.AggregateExpr) for s in sides):
                return True
    return False


def _too_old(node: promql.Node, ctx: Context) -> Iterator[str]:
    for n in promql.walk(node):
        seconds = promql.range_seconds(n)
        offset = n.offset.total_seconds() if isinstance(n, promql_parser.VectorSelector) and n.offset else None
        for what, value in (("range", seconds), ("offset", offset)):
            if value is not None and value > ctx.max_range_seconds:
                yield (
                    f"a {value:g}s {what} reaches past the {ctx.max_range_seconds:g}s the catalogue allows "
                    "(max_range in rules/catalogue.yaml); Prometheus has no data that old"
                )


def _recomputed(ast: promql.Node, ctx: Context) -> Iterator[Note]:
    recorded = {promql.parse(expr).prettify(): name for name, expr in ctx.recorded_exprs.items()}
    for node in promql.walk(ast):
        name = recorded.get(node.prettify()) if not isinstance(node, promql_parser.VectorSelector) else None
        if name:
            yield warning(f"{node.prettify()!r} is what the recording rule {name} records; read {name} instead")


def _check(rule: RuleView, ctx: Context) -> Iterator[str | Note]:
    for call in promql.walk(rule.ast):
        if isinstance(call, promql_parser.AggregateExpr) and str(call.op) in ("topk", "bottomk"):
            kind = "an alerting" if rule.kind == "alert" else "a recording"
            yield warning(f"{call.op}() in {kind} rule changes membership between evaluations; avoid it")
    if rule.kind == "alert":
        dwell = parse_duration(rule.for_) if rule.for_ else 0.0
        if dwell < rule.scrape_seconds and _aggregation_ratio(rule.ast):
            yield warning(
                "a ratio of two aggregations with no for: after a restart one side may have fewer "
                f"targets scraped; add a for of at least one scrape ({rule.scrape_seconds:g}s)"
            )
        if any(promql.calls(rule.ast, "absent")) and dwell < 2 * rule.scrape_seconds:
            yield warning(
                f"absent() with for {rule.for_ or '0s'} fires on one late scrape; use a for of at least "
                f"two scrapes ({2 * rule.scrape_seconds:g}s)"
            )
    yield from dict.fromkeys(_regex_notes(rule.ast))
    if rule.kind == "alert":
        yield from _recomputed(rule.ast, ctx)
    yield from dict.fromkeys(_too_old(rule.ast, ctx))


CHECK = per_rule(
    "fragile-patterns",
    "topk in alerts, a hasty absent(), redundant regexes and over-long windows work until they do not.",
    _check,
)
