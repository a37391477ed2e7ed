"""The engine: turns journaled notifications into decisions and runs the planned steps.

Ingest splits each notification into alerts and applies them to alert instances, keyed by
(fingerprint, startsAt), inside one transaction per notification, so that a crash either
applied all of a notification or none of it. The rules that make mutating actions run at most
once per instance live in `apply_alert`:

- an instance is planned once, when first seen firing (the journal also refuses duplicate
  step keys);
- repeats (group_interval, repeat_interval, retries, HA replicas) only touch it;
- a firing that arrives after the instance resolved is stale (an HA replica can deliver
  firing, resolved, firing) and is ignored: a genuinely new firing has a new startsAt.

Remediation and escalation run in separate dispatchers with their own concurrency, so a slow
notifier never delays a remediation.
"""

import asyncio
import contextlib
import hashlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

import orjson

from responder.alerts import Alert, Notification, canonical_time, notification_from
from responder.decision import PlannedStep, decide_firing, decide_resolved, targets_of
from responder.escalation import Notifier
from responder.escalation.ladder import follow_ups
from responder.journal import Instance, Journal, Step, StepResult, StoredNotification, Transaction
from responder.metrics import Metrics
from responder.policy import Policy
from responder.remediation import Remediator
from responder.targets import Target
from responder.vocabulary import MUTATING

log = logging.getLogger("responder.engine")

LEASE_SECONDS = 300.0
STEP_TIMEOUT_SECONDS = 120.0
INGEST_BATCH = 100  # notifications read per round
INGEST_ALERTS_PER_TRANSACTION = 100  # keeps a transaction short so webhook appends never wait long
IDLE_POLL_SECONDS = 1.0
TOUCH_SECONDS = 60.0  # how stale last_seen may get before a repeat updates it


@dataclass
class Applied:
    """What ingesting one notification did, for metrics and logs."""

    alerts: list[tuple[str, str]] = field(default_factory=list)  # (action, status) transitions
    stale: int = 0
    refusals: list[str] = field(default_factory=list)
    steps: int = 0


def backoff(attempt: int, base: float = 1.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter: spreads retries of a shared outage apart."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


def _alert_of(instance: Instance, status: str) -> Alert:
    return Alert(instance.fingerprint, instance.starts_at, status, instance.labels, instance.annotations)


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


def apply_alert(
    tx: Transaction,
    policy: Policy,
    alert: Alert,
    instance: Instance | None,
    nid: int,
    correlation: str,
    now: float,
    applied: Applied,
) -> Instance:
    """Apply one alert's own status to its instance: the identity and ordering rules."""
    steps: tuple[PlannedStep, ...] = ()
    if instance is None:
        instance = tx.insert_instance(alert, now)
        if alert.status == "firing":
            keys = [t.key for t in targets_of(alert, policy)]
            window, cap = policy.breaker_window_seconds, policy.breaker_max_mutations
            decision = decide_firing(alert, policy, tx.guard_state(sorted(MUTATING), keys, window, now, cap), now)
            tx.add_event(instance, nid, "firing", decision.as_dict(), now)
            applied.alerts.append((decision.action, "firing"))
            applied.refusals += [r.guard for r in decision.refusals]
            steps = decision.steps
        else:
            note = {"note": "resolve for an instance never seen firing"}
            tx.add_event(instance, nid, "resolved_unseen", note, now)
            applied.alerts.append(("NOTIFY_ONLY", "resolved"))
    elif alert.status == "firing" and instance.status == "resolved":
        tx.add_event(instance, nid, "stale_firing_ignored", {"note": "firing arrived after resolve"}, now)
        applied.stale += 1
    elif alert.status == instance.status:  # a repeat: keep last_seen roughly current, cheaply
        if now - instance.last_seen >= TOUCH_SECONDS:
            tx.touch(instance, now)
            instance = replace(instance, last_seen=now)
    else:
        tx.set_status(instance, "resolved", now)
        instance = replace(instance, status="resolved", last_seen=now)
        rungs, remediations = tx.stop_pending(instance, now)
        frozen = [Target(ns, name) for ns, name in tx.held(instance, "frozen")]
        decision = decide_resolved(
            _alert_of(instance, "resolved"), policy, tx.notified_channels(instance), frozen, remediations
        )
        detail = {**decision.as_dict(), "ladder_cancelled": rungs, "remediations_cancelled": remediations}
        tx.add_event(instance, nid, "resolved", detail, now)
        applied.alerts.append((decision.action, "resolved"))
        steps = decision.steps
    applied.steps += tx.add_steps(instance, steps, now, correlation)
    return instance


def apply_notification(
    tx: Transaction, policy: Policy, stored: StoredNotification, notification: Notification, now: float
) -> Applied:
    """Apply every alert of one notification; instances are looked up in one query."""
    applied = Applied()
    alerts = list(notification.alerts)
    if notification.truncated_alerts:
        alerts.append(truncation_alert(notification))
    known = tx.instances([(a.fingerprint, a.starts_at) for a in alerts])
    for alert in alerts:
        key = (alert.fingerprint, alert.starts_at)
        correlation = f"{stored.correlation_id}/{alert.fingerprint}"
        known[key] = apply_alert(tx, policy, alert, known.get(key), stored.id, correlation, now, applied)
    return applied


def _chunks(
    parsed: list[tuple[StoredNotification, Notification]],
) -> list[list[tuple[StoredNotification, Notification]]]:
    """Whole notifications, cut into transactions of about INGEST_ALERTS_PER_TRANSACTION alerts."""
    chunks: list[list[tuple[StoredNotification, Notification]]] = [[]]
    size = 0
    for item in parsed:
        if chunks[-1] and size + len(item[1].alerts) > INGEST_ALERTS_PER_TRANSACTION:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += len(item[1].alerts)
    return [c for c in chunks if c]


class Engine:
    def __init__(
        self,
        journal: Journal,
        policy: Policy,
        remediator: Remediator,
        notifier: Notifier,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.journal = journal
        self.policy = policy
        self.remediator = remediator
        self.notifier = notifier
        self.metrics = metrics
        self.clock = clock
        self._wake = {kind: asyncio.Event() for kind in ("ingest", "remediation", "escalation")}
        self._tasks: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Task[None]] = set()

    def wake(self, kind: str = "ingest") -> None:
        self._wake[kind].set()

    async def start(self) -> None:
        workers = {"remediation": self.policy.remediation_workers, "escalation": self.policy.escalation_workers}
        self._tasks = [
            asyncio.create_task(self._ingest_loop(), name="ingest"),
            asyncio.create_task(self._maintenance(), name="maintenance"),
            *(
                asyncio.create_task(self._dispatch(kind, workers[kind], runner), name=kind)
                for kind, runner in self._runners().items()
            ),
        ]

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop claiming, let in-flight steps finish for `grace_seconds`; the rest resume at start."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._running:
            _, pending = await asyncio.wait(self._running, timeout=grace_seconds)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _sleep(self, kind: str, seconds: float) -> None:
        event = self._wake[kind]
        # asyncio.timeout, not wait_for: on 3.11, wait_for swallows a cancellation that arrives as the
        # event fires, and stop() would then wait forever for a dispatcher that never ends.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(seconds, 0.0)):
                await event.wait()
        event.clear()

    # --- ingest ---------------------------------------------------------------------------

    async def ingest_once(self) -> int:
        """Apply every journaled notification not yet applied, a batch per transaction."""
        batch = await self.journal.unprocessed(INGEST_BATCH)
        if not batch:
            return 0
        now = self.clock()
        parsed: list[tuple[StoredNotification, Notification]] = []
        broken: list[StoredNotification] = []
        for stored in batch:
            try:
                parsed.append((stored, notification_from(orjson.loads(stored.body))))
            except (ValueError, KeyError, TypeError) as exc:
                # Validated before it was accepted: only a format change between versions lands here.
                log.error(
                    "journaled notification no longer parses", extra={"notification": stored.id, "error": str(exc)}
                )
                broken.append(stored)

        if broken:
            await self.journal.transact(lambda tx: tx.mark_processed([s.id for s in broken], now))
        for chunk in _chunks(parsed):

            def apply(tx: Transaction, chunk: list[tuple[StoredNotification, Notification]] = chunk) -> list[Applied]:
                applied = [apply_notification(tx, self.policy, stored, n, now) for stored, n in chunk]
                tx.mark_processed([stored.id for stored, _ in chunk], now)
                return applied

            for (stored, notification), applied in zip(chunk, await self.journal.transact(apply), strict=True):
                self._account(stored, notification, applied)
        self.wake("remediation")
        self.wake("escalation")
        self.metrics.backlog.set(await self.journal.refresh_backlog())
        return len(batch)

    def _account(self, stored: StoredNotification, notification: Notification, applied: Applied) -> None:
        for action, status in applied.alerts:
            self.metrics.alerts.labels(action, status).inc()
        for guard in applied.refusals:
            self.metrics.refusals.labels(guard).inc()
        self.metrics.stale.inc(applied.stale)
        self.metrics.truncated.inc(notification.truncated_alerts)
        if notification.truncated_alerts:
            log.warning(
                "alertmanager truncated alerts",
                extra={"correlation_id": stored.correlation_id, "truncated": notification.truncated_alerts},
            )
        if applied.alerts or applied.stale:
            log.info(
                "notification applied",
                extra={
                    "correlation_id": stored.correlation_id,
                    "alerts": len(notification.alerts),
                    "transitions": len(applied.alerts),
                    "stale": applied.stale,
                    "steps": applied.steps,
                    "refusals": applied.refusals,
                },
            )

    async def _ingest_loop(self) -> None:
        while True:
            try:
                if await self.ingest_once():
                    continue
            except Exception:
                log.exception("ingest failed; retrying")
            await self._sleep("ingest", IDLE_POLL_SECONDS)

    # --- steps ----------------------------------------------------------------------------

    async def drain(self) -> None:
        """Ingest everything, then run every step due now to completion, remediation first.

        For `responder replay` and tests; the service runs steps through the dispatchers.
        """
        while await self.ingest_once():
            pass
        for kind, runner in self._runners().items():
            while steps := await self.journal.claim_steps(kind, 100, self.clock(), LEASE_SECONDS):
                await asyncio.gather(*(self._run_step(kind, s, runner) for s in steps))

    def _runners(self) -> dict[str, Callable[[Step], Awaitable[StepResult]]]:
        return {"remediation": self.remediator.remediate, "escalation": self.notifier.notify}

    async def _dispatch(self, kind: str, concurrency: int, runner: Callable[[Step], Awaitable[StepResult]]) -> None:
        running: set[asyncio.Task[None]] = set()
        while True:
            try:
                free = concurrency - len(running)
                steps = await self.journal.claim_steps(kind, free, self.clock(), LEASE_SECONDS) if free else []
                for step in steps:
                    task = asyncio.create_task(self._run_step(kind, step, runner))
                    running.add(task)
                    self._running.add(task)
                    task.add_done_callback(running.discard)
                    task.add_done_callback(self._running.discard)
                    task.add_done_callback(lambda _t: self.wake(kind))
                if steps:
                    continue
                if not running:
                    self.metrics.backlog.set(await self.journal.refresh_backlog())
                due = await self.journal.next_due(kind)
                wait = IDLE_POLL_SECONDS if due is None else min(IDLE_POLL_SECONDS, due - self.clock())
            except Exception:
                log.exception("claiming steps failed; retrying", extra={"kind": kind})
                wait = IDLE_POLL_SECONDS
            await self._sleep(kind, wait)

    async def _run_step(self, kind: str, step: Step, runner: Callable[[Step], Awaitable[StepResult]]) -> None:
        started = self.clock()
        try:
            async with asyncio.timeout(STEP_TIMEOUT_SECONDS):
                result = await runner(step)
        except TimeoutError:
            result = StepResult("retry", {"error": f"no answer within {STEP_TIMEOUT_SECONDS:g}s"})
        except Exception as exc:  # a bug or an unexpected client error: retried, then escalated
            log.exception("step raised", extra={"correlation_id": step.correlation_id, "step": step.id})
            result = StepResult("retry", {"error": f"{type(exc).__name__}: {exc}"})
        now = self.clock()
        retry_at = None
        if result.status == "retry":
            if step.attempts < self.policy.max_attempts:
                retry_at = now + (result.retry_after if result.retry_after is not None else backoff(step.attempts))
            else:
                result = replace(
                    result, status="failed", detail={**result.detail, "gave_up_after_attempts": step.attempts}
                )
        # A remediation that failed for good is escalated in the same transaction that records it,
        # so that no crash in between can lose the page.
        then = self._failure_escalation(step, result) if result.status == "failed" and kind == "remediation" else []
        then += follow_ups(kind, step, result, self.policy)  # thread updates and channel fallbacks
        try:
            await self.journal.finish_step(step, result, started, now, retry_at, then)
        except Exception:
            # The step stays `running`; its lease runs out and it is claimed again.
            log.exception("recording a step outcome failed", extra={"correlation_id": step.correlation_id})
            return
        self._record(kind, step, result, now - started)
        if then:
            self.wake("escalation")

    def _record(self, kind: str, step: Step, result: StepResult, seconds: float) -> None:
        self.metrics.steps.labels(kind, step.name, result.status).inc()
        if refused := result.detail.get("refused"):  # guards that only execution can apply: RBAC, selectors
            self.metrics.refusals.labels(refused["guard"]).inc()
        self.metrics.step_seconds.labels(kind).observe(seconds)
        if kind == "escalation" and result.status != "retry":
            outcome = "delivered" if result.status == "succeeded" else "failed"
            self.metrics.deliveries.labels(step.name, outcome).inc()
        quiet = kind == "escalation" and result.status == "succeeded"  # the audit API has these
        log.log(
            logging.DEBUG if quiet else logging.INFO,
            "step finished",
            extra={
                "correlation_id": step.correlation_id,
                "kind": kind,
                "step_name": step.name,
                "attempt": step.attempts,
                "status": result.status,
                "seconds": round(seconds, 4),
            },
        )

    def _failure_escalation(self, step: Step, result: StepResult) -> list[PlannedStep]:
        """A remediation that failed for good is told to every channel of its ladder at once."""
        inst = step.instance
        channels = sorted({c for rung in self.policy.ladder_for(inst.severity, inst.action) for c in rung.channels})
        reason = f"{step.name} on {step.params.get('target')} failed: {result.detail}"
        return [
            PlannedStep(
                "escalation",
                c,
                0.0,
                {"event": "remediation_failed", "reason": reason},
                f"escalation:remediation_failed:{step.id}:{c}",
            )
            for c in channels
        ]

    async def _maintenance(self) -> None:
        while True:
            try:
                pruned = await self.journal.prune(self.clock() - self.policy.retention_seconds)
                if pruned:
                    log.info("pruned journal", extra={"instances": pruned})
                self.metrics.backlog.set(await self.journal.refresh_backlog())
            except Exception:
                log.exception("journal maintenance failed")
            await asyncio.sleep(60)
