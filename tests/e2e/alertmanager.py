"""A real Alertmanager for the tests that read it back or write to it (reconciliation,
silences): its only receiver is the responder, at a port where nothing listens, so the push path
is broken and only the responder's own reading can find its alerts."""

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import cost_alert, real_binary
from tests.e2e.processes import Process, alertmanager
from tests.fakes.thread import free_port

RECEIVER = "alert-responder"


class Alertmanagers:
    """One real Alertmanager whose only receiver is the responder, at a port nobody listens on."""

    def __init__(self, root: Path) -> None:
        dead = free_port()
        config = {
            "route": {"receiver": RECEIVER, "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
            "receivers": [{"name": RECEIVER, "webhook_configs": [{"url": f"http://127.0.0.1:{dead}/webhook"}]}],
        }
        path = root / "alertmanager.yml"
        path.write_text(yaml.safe_dump(config), "utf-8")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home = root / "alertmanager"
        home.mkdir()
        self.process: Process = alertmanager(real_binary("prometheus-alertmanager"), path, home, self.port)

    def post(self, path: str, body: Any) -> Any:
        request = urllib.request.Request(
            self.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else None

    def fire(self, ends: datetime | None = None, starts_at: str = "2026-11-23T13:00:00Z", **labels: str) -> None:
        """An alert as Prometheus sends it; ended when `ends` is in the past."""
        alert = cost_alert()
        sent = {
            "labels": {**alert["labels"], **labels},
            "annotations": alert["annotations"],
            "startsAt": starts_at,
            "generatorURL": "http://127.0.0.1:9090/graph",
        }
        if ends is not None:
            sent["endsAt"] = ends.isoformat().replace("+00:00", "Z")
        self.post("/api/v2/alerts", [sent])

    def alerts(self) -> list[dict[str, Any]]:
        """What its API lists, as the responder reads it."""
        with urllib.request.urlopen(self.url + "/api/v2/alerts", timeout=10) as response:
            listed: list[dict[str, Any]] = json.loads(response.read())
            return listed

    def silence(self, **labels: str) -> None:
        now = datetime.now(UTC)
        self.post(
            "/api/v2/silences",
            {
                "matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in labels.items()],
                "startsAt": now.isoformat(),
                "endsAt": (now + timedelta(hours=1)).isoformat(),
                "createdBy": "test",
                "comment": "silenced while it is handled",
            },
        )


def silences(am: Alertmanagers) -> list[dict[str, Any]]:
    """Every silence the Alertmanager holds, expired ones too."""
    with urllib.request.urlopen(am.url + "/api/v2/silences", timeout=10) as response:
        found: list[dict[str, Any]] = json.loads(response.read())
        return found
