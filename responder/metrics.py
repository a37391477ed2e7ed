"""The responder's own metrics, on their own registry.

These names are a contract with rules/src/responder.yaml (the self-monitoring alerts). Every
label combination that can occur is created at 0 at start-up: increase() cannot see a
counter's first step when its series appears already at 1.
"""

from dataclasses import dataclass
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

M = TypeVar("M", Counter, Gauge, Histogram)

NOTIFICATION_OUTCOMES = (
    "accepted",
    "unauthorized",
    "invalid",
    "too_large",
    "unsupported_media_type",
    "overloaded",
    "failed",
)
ACTION_LABELS = ("EMERGENCY_STOP", "EMERGENCY_HOOK", "FREEZE_DEPLOYMENTS", "INVESTIGATE", "UNFREEZE", "NOTIFY_ONLY")
STEP_OUTCOMES = ("succeeded", "failed", "retry")
CHANNELS = ("slack", "pagerduty", "sms", "console")
DELIVERY_OUTCOMES = ("delivered", "failed")
HOLD_STATES = ("frozen", "stopped")
ACK_SOURCES = ("api", "slack", "pagerduty")
GUARDS = (
    "disabled",
    "no_target",
    "max_targets",
    "protected_namespace",
    "allow_list",
    "cooldown",
    "circuit_breaker",
    "rbac",
)


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
    )
    for outcome in NOTIFICATION_OUTCOMES:
        metrics.notifications.labels(outcome)
    for action in ACTION_LABELS:
        for status in ("firing", "resolved"):
            metrics.alerts.labels(action, status)
        for outcome in STEP_OUTCOMES:
            metrics.steps.labels("remediation", action, outcome)
    for channel in CHANNELS:
        for outcome in STEP_OUTCOMES:
            metrics.steps.labels("escalation", channel, outcome)
        for outcome in DELIVERY_OUTCOMES:
            metrics.deliveries.labels(channel, outcome)
    for kind in ("remediation", "escalation"):
        metrics.step_seconds.labels(kind)
    for guard in GUARDS:
        metrics.refusals.labels(guard)
    for state in HOLD_STATES:
        metrics.held.labels(state)
    for via in ACK_SOURCES:
        metrics.ack_seconds.labels(via)
    return metrics


class Children(Generic[M]):
    """A metric's children by label values, each looked up once: labels() takes a lock and builds
    its key on every call, which on the hot path cost more than the increments."""

    def __init__(self, metric: M) -> None:
        self._metric: M = metric
        self._children: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child
