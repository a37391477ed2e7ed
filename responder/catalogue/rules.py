"""Generate Prometheus rule files and PrometheusRule manifests from the catalogue.

The ruleset version goes into the file header and the manifest's labels, never into alert
labels: alert labels make an alert's fingerprint, and the responder keys "act at most once" on
that fingerprint, so a version bump must not turn every firing alert into a new one.

Nothing is generated from a catalogue with an expression that does not parse: Prometheus
refuses a whole rule file for one such expression, so writing it (or calling the committed
files in step with it) would only move the failure to the next reload.
"""

from pathlib import Path
from typing import Any

from responder.catalogue import promql
from responder.catalogue.model import Alert, Catalogue, RecordingRule, System
from responder.generated import GeneratedFile, Output
from responder.schemas import ProblemsError
from responder.yamlio import dump_yaml

RULES_DIR = Path("rules")
OPERATOR_DIR = Path("deploy/prometheus-operator")
OUTPUT = Output(
    what="generated rules",
    command="responder rules build",
    sources="rules/src/",
    globs=(f"{RULES_DIR}/*.y*ml", f"{OPERATOR_DIR}/*.y*ml"),
)


class UnparsableRulesError(ProblemsError):
    headline = "refusing to generate rules: Prometheus would not load these expressions:"


def unparsable(catalogue: Catalogue) -> list[str]:
    """Each rule whose expression does not parse as PromQL, with the parser's reason."""
    problems = []
    for system in catalogue.systems:
        named = [("alert", a.name, a.expr) for a in system.alerts]
        named += [("record", r.record, r.expr) for r in system.recording_rules]
        for kind, name, expr in named:
            try:
                promql.parse(expr)
            except ValueError as exc:
                problems.append(f"{system.source}: {kind} {name}: {expr!r} does not parse ({exc}); fix the PromQL")
    return problems


def standard_labels(system: System, severity: str) -> dict[str, str]:
    return {"severity": severity, "team": system.team, "system": system.system}


def alert_rule(system: System, alert: Alert) -> dict[str, Any]:
    """One alerting rule as Prometheus reads it, with the standard labels and annotations."""
    annotations = {
        **alert.annotations,
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
    """Every generated file, in a stable order; UnparsableRulesError when an expression does not parse."""
    problems = unparsable(catalogue)
    if problems:
        raise UnparsableRulesError(problems)
    files = []
    for system in catalogue.systems:
        files.append(_rule_file(catalogue, system))
        files.append(_operator_manifest(catalogue, system))
    return files
