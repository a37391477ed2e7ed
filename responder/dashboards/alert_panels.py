"""One panel per alert: the quantity the alert compares, its threshold and its severity colour.

The quantity is read from the alert's own expression, so the panel cannot drift from the rule.
Which comparisons count: both sides of an `or` (each is a way to fire), only the left side of an
`and`/`unless` (the right side is a condition such as a minimum volume, not what is measured),
and the inside of an aggregation around a comparison. A comparison against a number draws that
number as the threshold; a comparison against another expression (a spike over a baseline)
draws that expression as a second series, the moving threshold. The range windows stay the
alert's own: the panel shows the number the rule compares, not a look-alike.
"""

from dataclasses import dataclass

import promql_parser

from responder.catalogue import promql
from responder.catalogue.model import Alert, System
from responder.dashboards.ids import alert_panel_id

SEVERITY_COLOURS = {"critical": "red", "warning": "orange", "info": "blue"}
OK_COLOUR = "green"
# Threshold steps: (lowest value the colour applies from, colour); None is minus infinity.
Steps = tuple[tuple[float | None, str], ...]


class AlertPanelError(ValueError):
    """An alert's expression has no comparison the generator can draw."""


@dataclass(frozen=True)
class Quantity:
    expr: str
    legend: str
    steps: Steps | None  # None: a moving threshold, drawn as its own series


@dataclass(frozen=True)
class AlertPanel:
    panel_id: int
    title: str
    description: str
    unit: str
    runbook_url: str
    colour: str
    expr: str
    quantities: tuple[Quantity, ...]


def _number(value: float) -> float | int:
    """100 rather than 100.0, so that generated JSON reads as the source was written."""
    return int(value) if value.is_integer() else value


def _steps(op: str, threshold: float, colour: str) -> Steps:
    """Colour the side of the threshold on which the alert fires."""
    value = _number(threshold)
    if op in (">", ">="):
        return ((None, OK_COLOUR), (value, colour))
    if op in ("<", "<="):
        return ((None, colour), (value, OK_COLOUR))
    if op == "==":  # only used on 0/1 state gauges: the firing band is [value, value + 1)
        return ((None, OK_COLOUR), (value, colour), (_number(threshold + 1), OK_COLOUR))
    raise AlertPanelError(f"cannot draw a threshold for `{op}`; compare with >, >=, <, <= or ==")


def _comparisons(node: promql.Node) -> list[promql.Node]:
    node = promql.unwrap(node)
    if isinstance(node, promql_parser.BinaryExpr):
        op = str(node.op)
        if op == "or":
            return _comparisons(node.lhs) + _comparisons(node.rhs)
        if op in ("and", "unless"):
            return _comparisons(node.lhs)
        return [node] if promql.is_comparison(node) else []
    if isinstance(node, promql_parser.AggregateExpr):
        return _comparisons(node.expr)
    return []


def _quantities(alert: Alert) -> list[Quantity]:
    colour = SEVERITY_COLOURS[alert.severity]
    quantities: list[Quantity] = []
    for comparison in _comparisons(promql.parse(alert.expr)):
        lhs, rhs, op = promql.unwrap(comparison.lhs), promql.unwrap(comparison.rhs), str(comparison.op)
        if isinstance(rhs, promql_parser.NumberLiteral):
            quantities.append(Quantity(lhs.prettify(), "__auto", _steps(op, rhs.val, colour)))
        elif isinstance(lhs, promql_parser.NumberLiteral):
            mirrored = {">": "<", ">=": "<=", "<": ">", "<=": ">="}.get(op, op)
            quantities.append(Quantity(rhs.prettify(), "__auto", _steps(mirrored, lhs.val, colour)))
        else:
            quantities.append(Quantity(lhs.prettify(), "__auto", None))
            quantities.append(Quantity(rhs.prettify(), f"threshold ({op})", None))
    unique = list(dict.fromkeys(quantities))
    if not unique:
        raise AlertPanelError(f"no comparison to draw in {alert.expr!r}")
    return unique


def _description(alert: Alert) -> str:
    return (
        f"**{alert.name}** ({alert.severity}, action {alert.action}): {alert.summary}.\n\n"
        f"Fires when this holds for {alert.for_}:\n\n```promql\n{alert.expr}\n```\n\n"
        f"{alert.why}\n\nRunbook: [{alert.runbook_url}]({alert.runbook_url})"
    )


def _title(alert: Alert) -> str:
    """`Name (severity)`, plus the static labels that tell copies of one name apart."""
    told_apart = "".join(f", {k}={v}" for k, v in sorted(alert.labels.items()))
    return f"{alert.name} ({alert.severity}{told_apart})"


def alert_panel(system: System, alert: Alert, units: dict[str, str]) -> AlertPanel:
    try:
        quantities = _quantities(alert)
    except (AlertPanelError, ValueError) as exc:
        raise AlertPanelError(f"{system.source}: alert {alert.name}: {exc}") from exc
    return AlertPanel(
        panel_id=alert_panel_id(alert.name, alert.severity, alert.labels),
        title=_title(alert),
        description=_description(alert),
        unit=units[alert.name],
        runbook_url=alert.runbook_url,
        colour=SEVERITY_COLOURS[alert.severity],
        expr=alert.expr,
        quantities=tuple(quantities),
    )


def alert_panels(system: System, units: dict[str, str]) -> list[AlertPanel]:
    """The system's alert panels, critical first, then by name: the order an on-call reads them."""
    order = {"critical": 0, "warning": 1, "info": 2}
    alerts = sorted(system.alerts, key=lambda a: (order[a.severity], a.name, sorted(a.labels.items())))
    return [alert_panel(system, a, units) for a in alerts]
