"""Generate Prometheus rule files and PrometheusRule manifests from the catalogue.

The ruleset version goes into the file header and the manifest's labels, never into alert
labels: alert labels make an alert's fingerprint, and the responder keys "act at most once" on
that fingerprint, so a version bump must not turn every firing alert into a new one.
"""

from pathlib import Path
from typing import Any

from responder.catalogue.model import Alert, Catalogue, RecordingRule, System
from responder.generated import GeneratedFile, Output
from responder.yamlio import dump_yaml

RULES_DIR = Path("rules")
OPERATOR_DIR = Path("deploy/prometheus-operator")
OUTPUT = Output(
    what="generated rules",
    command="responder rules build",
    sources="rules/src/",
    globs=(f"{RULES_DIR}/*.y*ml", f"{OPERATOR_DIR}/*.y*ml"),
)


def standard_labels(system: System, severity: str) -> dict[str, str]:
    return {"severity": severity, "team": system.team, "system": system.system}


def alert_rule(system: System, alert: Alert) -> dict[str, Any]:
    """One alerting rule as Prometheus reads it, with the standard labels and annotations."""
    annotations = {
        "summary": alert.summary,
        "description": alert.description,
        "runbook_url": alert.runbook_url,
        "action": alert.action,
    }
    if alert.dashboard_url:
        annotations["dashboard_url"] = alert.dashboard_url
    if alert.target:
        annotations.update(alert.target.annotations())
    return {
        "alert": alert.name,
        "expr": alert.expr,
        "for": alert.for_,
        "labels": dict(sorted({**alert.labels, **standard_labels(system, alert.severity)}.items())),
        "annotations": dict(sorted(annotations.items())),
    }


def recording_rule(rule: RecordingRule) -> dict[str, Any]:
    out: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
    if rule.labels:
        out["labels"] = dict(sorted(rule.labels.items()))
    return out


def rule_groups(system: System) -> list[dict[str, Any]]:
    """Recording rules in their own group, evaluated before the alerts that read them."""
    groups = []
    if system.recording_rules:
        groups.append(
            {
                "name": f"{system.system}.recording",
                "rules": [recording_rule(r) for r in system.recording_rules],
            }
        )
    groups.append({"name": f"{system.system}.alerts", "rules": [alert_rule(system, a) for a in system.alerts]})
    return groups


def _header(catalogue: Catalogue, system: System) -> str:
    return f"# {OUTPUT.mark(system.source.as_posix())}\n# ruleset version {catalogue.settings.version}\n"


def _rule_file(catalogue: Catalogue, system: System) -> GeneratedFile:
    text = _header(catalogue, system) + dump_yaml({"groups": rule_groups(system)})
    return GeneratedFile(RULES_DIR / f"{system.system}.rules.yml", text)


def _operator_manifest(catalogue: Catalogue, system: System) -> GeneratedFile:
    manifest = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": f"alert-responder-{system.system.replace('_', '-')}",
            "labels": {
                "app.kubernetes.io/name": "alert-responder",
                "app.kubernetes.io/component": "rules",
                "app.kubernetes.io/version": catalogue.settings.version,
                "alert-responder/system": system.system.replace("_", "-"),
            },
        },
        "spec": {"groups": rule_groups(system)},
    }
    text = _header(catalogue, system) + dump_yaml(manifest)
    return GeneratedFile(OPERATOR_DIR / f"{system.system}.yaml", text)


def generate(catalogue: Catalogue) -> list[GeneratedFile]:
    """Every generated file, in a stable order."""
    files = []
    for system in catalogue.systems:
        files.append(_rule_file(catalogue, system))
        files.append(_operator_manifest(catalogue, system))
    return files
