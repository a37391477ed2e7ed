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

The webhook's notification is applied in the transaction that journals it (`accept`), and the
steps it plans due now are leased as they are inserted, as far as their pool has free workers,
and start at once: a second transaction to ingest, a third to claim, and the waits between them
were most of a notification's cost and of its time to its first remediation. The ingest loop
applies what that path left: notifications from before a restart, and any accepted while older
ones waited, so that notifications are always applied in the order they arrived.

Remediation and escalation run in separate worker pools with their own concurrency, so a slow
notifier never delays a remediation. A worker is held for the call to the cluster or provider,
not for recording its outcome. The dispatchers claim the steps nobody claimed at once: delayed
rungs, retries, and what did not fit.
"""

import asyncio
import contextlib
import hashlib
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace

from responder.alerts import Alert, Notification, Status, canonical_time, parse_notification
from responder.decision import PlannedStep, decide_firing, decide_resolved, targets_of, unfreeze_steps
from responder.escalation import Notifier
from responder.escalation.ladder import follow_ups
from responder.journal import STEP_KINDS, Instance, Journal, Step, StepResult, StoredNotification, Transaction
from responder.metrics import Children, Metrics
from responder.policy import Policy
from responder.remediation import Remediator
from responder.targets import Target
from responder.vocabulary import MUTATING
from responder.workers import Workers

log = logging.getLogger("responder.engine")

LEASE_SECONDS = 300.0
INGEST_BATCH = 100  # notifications read per round
INGEST_ALERTS_PER_TRANSACTION = 100  # keeps a transaction short so webhook appends never wait long
IDLE_POLL_SECONDS = 1.0
TOUCH_SECONDS = 60.0  # how stale last_seen may get before a repeat updates it
BACKLOG_REFRESH_SECONDS = 0.2


@dataclass
class Applied:
    """What ingesting one notification did, for metrics and logs."""

    alerts: list[tuple[str, str]] = field(default_factory=list)  # (action, status) transitions
    stale: int = 0
    refusals: list[str] = field(default_factory=list)
    steps: int = 0
    # Steps planned to run now, by kind. A dict, not a Counter: one is made per notification,
    # and a Counter took as long to make as the rest of a repeat's Applied.
    due: dict[str, int] = field(default_factory=dict)


# Per notification; the steps they made due, and those claimed, by kind.
Ingested = tuple[list[Applied], Counter[str], dict[str, list[Step]]]


def _repeat_seen_lately(alert: Alert, instance: Instance, now: float) -> bool:
    """The same status again, with last_seen no older than TOUCH_SECONDS: nothing to record.
    Most alerts are these: every group_interval, Alertmanager sends a group's alerts again."""
    return alert.status == instance.status and now - instance.last_seen < TOUCH_SECONDS


def backoff(attempt: int, base: float = 1.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter: spreads retries of a shared outage apart."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


def _alert_of(instance: Instance, status: Status) -> Alert:
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
    stored: StoredNotification,
    now: float,
    applied: Applied,
) -> Instance:
    """Apply one alert's own status to its instance: the identity and ordering rules."""
    nid = stored.id
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
        if not _repeat_seen_lately(alert, instance, now):
            instance = tx.touch(instance, now)
    else:
        instance = tx.set_status(instance, "resolved", now)
        rungs, remediations = tx.stop_pending(instance, now)
        frozen = [Target(ns, name) for ns, name in tx.held(instance, "frozen")]
        freezing = instance.action == "FREEZE_DEPLOYMENTS" and tx.running(instance, "FREEZE_DEPLOYMENTS")
        decision = decide_resolved(
            _alert_of(instance, "resolved"), policy, tx.notified_channels(instance), frozen, remediations, freezing
        )
        detail = {**decision.as_dict(), "ladder_cancelled": rungs, "remediations_cancelled": remediations}
        tx.add_event(instance, nid, "resolved", detail, now)
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
    alerts = list(notification.alerts)
    if notification.truncated_alerts:
        alerts.append(truncation_alert(notification))
    keys = [(a.fingerprint, a.starts_at) for a in alerts]
    known = tx.instances(keys)
    for alert, key in zip(alerts, keys, strict=True):
        instance = known.get(key)
        if instance is not None and _repeat_seen_lately(alert, instance, now):
            continue  # decided here, not in apply_alert: that call was most of a repeat's cost
        known[key] = apply_alert(tx, policy, alert, instance, stored, now, applied)
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
        self._wake = {kind: asyncio.Event() for kind in ("ingest", *STEP_KINDS)}
        self._tasks: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._workers = {
            "remediation": Workers(policy.remediation_workers),
            "escalation": Workers(policy.escalation_workers),
        }
        self._backlog_counted = -BACKLOG_REFRESH_SECONDS
        self._alerts, self._refusals = Children(metrics.alerts), Children(metrics.refusals)
        self._steps, self._step_seconds = Children(metrics.steps), Children(metrics.step_seconds)
        self._deliveries = Children(metrics.deliveries)

    def wake(self, kind: str = "ingest") -> None:
        self._wake[kind].set()

    async def accept(
        self, body: bytes, correlation_id: str, notification: Notification, received_at: float | None = None
    ) -> int:
        """The webhook's path: journal `body`, apply `notification` (the webhook's own parse of it)
        and lease the steps it made due, in one transaction; then start them. Returns the
        notification's id once it is on disk; raises when the journal could not store it.
        `received_at`, when its request arrived, is the notification's time (by default, now).

        The steps are started by the journal as it settles the commit (`then`), not after the
        await: a caller that goes away (a client gone, a shutdown timeout) does not stop a queued
        transaction, and what it claimed would otherwise never run and keep its workers. A
        shield around the future did the same, at two more turns of the event loop for each
        notification, and a shielded task cost a quarter of a repeat's time."""
        now = self.clock() if received_at is None else received_at
        taken = dict.fromkeys(STEP_KINDS, 0)

        def apply(tx: Transaction, stored: StoredNotification) -> tuple[Applied, dict[str, list[Step]]]:
            self._offer_workers(tx, taken, now)
            applied = apply_notification(tx, self.policy, stored, notification, now)
            return applied, self._take_leased(tx, taken)

        def committed(
            stored: tuple[int, tuple[Applied, dict[str, list[Step]]] | None] | None, error: BaseException | None
        ) -> None:
            # Not stored (or interrupted while committing), or older notifications wait, or applying failed.
            if stored is None or stored[1] is None:
                self._give_back(taken)
                self.wake()
                return
            applied, claimed = stored[1]
            self._start_claimed(claimed, applied.due)
            self._account(correlation_id, notification, applied)

        notification_id, _ = await self.journal.accept(body, correlation_id, now, apply, committed)
        return notification_id

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._ingest_loop(), name="ingest"),
            asyncio.create_task(self._maintenance(), name="maintenance"),
            *(asyncio.create_task(self._dispatch(kind), name=kind) for kind in STEP_KINDS),
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
            await self._refresh_backlog()  # the webhook applies most notifications: recount from here too
            return 0
        now = self.clock()
        parsed: list[tuple[StoredNotification, Notification]] = []
        broken: list[StoredNotification] = []
        for stored in batch:
            try:
                parsed.append((stored, parse_notification(stored.body)))
            except ValueError as exc:
                # Validated before it was accepted: only a format change between versions lands here.
                log.error(
                    "journaled notification no longer parses", extra={"notification": stored.id, "error": str(exc)}
                )
                broken.append(stored)

        if broken:
            await self.journal.transact(lambda tx: tx.mark_processed([s.id for s in broken], now))
        for chunk in _chunks(parsed):
            taken = dict.fromkeys(STEP_KINDS, 0)

            def apply(
                tx: Transaction,
                chunk: list[tuple[StoredNotification, Notification]] = chunk,
                taken: dict[str, int] = taken,
            ) -> Ingested:
                self._offer_workers(tx, taken, now)
                applied = [apply_notification(tx, self.policy, stored, n, now) for stored, n in chunk]
                tx.mark_processed([stored.id for stored, _ in chunk], now)
                due = Counter[str]()
                for result in applied:
                    due.update(result.due)
                return applied, due, self._take_leased(tx, taken)

            try:
                applied, due, claimed = await self.journal.transact(apply)
            except BaseException:
                self._give_back(taken)
                raise
            self._start_claimed(claimed, due)
            for (stored, notification), result in zip(chunk, applied, strict=True):
                self._account(stored.correlation_id, notification, result)
        await self._refresh_backlog()
        return len(batch)

    def _offer_workers(self, tx: Transaction, taken: dict[str, int], now: float) -> None:
        """Before an ingest transaction applies: the steps it makes due now are leased as they are
        inserted, as far as their pool has free workers. Only while the dispatchers run: `drain`
        (replay, tests) runs steps in its own order. A batch that failed runs its operations
        again: what an earlier run took is given back first."""
        self._give_back(taken)
        if self._tasks:
            tx.lease_new({kind: self._workers[kind].free for kind in STEP_KINDS}, now, LEASE_SECONDS)

    def _take_leased(self, tx: Transaction, taken: dict[str, int]) -> dict[str, list[Step]]:
        """After it applied: a worker for each step it leased. Nothing ran in between, so the
        workers offered are still free."""
        claimed = {kind: tx.leased(kind) for kind in STEP_KINDS}
        for kind, steps in claimed.items():
            if steps:  # a repeat leases nothing, and it is the common case
                taken[kind] = self._workers[kind].take(len(steps))
        return claimed

    def _give_back(self, taken: dict[str, int]) -> None:
        for kind, count in taken.items():
            if count:
                self._workers[kind].give(count)
                taken[kind] = 0

    def _start_claimed(self, claimed: dict[str, list[Step]], due: Mapping[str, int]) -> None:
        for kind in STEP_KINDS:  # remediation first: its tasks start before the escalations'
            steps = claimed.get(kind, [])
            self._launch(kind, steps)
            if len(steps) < due.get(kind, 0):  # no worker was free for some: the dispatcher claims them
                self._workers[kind].starved = True
                self.wake(kind)

    def _account(self, correlation_id: str, notification: Notification, applied: Applied) -> None:
        for action, status in applied.alerts:
            self._alerts(action, status).inc()
        for guard in applied.refusals:
            self._refusals(guard).inc()
        if applied.stale:  # an increment takes a lock: a repeat, the common case, needs none
            self.metrics.stale.inc(applied.stale)
        if notification.truncated_alerts:
            self.metrics.truncated.inc(notification.truncated_alerts)
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

    async def _ingest_loop(self) -> None:
        while True:
            try:
                if await self.ingest_once() >= INGEST_BATCH:  # else a new append has woken us
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
        if self._running:  # a started engine: ingest or a dispatcher may have handed steps to workers
            await asyncio.wait(set(self._running))
        for kind, runner in self._runners().items():
            while steps := await self._claim(kind):
                await asyncio.gather(*(self._run_step(kind, s, runner) for s in steps))

    def _runners(self) -> dict[str, Callable[[Step], Awaitable[StepResult]]]:
        return {"remediation": self.remediator.remediate, "escalation": self.notifier.notify}

    async def _claim(self, kind: str) -> list[Step]:
        """Claim as many due steps as there are free workers; each claimed step holds one.

        Workers are counted and taken when the claim runs in its batch, not when it is asked
        for: taken while it waited, they left an accept in the same batch no worker to lease its
        steps with, those steps then waited for the next claim, and that claim took every worker
        again. A batch that failed runs its operations again. A claim whose dispatcher stop()
        cancelled before the claim ran takes nothing: the writer may run it before the
        dispatcher hears of the cancellation, so it asks the task, not the exception. Cancelled
        after it ran (its commit on the way to the disk), what it leased stays leased and is
        handed back when the journal next starts. Every free worker used: more may be due, and a
        worker freeing up wakes the dispatcher."""
        workers = self._workers[kind]
        taken = {kind: 0}
        caller = asyncio.current_task()
        assert caller is not None, "claims are made from a task (a dispatcher, or drain's caller)"
        cancellations = caller.cancelling()  # a count: only one asked after this claim counts

        def claim(tx: Transaction) -> list[Step]:
            self._give_back(taken)
            if caller.cancelling() > cancellations:
                return []
            free = workers.free
            steps = tx.claim(kind, free, self.clock(), LEASE_SECONDS)
            taken[kind] = workers.take(len(steps))
            workers.starved = len(steps) == free
            return steps

        try:
            return await self.journal.transact(claim)
        except BaseException:
            self._give_back(taken)
            raise

    def _launch(self, kind: str, steps: list[Step]) -> None:
        """Run claimed steps, each on the worker its claim took."""
        runner = self._runners()[kind]
        for step in steps:
            task = asyncio.create_task(self._run_step(kind, step, runner))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    def _free(self, kind: str) -> None:
        self._workers[kind].give(1)
        if self._workers[kind].starved:
            self.wake(kind)

    async def _dispatch(self, kind: str) -> None:
        while True:
            try:
                self._launch(kind, await self._claim(kind))
                if self._workers[kind].starved:  # every worker is busy: a finishing step wakes us
                    wait = IDLE_POLL_SECONDS
                else:
                    due = await self.journal.next_due(kind)
                    wait = IDLE_POLL_SECONDS if due is None else min(IDLE_POLL_SECONDS, due - self.clock())
                    if not self._workers[kind].busy:
                        await self._refresh_backlog()
            except Exception:
                log.exception("claiming steps failed; retrying", extra={"kind": kind})
                wait = IDLE_POLL_SECONDS
            await self._sleep(kind, wait)

    async def _refresh_backlog(self) -> None:
        """Recount the backlog at most every BACKLOG_REFRESH_SECONDS: a count per step or per
        ingest round cost more than the steps. In between, appends only add to it, so the
        webhook's overload check errs towards 503, never towards accepting too much."""
        now = time.monotonic()
        if now - self._backlog_counted >= BACKLOG_REFRESH_SECONDS:
            self._backlog_counted = now
            self.metrics.backlog.set(await self.journal.refresh_backlog())

    async def _run_step(self, kind: str, step: Step, runner: Callable[[Step], Awaitable[StepResult]]) -> None:
        started = self.clock()
        try:
            async with asyncio.timeout(self.policy.step_timeout_seconds):
                result = await runner(step)
        except TimeoutError:
            result = StepResult("retry", {"error": f"no answer within {self.policy.step_timeout_seconds:g}s"})
        except Exception as exc:  # a bug or an unexpected client error: retried, then escalated
            log.exception("step raised", extra={"correlation_id": step.correlation_id, "step": step.id})
            result = StepResult("retry", {"error": f"{type(exc).__name__}: {exc}"})
        finally:
            self._free(kind)  # the call is over; recording its outcome needs no worker
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
        unfreeze = self._unfreeze_if_resolved(step, result)
        try:
            await self.journal.finish_step(step, result, started, now, retry_at, then, unfreeze)
        except Exception:
            # The step stays `running`; its lease runs out and it is claimed again.
            log.exception("recording a step outcome failed", extra={"correlation_id": step.correlation_id})
            return
        self._record(kind, step, result, now - started)
        if then:
            self.wake("escalation")
        if unfreeze:
            self.wake("remediation")

    def _unfreeze_if_resolved(self, step: Step, result: StepResult) -> list[PlannedStep]:
        """What a freeze froze, to lift if its alert resolved while the freeze was running: that
        resolve found nothing frozen yet and planned no unfreeze, and the deployments would
        have stayed frozen until a person noticed. Only where the policy unfreezes on resolve."""
        if step.name != "FREEZE_DEPLOYMENTS" or not self.policy.actions[step.name].unfreeze_on_resolve:
            return []
        frozen = [Target(e.namespace, e.deployment) for e in result.effects if e.state == "frozen" and e.on]
        return unfreeze_steps(frozen, self.policy)

    def _record(self, kind: str, step: Step, result: StepResult, seconds: float) -> None:
        self._steps(kind, step.name, result.status).inc()
        if refused := result.detail.get("refused"):  # guards that only execution can apply: RBAC, selectors
            self._refusals(refused["guard"]).inc()
        self._step_seconds(kind).observe(seconds)
        if kind == "escalation" and result.status != "retry":
            outcome = "delivered" if result.status == "succeeded" else "failed"
            self._deliveries(step.name, outcome).inc()
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
