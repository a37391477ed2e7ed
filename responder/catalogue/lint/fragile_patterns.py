"""Patterns that work until they do not: all warnings, except a window no Prometheus keeps.

- `topk`/`bottomk` in an alert: membership changes between evaluations, so the alert flaps
  between series and each change resets its `for`.
- `absent()` with a `for` shorter than two scrapes: one late scrape fires it.
- a regex matcher with no regex characters (`=~"api"`: use `=`) or with `^…$` anchors
  (Prometheus anchors every regex already).
- a range window longer than the retention (catalogue `max_range`): the data is not there.
"""

import re
from collections.abc import Iterator

import promql_parser

from responder.catalogue import promql
from responder.catalogue.lint_base import Context, Note, RuleView, per_rule, warning
from responder.durations import parse_duration

_REGEX_CHARACTERS = re.compile(r"[.*+?()\[\]{}|\\^$]")


def _regex_notes(node: promql.Node) -> Iterator[Note]:
    for selector in promql.walk(node):
        if not isinstance(selector, promql_parser.VectorSelector):
            continue
        for matcher in selector.matchers.matchers:
            if str(matcher.op) not in ("MatchOp.Re", "MatchOp.NotRe"):
                continue
            value = matcher.value
            if value.startswith("^") or value.endswith("$"):
                yield warning(f'{matcher.name}=~"{value}": Prometheus anchors regexes already; drop ^ and $')
            elif not _REGEX_CHARACTERS.search(value):
                yield warning(f'{matcher.name}=~"{value}" has no regex characters; use = (or != for !~)')


def _check(rule: RuleView, ctx: Context) -> Iterator[str | Note]:
    if rule.kind == "alert":
        for call in promql.walk(rule.ast):
            if isinstance(call, promql_parser.AggregateExpr) and str(call.op) in ("topk", "bottomk"):
                yield warning(f"{call.op}() in an alert flaps as membership changes; compare every series instead")
        dwell = parse_duration(rule.for_) if rule.for_ else 0.0
        if any(promql.calls(rule.ast, "absent")) and dwell < 2 * rule.scrape_seconds:
            yield warning(
                f"absent() with for {rule.for_ or '0s'} fires on one late scrape; use a for of at least "
                f"two scrapes ({2 * rule.scrape_seconds:g}s)"
            )
    yield from _regex_notes(rule.ast)
    for node in promql.walk(rule.ast):
        seconds = promql.range_seconds(node)
        if seconds is not None and seconds > ctx.max_range_seconds:
            yield (
                f"a {seconds:g}s range is longer than the {ctx.max_range_seconds:g}s the catalogue allows "
                "(max_range in rules/catalogue.yaml); Prometheus has no data that old"
            )


CHECK = per_rule(
    "fragile-patterns",
    "topk in alerts, a hasty absent(), redundant regexes and over-long windows work until they do not.",
    _check,
)
