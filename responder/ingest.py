"""Ingest: the rules that apply a notification's alerts to alert instances, inside a transaction.

An instance is keyed by (fingerprint, startsAt). A notification is applied in one transaction,
so that a crash either applied all of it or none of it. The rules that make mutating actions
run at most once per instance live in `apply_alert`:

- an instance is planned once, when first seen firing (the journal also refuses duplicate
  step keys);
- repeats (group_interval, repeat_interval, retries, HA replicas) only touch it;
- a firing that arrives after the instance resolved is stale (an HA replica can deliver
  firing, resolved, firing) and is ignored: a genuinely new firing has a new startsAt.

The rules are pure logic over a `Transaction`: the engine decides when they run and starts the
steps they planned; `Accounting` counts and logs what each notification did. Most alerts are
repeats (every group_interval, Alertmanager sends a group's alerts again), so
`apply_notification` settles a repeat seen lately before any other call.
"""

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from responder.alerts import Alert, Notification, canonical_time, parse_notification
from responder.decision import decide_firing, decide_resolved, targets_of
from responder.journal import GuardQuery, Instance, StoredNotification, Transaction
from responder.metrics import Children, Metrics
from responder.planner import PlannedStep
from responder.policy import Policy
from responder.targets import Target
from responder.vocabulary import MUTATING, Action, HoldState, TimelineEvent

log = logging.getLogger("responder.engine")

ALERTS_PER_TRANSACTION = 100  # keeps a transaction short so webhook appends never wait long
TOUCH_SECONDS = 60.0  # how stale last_seen may get before a repeat updates it
_MUTATING = tuple(sorted(MUTATING))  # what the breaker counts, in the order the journal is asked


@dataclass
class Applied:
    """What ingesting one notification did, for metrics and logs."""

    alerts: list[tuple[str, str]] = field(default_factory=list)  # (action, status) transitions
    stale: int = 0
    refusals: list[str] = field(default_factory=list)
    steps: int = 0
    # Steps planned to run now, by kind: a plain dict, made for every notification, repeats too.
    due: dict[str, int] = field(default_factory=dict)


Parsed = list[tuple[StoredNotification, Notification]]


def repeat_seen_lately(alert: Alert, instance: Instance, now: float) -> bool:
    """The same status again, with last_seen no older than TOUCH_SECONDS: nothing to record."""
    return alert.status == instance.status and now - instance.last_seen < TOUCH_SECONDS


def truncation_alert(notification: Notification) -> Alert:
    """A synthetic alert for `truncatedAlerts > 0`: one instance per group and first alert."""
    digest = hashlib.sha256(notification.group_key.encode()).hexdigest()[:16]
    starts = min((a.starts_at for a in notification.alerts), default=canonical_time("1970-01-01T00:00:00Z"))
    return Alert(
        fingerprint=f"truncated{digest}",
        starts_at=starts,
        status="firing",
        labels={"alertname": "ResponderNotificationTruncated", "severity": "warning"},
        annotations={
            "summary": "Alertmanager dropped alerts before sending them to the responder",
            "description": (
                f"{notification.truncated_alerts} alert(s) of group {notification.group_key!r} were "
                "truncated by Alertmanager (max_alerts in webhook_configs); raise max_alerts or "
                "split the route so that every alert reaches the responder."
            ),
        },
    )


def alerts_of(notification: Notification) -> list[Alert]:
    """The alerts applied for a notification: its own, and the truncation alert if it has one."""
    alerts = list(notification.alerts)
    if notification.truncated_alerts:
        alerts.append(truncation_alert(notification))
    return alerts


def guard_query(targets: Sequence[Target], policy: Policy) -> GuardQuery:
    """What the guards of a first firing on `targets` ask the journal."""
    return GuardQuery(_MUTATING, [t.key for t in targets], policy.breaker_window_seconds, policy.breaker_max_mutations)


class NotificationReads:
    """What `apply_notification` will read for one notification: the journal's `ReadAhead`.
    Made on the webhook's path for every notification, so it computes nothing until asked."""

    __slots__ = ("_alerts", "_notification", "_policy")

    def __init__(self, notification: Notification, policy: Policy) -> None:
        self._notification, self._policy = notification, policy
        self._alerts: list[Alert] | None = None

    def keys(self) -> list[tuple[str, str]]:
        self._alerts = alerts_of(self._notification)
        return [(a.fingerprint, a.starts_at) for a in self._alerts]

    def guards(self, index: int) -> GuardQuery | None:
        alert = (self._alerts or alerts_of(self._notification))[index]
        if alert.status != "firing":
            return None
        return guard_query(targets_of(alert, self._policy), self._policy)


def apply_alert(
    tx: Transaction,
    policy: Policy,
    alert: Alert,
    instance: Instance | None,
    stored: StoredNotification,
    now: float,
    applied: Applied,
) -> Instance:
    """Apply one alert's own status to its instance: the identity and ordering rules."""
    nid = stored.id
    steps: Sequence[PlannedStep] = ()
    if instance is None:
        instance = tx.insert_instance(alert, now)
        if alert.status == "firing":
            targets = targets_of(alert, policy)
            query = guard_query(targets, policy)
            guards = tx.guard_state(query.mutating, query.targets, query.window_seconds, now, query.cap)
            decision = decide_firing(alert, targets, policy, guards, now)
            tx.add_event(instance, nid, TimelineEvent.FIRING, decision.as_dict(), now)
            applied.alerts.append((decision.action, "firing"))
            applied.refusals += [r.guard for r in decision.refusals]
            steps = decision.steps
        else:
            note = {"note": "resolve for an instance never seen firing"}
            tx.add_event(instance, nid, TimelineEvent.RESOLVED_UNSEEN, note, now)
            applied.alerts.append((Action.NOTIFY_ONLY, "resolved"))
    elif alert.status == "firing" and instance.status == "resolved":
        note = {"note": "firing arrived after resolve"}
        tx.add_event(instance, nid, TimelineEvent.STALE_FIRING_IGNORED, note, now)
        applied.stale += 1
    elif alert.status == instance.status:  # a repeat: keep last_seen roughly current, cheaply
        if not repeat_seen_lately(alert, instance, now):
            instance = tx.touch(instance, now)
    else:
        instance = tx.set_status(instance, "resolved", now)
        rungs, remediations = tx.stop_pending(instance, now)
        freeze, stop = instance.action == Action.FREEZE_DEPLOYMENTS, instance.action == Action.EMERGENCY_STOP
        frozen = [Target(ns, name) for ns, name in tx.held(instance, HoldState.FROZEN)] if freeze else []
        freezing = freeze and tx.running(instance, Action.FREEZE_DEPLOYMENTS)
        stopped = stop and bool(tx.held(instance, HoldState.STOPPED) or tx.running(instance, Action.EMERGENCY_STOP))
        notified = tx.notified_channels(instance)
        decision = decide_resolved(instance.action, policy, notified, frozen, remediations, freezing, stopped)
        detail = {**decision.as_dict(), "ladder_cancelled": rungs, "remediations_cancelled": remediations}
        tx.add_event(instance, nid, TimelineEvent.RESOLVED, detail, now)
        applied.alerts.append((decision.action, "resolved"))
        steps = decision.steps
    if steps:
        applied.steps += tx.add_steps(instance, steps, now, f"{stored.correlation_id}/{alert.fingerprint}")
        for step in steps:
            if step.delay_seconds <= 0:
                applied.due[step.kind] = applied.due.get(step.kind, 0) + 1
    return instance


def apply_notification(
    tx: Transaction, policy: Policy, stored: StoredNotification, notification: Notification, now: float
) -> Applied:
    """Apply every alert of one notification; instances are looked up in one query."""
    applied = Applied()
    alerts = alerts_of(notification)
    keys = [(a.fingerprint, a.starts_at) for a in alerts]
    known = tx.instances(keys)
    for alert, key in zip(alerts, keys, strict=True):
        instance = known.get(key)
        if instance is not None and repeat_seen_lately(alert, instance, now):
            continue  # settled here, not in apply_alert: a repeat is the common case
        known[key] = apply_alert(tx, policy, alert, instance, stored, now, applied)
    return applied


class Accounting:
    """Counts and logs what applying each notification did."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._alerts, self._refusals = Children(metrics.alerts), Children(metrics.refusals)

    def record(self, correlation_id: str, notification: Notification, applied: Applied) -> None:
        for action, status in applied.alerts:
            self._alerts(action, status).inc()
        for guard in applied.refusals:
            self._refusals(guard).inc()
        if applied.stale:  # an increment takes a lock: a repeat, the common case, needs none
            self._metrics.stale.inc(applied.stale)
        if notification.truncated_alerts:
            self._metrics.truncated.inc(notification.truncated_alerts)
            log.warning(
                "alertmanager truncated alerts",
                extra={"correlation_id": correlation_id, "truncated": notification.truncated_alerts},
            )
        if applied.alerts or applied.stale:
            log.info(
                "notification applied",
                extra={
                    "correlation_id": correlation_id,
                    "alerts": len(notification.alerts),
                    "transitions": len(applied.alerts),
                    "stale": applied.stale,
                    "steps": applied.steps,
                    "refusals": applied.refusals,
                },
            )


def parse_stored(batch: Sequence[StoredNotification]) -> tuple[Parsed, list[StoredNotification]]:
    """The journaled notifications of `batch` parsed, and those that no longer parse. They were
    validated before they were accepted: only a format change between versions breaks one."""
    parsed: Parsed = []
    broken: list[StoredNotification] = []
    for stored in batch:
        try:
            parsed.append((stored, parse_notification(stored.body)))
        except ValueError as exc:
            log.error("journaled notification no longer parses", extra={"notification": stored.id, "error": str(exc)})
            broken.append(stored)
    return parsed, broken


def chunks(parsed: Parsed) -> list[Parsed]:
    """Whole notifications, cut into transactions of about ALERTS_PER_TRANSACTION alerts."""
    cut: list[Parsed] = [[]]
    size = 0
    for item in parsed:
        if cut[-1] and size + len(item[1].alerts) > ALERTS_PER_TRANSACTION:
            cut.append([])
            size = 0
        cut[-1].append(item)
        size += len(item[1].alerts)
    return [c for c in cut if c]
