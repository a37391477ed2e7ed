"""Label dimensions are template variables, and every panel query filters by each of them."""

from collections.abc import Iterator
from typing import Any

import promql_parser

from responder.catalogue import promql
from responder.dashboards.build import BuiltDashboard
from responder.dashboards.lint_base import Check, data_panels, describe, queries
from responder.dashboards.variables import names


def _marker(label: str) -> str:
    return f"@{label}@"


def _variable_problems(variable: dict[str, Any]) -> Iterator[str]:
    name = variable.get("name")
    if variable.get("type") != "query":
        yield f"variable {name}: type {variable.get('type')!r}, expected a query variable"
    if variable.get("datasource", {}).get("uid") != "${datasource}":
        yield f"variable {name}: does not query ${{datasource}}"
    if not (variable.get("multi") and variable.get("includeAll") and variable.get("allValue") == ".*"):
        yield f"variable {name}: needs multi, includeAll and allValue '.*' so that All also matches series without it"


def _unknown_variables(built: BuiltDashboard, defined: set[str]) -> Iterator[str]:
    """A misspelt `$instnace` would run as `.*` and filter nothing, silently."""
    for panel in data_panels(built.model):
        for target in panel.get("targets", []):
            used = {n for n in names(str(target.get("expr", ""))) if not n.startswith("__")}  # __: Grafana's own
            for unknown in sorted(used - defined):
                yield f"{describe(panel)} query {target.get('refId')}: ${unknown} is not a variable of this dashboard"


def _check(built: BuiltDashboard) -> Iterator[str]:
    variables = [v for v in built.model.get("templating", {}).get("list", []) if v.get("name") != "datasource"]
    if not variables:
        yield "no template variable for a label dimension (namespace, service, instance …); add one"
    for variable in variables:
        yield from _variable_problems(variable)
    labels = [str(v.get("name")) for v in variables]
    yield from _unknown_variables(built, set(labels))
    for query in queries(built, "1m", {label: _marker(label) for label in labels}):
        if query.ast is None or query.panel["id"] in built.alert_exprs:
            continue  # unparsable: rate-interval reports it; alert panels show the alert's exact quantity
        for node in promql.walk(query.ast):
            if not isinstance(node, promql_parser.VectorSelector) or ":" in (node.name or ""):
                continue  # recorded series (level:metric:operation) are aggregated already
            filtered = {m.name for m in node.matchers.matchers if m.value == _marker(m.name)}
            for label in labels:
                if label not in filtered:
                    yield (
                        f"{describe(query.panel)} query {query.ref_id}: {node.name or 'selector'} "
                        f'does not filter by ${label}; add $filters (or {label}=~"${label}") to it'
                    )


CHECK = Check(
    "template-variables",
    "An operator narrows a dashboard to the namespace, service or instance on fire; a panel that"
    " ignores the picker shows numbers from the whole fleet next to ones that do not.",
    _check,
)
