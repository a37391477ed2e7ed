"""Every range in a panel query is `$__rate_interval`, except the alert's own windows on its panel."""

from collections.abc import Iterator

from responder.catalogue import promql
from responder.dashboards.build import BuiltDashboard
from responder.dashboards.lint_base import Check, describe, queries

# What `$__rate_interval` stands for while checking: a window no source would write by hand.
SENTINEL = "59999ms"
SENTINEL_SECONDS = 59.999


def _windows(expr: str) -> set[float]:
    return {s for node in promql.walk(promql.parse(expr)) if (s := promql.range_seconds(node)) is not None}


def _check(built: BuiltDashboard) -> Iterator[str]:
    for query in queries(built, SENTINEL):
        where = f"{describe(query.panel)} query {query.ref_id}"
        if query.ast is None:
            yield f"{where} does not parse as PromQL: {query.error}"
            continue
        alert_expr = built.alert_exprs.get(query.panel["id"])
        allowed = _windows(alert_expr) if alert_expr else {SENTINEL_SECONDS}
        for node in promql.walk(query.ast):
            seconds = promql.range_seconds(node)
            if seconds is not None and seconds not in allowed:
                yield (
                    f"{where} uses a fixed {seconds:g}s window; use [$__rate_interval]"
                    if alert_expr is None
                    else f"{where} uses a {seconds:g}s window its alert does not; show the alert's own quantity"
                )


CHECK = Check(
    "rate-interval",
    "A fixed window shorter than four scrapes draws gaps and one longer hides spikes when zoomed;"
    " $__rate_interval follows the zoom and the datasource's scrape interval.",
    _check,
)
