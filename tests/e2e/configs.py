"""Configuration for the real processes, derived from what the project ships.

- Rules: the generated `rules/*.rules.yml`, with every `for:` rewritten to 0s so an alert fires
  on the first evaluation that sees its condition (the real durations are minutes). Expressions,
  labels and annotations are untouched.
- Alertmanager: `deploy/alertmanager.yml`, with second-scale timers, the responder's URL and a
  token file; the route for the responder's own alerts keeps its receiver but without the
  PagerDuty integration (there are no humans to page in a test).
- Responder: the embedded default policy (tests.conftest.write_policy) with every action live
  against the fake cluster and every channel pointed at its fake.
"""

import json
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO, TOKEN, write_policy

TIMERS = {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "2s"}
KUBE_TOKEN = "kube-token-for-e2e"
ACTIONS = ("EMERGENCY_STOP", "FREEZE_DEPLOYMENTS", "INVESTIGATE")


def fast_rules(directory: Path) -> list[Path]:
    """Copies of the generated rule files with `for: 0s`; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted((REPO / "rules").glob("*.rules.yml")):
        document = yaml.safe_load(source.read_text("utf-8"))
        for group in document["groups"]:
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = "0s"
        target = directory / source.name
        target.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
        written.append(target)
    return written


def prometheus_config(root: Path, exporter: str, alertmanagers: list[str]) -> Path:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in fast_rules(root / "rules")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": alertmanagers}]}]},
        # honor_labels: the exporter stands in for several services and labels each metric with its own job
        "scrape_configs": [
            {"job_name": "synthetic", "honor_labels": True, "static_configs": [{"targets": [exporter]}]}
        ],
    }
    path = root / "prometheus.yml"
    path.write_text(json.dumps(config), "utf-8")  # JSON is YAML
    return path


def alertmanager_config(root: Path, responder_url: str) -> Path:
    document: dict[str, Any] = yaml.safe_load((REPO / "deploy" / "alertmanager.yml").read_text("utf-8"))
    document["route"].update(TIMERS)
    token = root / "responder-token"
    token.write_text(TOKEN, "utf-8")
    token.chmod(0o600)
    for receiver in document["receivers"]:
        if receiver["name"] == "alert-responder":
            webhook = receiver["webhook_configs"][0]
            webhook["url"] = f"{responder_url}/webhook"
            webhook["http_config"]["authorization"]["credentials_file"] = str(token)
        else:
            receiver.pop("pagerduty_configs", None)
    path = root / "alertmanager.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    return path


def responder_policy(root: Path, port: int, kube_url: str, namespaces: list[str], changes: dict[str, Any]) -> Path:
    """A responder.yaml: live remediation against `kube_url`, journal under `root`, plus `changes`."""
    live: dict[str, Any] = {
        "server.listen": f"127.0.0.1:{port}",
        "kubernetes": {"host": kube_url, "token": KUBE_TOKEN, "timeout": "2s"},
    }
    for action in ACTIONS:
        live[f"actions.{action}.mode"] = "live"
        live[f"actions.{action}.allowed_namespaces"] = namespaces
    return write_policy(root, {**live, **changes})
