"""What a dashboard check sees (panels and their queries, parsed) and what it reports."""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from responder.catalogue import promql
from responder.dashboards.build import BuiltDashboard
from responder.dashboards.variables import substitute


@dataclass(frozen=True)
class Check:
    name: str
    why: str
    run: Callable[[BuiltDashboard], Iterable[str]]


@dataclass(frozen=True)
class Finding:
    check: str
    dashboard: str
    message: str

    def __str__(self) -> str:
        return f"dashboards/{self.dashboard}.json: {self.message} [{self.check}]"


def panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows included, and the panels inside collapsed rows."""
    for panel in model.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def data_panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Panels that query data (everything but rows)."""
    return (p for p in panels(model) if p.get("type") != "row")


def describe(panel: dict[str, Any]) -> str:
    return f"panel {panel.get('id')} ({panel.get('title', 'untitled')!r})"


@dataclass(frozen=True)
class Query:
    """One panel query as Prometheus will receive it, parsed; `ast` is None when it does not parse."""

    panel: dict[str, Any]
    ref_id: str
    expr: str
    ast: Any
    error: str | None


def queries(built: BuiltDashboard, rate_interval: str, values: dict[str, str] | None = None) -> Iterator[Query]:
    """Every panel query with Grafana's variables replaced (see variables.substitute)."""
    for panel in data_panels(built.model):
        for target in panel.get("targets", []):
            expr = substitute(str(target.get("expr", "")), rate_interval, values)
            try:
                ast, error = promql.parse(expr), None
            except ValueError as exc:
                ast, error = None, str(exc)
            yield Query(panel, str(target.get("refId")), expr, ast, error)
