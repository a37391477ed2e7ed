"""Alertmanager-shaped payloads the benchmark sends: the catalogue's CostBudgetExceeded."""

import json
from typing import Any

MIX = (("EMERGENCY_STOP", "critical"), ("FREEZE_DEPLOYMENTS", "warning"), ("INVESTIGATE", "critical"), ("", "info"))


def alert(
    i: int, action: str = "EMERGENCY_STOP", severity: str = "critical", starts_at: str = "2026-11-23T13:00:00.000Z"
) -> dict[str, Any]:
    """An alert shaped like the catalogue's generated CostBudgetExceeded."""
    return {
        "status": "firing",
        "labels": {
            "alertname": "CostBudgetExceeded",
            "severity": severity,
            "system": "builder_hardening",
            "team": "builder-sre",
            "instance": f"10.0.{i // 256}.{i % 256}:8080",
            "job": "cost-guard",
        },
        "annotations": {
            "action": action,
            "summary": "Daily cost budget exceeded",
            "description": "Spend is running at $0.734/day, above the hard limit of $0.50/day.",
            "runbook_url": "https://runbooks.example.com/alert-responder/builder_hardening.md#costbudgetexceeded",
            "target_namespace": "autogen-council",
            "target_deployment": f"o3-audit-proxy-{i}",
        },
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=cost_daily_burn_rate",
        "fingerprint": f"{i:016x}",
    }


def payload(alerts: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "receiver": "alert-responder",
            "status": "firing",
            "alerts": alerts,
            "groupLabels": {"alertname": "CostBudgetExceeded"},
            "commonLabels": {"alertname": "CostBudgetExceeded"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "version": "4",
            "groupKey": '{}:{alertname="CostBudgetExceeded"}',
            "truncatedAlerts": 0,
        }
    ).encode()
