"""A well-formed dashboard to start from; each test changes the one thing its check is about."""

import copy
from typing import Any

from responder.dashboards.build import BuiltDashboard
from responder.dashboards.lint_base import Check

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
ALERT_PANEL_ID = 1_000_123


def panel(panel_id: int, expr: str, y: int = 1, x: int = 0, **changes: Any) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": f"panel {panel_id}",
        "datasource": dict(DATASOURCE),
        "gridPos": {"h": 8, "w": 8, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": "s"}, "overrides": []},
        "targets": [{"refId": "A", "expr": expr, "datasource": dict(DATASOURCE)}],
        **changes,
    }


def model() -> dict[str, Any]:
    return {
        "uid": "alert-responder-example",
        "title": "Example",
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {
                    "name": "instance",
                    "type": "query",
                    "datasource": dict(DATASOURCE),
                    "query": "label_values(up, instance)",
                    "multi": True,
                    "includeAll": True,
                    "allValue": ".*",
                },
            ]
        },
        "panels": [
            {"id": 1, "type": "row", "title": "Row", "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0}, "panels": []},
            panel(2, 'sum(rate(api_requests_total{instance=~"$instance"}[$__rate_interval]))'),
            panel(ALERT_PANEL_ID, "sum(increase(rollbacks_total[1h]))", x=8),
        ],
    }


def built(changed: dict[str, Any] | None = None) -> BuiltDashboard:
    return BuiltDashboard(
        system="example",
        source="dashboards/src/example.yaml",
        model=copy.deepcopy(changed) if changed is not None else model(),
        alert_exprs={ALERT_PANEL_ID: "sum(increase(rollbacks_total[1h])) > 1.5"},
    )


def with_expr(panel_index: int, expr: str) -> BuiltDashboard:
    """The example with one panel's first query replaced."""
    changed = model()
    changed["panels"][panel_index]["targets"][0]["expr"] = expr
    return built(changed)


def messages(check: Check, dashboard: BuiltDashboard) -> list[str]:
    return list(check.run(dashboard))
