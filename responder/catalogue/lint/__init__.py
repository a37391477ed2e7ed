"""Offline checks over the catalogue's generated rules, one check per module.

Checks run over rules as Prometheus will load them (after generation), so that what is linted is
what ships; findings point back at the source file and line that produced the rule. Each module
exports `CHECK`, whose `why` is the one-line reason the check exists.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from responder.catalogue.lint import (
    action_vocabulary,
    alert_has_comparison,
    always_or_never,
    counter_read_directly,
    expr_parses,
    for_minimum,
    fragile_patterns,
    histogram_quantile_by_le,
    mutating_targets,
    nan_in_aggregation,
    no_value_in_labels,
    range_windows,
    rate_over_counters,
    required_metadata,
    rule_dependencies,
    scoped_selectors,
    static_summary,
    template_syntax,
    unique_names,
)
from responder.catalogue.lint_base import Check, Context, Finding, RuleView, Severity, as_note
from responder.catalogue.metric_types import MetricType
from responder.catalogue.model import Catalogue, System
from responder.catalogue.rules import alert_rule, recording_rule
from responder.catalogue.slo import SPEEDS, slo_label
from responder.durations import parse_duration
from responder.vocabulary import MUTATING


def all_checks() -> list[Check]:
    modules = (
        expr_parses,
        alert_has_comparison,
        rate_over_counters,
        histogram_quantile_by_le,
        range_windows,
        no_value_in_labels,
        required_metadata,
        action_vocabulary,
        mutating_targets,
        for_minimum,
        unique_names,
        static_summary,
        counter_read_directly,
        template_syntax,
        always_or_never,
        nan_in_aggregation,
        scoped_selectors,
        rule_dependencies,
        fragile_patterns,
    )
    return [m.CHECK for m in modules]


class _Lines:
    """Where each rule starts in its source, so that a finding reads file:line: the nth
    `alert: Name` line for the nth alert of that name, an SLO's `name:` line for what it generates."""

    def __init__(self, root: Path, system: System) -> None:
        path = root / system.source
        self._lines = path.read_text("utf-8").splitlines() if path.is_file() else []
        self._seen: dict[tuple[str, str], int] = {}

    def _hits(self, key: str, name: str) -> list[int]:
        pattern = re.compile(rf"^\s*-?\s*{key}:\s*['\"]?{re.escape(name)}['\"]?\s*$")
        return [i + 1 for i, line in enumerate(self._lines) if pattern.match(line)]

    def find(self, key: str, name: str) -> int:
        hits = self._hits(key, name)
        nth = self._seen[key, name] = self._seen.get((key, name), -1) + 1
        return hits[min(nth, len(hits) - 1)] if hits else 0

    def slo(self, name: str) -> int:
        hits = self._hits("name", name)
        return hits[0] if hits else 0


def _system_rules(root: Path, system: System) -> list[RuleView]:
    lines = _Lines(root, system)
    slo_names = {slo_label(slo.name): slo.name for slo in system.slos}
    slo_alerts = {f"{slo.name}{suffix}": slo.name for slo in system.slos for suffix in SPEEDS.values()}
    common = {"source": system.source.as_posix(), "system": system.system, "scrape_seconds": system.scrape_seconds}
    views = []
    for rec in system.recording_rules:
        r = recording_rule(rec)
        slo = slo_names.get(rec.labels.get("slo", ""))
        line = lines.slo(slo) if slo else lines.find("record", rec.record)
        views.append(RuleView.build("record", r["record"], r["expr"], labels=r.get("labels", {}), line=line, **common))
    for alert in system.alerts:
        a = alert_rule(system, alert)
        slo = slo_alerts.get(alert.name)
        line = lines.slo(slo) if slo else lines.find("alert", alert.name)
        views.append(
            RuleView.build(
                "alert",
                a["alert"],
                a["expr"],
                for_=a["for"],
                labels=a["labels"],
                annotations=a["annotations"],
                line=line,
                for_exemption=alert.for_exemption,
                mutating=alert.action in MUTATING,
                **common,
            )
        )
    return views


def catalogue_rules(
    catalogue: Catalogue, metadata: Mapping[str, MetricType] | None = None
) -> tuple[list[RuleView], Context]:
    """The catalogue's rules exactly as the generator writes them, ready for the checks; metric
    types from a Prometheus's metadata, when given, rank below the catalogue's own declarations."""
    views = [v for system in catalogue.systems for v in _system_rules(catalogue.root, system)]
    settings = catalogue.settings
    ctx = Context(
        for_minimum_seconds={sev: parse_duration(d) for sev, d in settings.for_minimum.items()},
        recorded_names=frozenset(v.name for v in views if v.kind == "record"),
        metric_types={**(metadata or {}), **settings.metric_types},
        recorded_exprs={v.name: v.expr for v in views if v.kind == "record" and v.ast is not None},
        scope_labels=settings.scope_labels,
        max_range_seconds=parse_duration(settings.max_range),
    )
    return views, ctx


def lint_rules(rules: Sequence[RuleView], ctx: Context) -> list[Finding]:
    findings = []
    for check in all_checks():
        for rule, said in check.run(rules, ctx):
            note = as_note(said)
            findings.append(Finding(check.name, rule, note.message, note.severity))
    return findings


@dataclass(frozen=True)
class LintReport:
    """Every finding, and what was read and run to find them (printed with the findings)."""

    findings: list[Finding]
    alerts: int
    records: int
    systems: int
    checks: tuple[str, ...]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.ERROR]

    def lines(self) -> list[str]:
        """What `responder rules lint` prints: every finding, errors first, then the summary."""
        ordered = sorted(self.findings, key=lambda f: f.severity != Severity.ERROR)
        return [str(f) for f in ordered] + [self.summary()]

    def summary(self) -> str:
        warnings = len(self.findings) - len(self.errors)
        return (
            f"{len(self.errors)} error(s), {warnings} warning(s) in {self.alerts} alerts and {self.records} "
            f"recording rules of {self.systems} systems; checks run: {', '.join(self.checks)}"
        )


def lint_report(catalogue: Catalogue, metadata: Mapping[str, MetricType] | None = None) -> LintReport:
    rules, ctx = catalogue_rules(catalogue, metadata)
    return LintReport(
        findings=lint_rules(rules, ctx),
        alerts=sum(1 for r in rules if r.kind == "alert"),
        records=sum(1 for r in rules if r.kind == "record"),
        systems=len(catalogue.systems),
        checks=tuple(c.name for c in all_checks()),
    )


def run_lint(catalogue: Catalogue) -> list[Finding]:
    """Errors only: what fails `responder rules lint`."""
    return lint_report(catalogue).errors
