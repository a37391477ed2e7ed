"""Selectors name their job or namespace (catalogue.yaml `scope_labels`).

`up == 0` without a job matches every target Prometheus scrapes: an unrelated exporter going
down would fire the alert, and on an alert whose action stops or freezes a deployment that is an
outage caused by the responder. So an unscoped selector is an error on mutating alerts; on the
others it is a warning for the names every job exports (`up`, `process_*`, `go_*`, …), where the
same mistake pages the wrong team.
"""

from collections.abc import Iterator

import promql_parser

from responder.catalogue import promql
from responder.catalogue.lint_base import Context, Note, RuleView, per_rule, warning

SHARED_PREFIXES = ("up", "scrape_", "process_", "go_", "promhttp_", "http_request", "grpc_server_")


def _unscoped(rule: RuleView, ctx: Context) -> Iterator[str]:
    for node in promql.walk(rule.ast):
        if not isinstance(node, promql_parser.VectorSelector) or node.name in ctx.recorded_names:
            continue
        if not any(m.name in ctx.scope_labels for m in node.matchers.matchers):
            yield node.name or str(node)


def _check(rule: RuleView, ctx: Context) -> Iterator[str | Note]:
    if rule.kind != "alert":
        return
    scopes = " or ".join(ctx.scope_labels)
    for name in dict.fromkeys(_unscoped(rule, ctx)):
        if rule.mutating:
            yield (
                f"{name} has no {scopes} matcher, so any job's series can trigger this mutating "
                f'action; add one, e.g. {name}{{{ctx.scope_labels[0]}="…"}}'
            )
        elif name == "up" or name.startswith(SHARED_PREFIXES[1:]):
            yield warning(f"{name} is exported by every job; without a {scopes} matcher it alerts on all of them")


CHECK = per_rule(
    "scoped-selectors",
    "An unscoped `up == 0` fires for every job; on a mutating alert it stops the wrong deployment.",
    _check,
)
