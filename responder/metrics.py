"""The responder's own metrics, on their own registry.

These names are a contract with rules/src/responder.yaml (the self-monitoring alerts). Every
label combination that can occur is created at 0 at start-up: increase() cannot see a
counter's first step when its series appears already at 1. The label values are the members of
the vocabularies in `responder.vocabulary`, so a new member is exposed without a change here.
"""

from dataclasses import dataclass
from typing import Generic, TypeVar, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from responder.alerts import Status
from responder.vocabulary import (
    AckSource,
    Action,
    AttemptOutcome,
    Channel,
    DeliveryOutcome,
    Guard,
    HoldState,
    NotificationOutcome,
    Reading,
    Reconciled,
    StepKind,
)

M = TypeVar("M", Counter, Gauge, Histogram)


@dataclass(frozen=True)
class Metrics:
    registry: CollectorRegistry
    notifications: Counter
    alerts: Counter
    stale: Counter
    truncated: Counter
    steps: Counter
    step_seconds: Histogram
    deliveries: Counter
    refusals: Counter
    backlog: Gauge
    held: Gauge
    ack_seconds: Histogram
    reconciliations: Counter
    reconciled: Counter


def create_metrics() -> Metrics:
    registry = CollectorRegistry()
    metrics = Metrics(
        registry=registry,
        notifications=Counter(
            "responder_notifications",
            "Webhook notifications by how they were answered.",
            ["outcome"],
            registry=registry,
        ),
        alerts=Counter(
            "responder_alerts",
            "Alert state changes seen, by action and new status.",
            ["action", "status"],
            registry=registry,
        ),
        stale=Counter(
            "responder_stale_alerts",
            "Stale firing states ignored after a resolve (HA replicas).",
            registry=registry,
        ),
        truncated=Counter(
            "responder_truncated_alerts",
            "Alerts Alertmanager dropped before sending (truncatedAlerts).",
            registry=registry,
        ),
        steps=Counter(
            "responder_steps",
            "Step attempts by kind, action or channel, and outcome.",
            ["kind", "action", "outcome"],
            registry=registry,
        ),
        step_seconds=Histogram(
            "responder_step_duration_seconds",
            "Time one step attempt took.",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        ),
        deliveries=Counter(
            "responder_escalation_deliveries",
            "Escalation deliveries by channel and outcome.",
            ["channel", "outcome"],
            registry=registry,
        ),
        refusals=Counter(
            "responder_guard_refusals",
            "Remediations a guard refused, by guard.",
            ["reason"],
            registry=registry,
        ),
        backlog=Gauge(
            "responder_journal_backlog",
            "Accepted work not yet finished.",
            registry=registry,
        ),
        held=Gauge(
            "responder_held_deployments",
            "Deployments an action holds now: frozen, or stopped at zero until restored.",
            ["state"],
            registry=registry,
        ),
        ack_seconds=Histogram(
            "responder_acknowledgement_seconds",
            "Time from an alert's start to its acknowledgement, by where it was acknowledged.",
            ["via"],
            buckets=(30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400),
            registry=registry,
        ),
        reconciliations=Counter(
            "responder_reconciliations",
            "Rounds of reading Alertmanager back, by how the reading went.",
            ["reading"],
            registry=registry,
        ),
        reconciled=Counter(
            "responder_reconciled_alerts",
            "Alert instances only reconciliation caught (the push path missed them), by what it did.",
            ["kind"],
            registry=registry,
        ),
    )
    for outcome in NotificationOutcome:
        metrics.notifications.labels(outcome)
    for reading in Reading:
        metrics.reconciliations.labels(reading)
    for reconciled in Reconciled:
        metrics.reconciled.labels(reconciled)
    for action in Action:
        for status in get_args(Status):
            metrics.alerts.labels(action, status)
        for attempt in AttemptOutcome:
            metrics.steps.labels(StepKind.REMEDIATION, action, attempt)
    for channel in Channel:
        for attempt in AttemptOutcome:
            metrics.steps.labels(StepKind.ESCALATION, channel, attempt)
        for delivery in DeliveryOutcome:
            metrics.deliveries.labels(channel, delivery)
    for kind in StepKind:
        metrics.step_seconds.labels(kind)
    for guard in Guard:
        metrics.refusals.labels(guard)
    for state in HoldState:
        metrics.held.labels(state)
    for via in AckSource:
        metrics.ack_seconds.labels(via)
    return metrics


class Children(Generic[M]):
    """A metric's children by label values, each looked up once: labels() takes a lock and builds
    its key on every call, and the hot path increments the same few children again and again."""

    def __init__(self, metric: M) -> None:
        self._metric: M = metric
        self._children: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child
