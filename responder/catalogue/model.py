"""The alert catalogue's types: settings, systems, their SLOs, recording rules and alerts.

Types only: loading and validating the sources is `responder.catalogue.load`'s job, so that
everything that reads a catalogue (the SLO expansion, generator, linter, dashboards) depends on
these types and not on the loader.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from responder.catalogue.metric_types import MetricType
from responder.durations import parse_duration
from responder.targets import Target


@dataclass(frozen=True)
class SeedChange:
    """The seed runbook's expression and why this catalogue does not use it as written."""

    expr: str
    reason: str


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    action: str
    why: str
    summary: str
    description: str
    runbook_url: str
    target: Target | None = None
    labels: dict[str, str] = field(default_factory=dict)
    seed: SeedChange | None = None
    dashboard_url: str = ""
    for_exemption: str | None = None  # why this alert may fire sooner than for_minimum (reviewed)
    annotations: dict[str, str] = field(default_factory=dict)  # beyond the standard ones


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BurnWindow:
    """A long and a short window, and the share of the period's error budget that burning
    for the whole long window would spend; the burn factor follows from that and the period."""

    long: str
    short: str
    budget_spent: Decimal


@dataclass(frozen=True)
class BurnRate:
    severity: str
    windows: tuple[BurnWindow, ...]
    for_: str = "0s"


@dataclass(frozen=True)
class EventsSli:
    """Bad events over all events: plain selectors (rated and summed by the generator, by `by`),
    or sloth-style queries that contain `{{.window}}` and are used as written."""

    errors: str
    total: str
    by: tuple[str, ...] = ()


@dataclass(frozen=True)
class RatioSli:
    """A query that returns the error ratio itself, with `{{.window}}` where the window goes."""

    error_ratio: str


@dataclass(frozen=True)
class LatencySli:
    """Requests slower than `threshold` (a bucket boundary of `histogram`) over all requests."""

    histogram: str
    threshold: str
    selector: str = ""
    by: tuple[str, ...] = ()


Sli = EventsSli | RatioSli | LatencySli


@dataclass(frozen=True)
class Slo:
    """An objective; expanded into sloth-compatible recording rules and burn-rate alerts."""

    name: str
    objective: Decimal
    sli: Sli
    description: str
    action: str
    why: str
    runbook_url: str
    target: Target | None
    period: str = "30d"
    service: str = ""  # sloth_service; the system's name when empty
    slo_id: str = ""  # sloth_slo; the name in kebab case when empty
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    page: bool = True
    ticket: bool = True


@dataclass(frozen=True)
class Settings:
    version: str
    runbook_base_url: str
    grafana_base_url: str
    scrape_interval: str
    for_minimum: dict[str, str]
    burn_rates: dict[str, BurnRate]
    metric_types: dict[str, MetricType] = field(default_factory=dict)  # declared types beat the table
    scope_labels: tuple[str, ...] = ("job", "namespace")  # a selector with one of these is scoped
    max_range: str = "31d"  # the longest range window the retention can serve
    slo_period: str = "30d"  # an SLO's period unless it names its own


@dataclass(frozen=True)
class System:
    """One monitored system: everything generated from one source file."""

    system: str
    title: str
    team: str
    source: Path
    scrape_interval: str
    slos: tuple[Slo, ...]
    recording_rules: tuple[RecordingRule, ...]
    alerts: tuple[Alert, ...]

    @property
    def scrape_seconds(self) -> float:
        return parse_duration(self.scrape_interval)


@dataclass(frozen=True)
class Catalogue:
    root: Path
    settings: Settings
    systems: tuple[System, ...]

    def system(self, name: str) -> System:
        for system in self.systems:
            if system.system == name:
                return system
        raise KeyError(name)
