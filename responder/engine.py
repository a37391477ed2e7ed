"""The engine: applies journaled notifications (the rules are in `ingest`) and runs the steps
they plan on worker pools.

The webhook's notification is applied in the transaction that journals it (`accept`), and the
steps it plans due now are leased as they are inserted, as far as their pool has free workers,
and start at once: one transaction journals, applies and claims, with no wait in between, which
keeps a notification's time to its first remediation short. The ingest loop applies what that
path left: notifications from before a restart, and any accepted while older ones waited, so
that notifications are always applied in the order they arrived.

Remediation and escalation run in separate worker pools with their own concurrency, so a slow
notifier never delays a remediation. A worker is held for the call to the cluster or provider,
not for recording its outcome. The dispatchers claim the steps nobody claimed at once: delayed
rungs, retries, and what did not fit.
"""

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace

from responder.alerts import Notification
from responder.escalation import Notifier
from responder.escalation.ladder import follow_ups
from responder.ingest import Accounting, Applied, NotificationReads, Parsed, apply_notification, chunks, parse_stored
from responder.journal import STEP_KINDS, Journal, Step, StepResult, StoredNotification, Transaction
from responder.metrics import Children, Metrics
from responder.planner import PlannedStep, unfreeze_steps
from responder.policy import Policy
from responder.remediation import Remediator
from responder.step_tasks import StepTasks
from responder.targets import Target
from responder.vocabulary import Action, AttemptOutcome, DeliveryOutcome, HoldState, StepKind
from responder.workers import Workers

log = logging.getLogger("responder.engine")

INGEST_BATCH = 100  # notifications read per round
IDLE_POLL_SECONDS = 1.0
BACKLOG_REFRESH_SECONDS = 0.2

# Per notification; the steps they made due, and those claimed, by kind.
Ingested = tuple[list[Applied], Counter[str], dict[StepKind, list[Step]]]


def backoff(attempt: int, base: float = 1.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter: spreads retries of a shared outage apart."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


class Engine:
    """Applies notifications and runs their steps; `start` runs the loops, `stop` ends them."""

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
        self._wake = {kind: asyncio.Event() for kind in ("ingest", "maintenance", *STEP_KINDS)}
        self._tasks: list[asyncio.Task[None]] = []
        self._step_tasks = StepTasks()
        self._workers: dict[str, Workers] = {
            StepKind.REMEDIATION: Workers(policy.remediation_workers),
            StepKind.ESCALATION: Workers(policy.escalation_workers),
        }
        self._backlog_counted = -BACKLOG_REFRESH_SECONDS
        self._accounting = Accounting(metrics)
        self._refusals = Children(metrics.refusals)
        self._steps, self._step_seconds = Children(metrics.steps), Children(metrics.step_seconds)
        self._deliveries = Children(metrics.deliveries)

    def wake(self, kind: str = "ingest") -> None:
        """Wake the ingest loop, or the dispatcher of a step kind: there is work for it."""
        self._wake[kind].set()

    def busy_workers(self, kind: StepKind) -> int:
        """How many workers of `kind`'s pool hold a claimed step now."""
        return self._workers[kind].busy

    async def accept(
        self, body: bytes, correlation_id: str, notification: Notification, received_at: float | None = None
    ) -> int:
        """The webhook's path: journal `body`, apply `notification` (the webhook's own parse of it)
        and lease the steps it made due, in one transaction; then start them. Returns the
        notification's id once it is on disk; raises when the journal could not store it.
        `received_at`, when its request arrived, is the notification's time (by default, now).

        The steps are started by the journal as it settles the commit (`then`), not after the
        await: a caller that goes away (a client gone, a shutdown timeout) does not stop a queued
        transaction, and what it claimed would otherwise never run and keep its workers. Starting
        them there costs no extra turn of the event loop, as shielding the await would."""
        now = self.clock() if received_at is None else received_at
        taken = dict.fromkeys(STEP_KINDS, 0)

        def apply(tx: Transaction, stored: StoredNotification) -> tuple[Applied, dict[StepKind, list[Step]]]:
            self._offer_workers(tx, taken, now)
            applied = apply_notification(tx, self.policy, stored, notification, now)
            return applied, self._take_leased(tx, taken)

        def committed(
            stored: tuple[int, tuple[Applied, dict[StepKind, list[Step]]] | None] | None, error: BaseException | None
        ) -> None:
            # Not stored (or interrupted while committing), or older notifications wait, or applying failed.
            self._step_tasks.accepted()
            if stored is None or stored[1] is None:
                self._give_back(taken)
                self.wake()
                return
            applied, claimed = stored[1]
            self._start_claimed(claimed, applied.due)
            self._accounting.record(correlation_id, notification, applied)

        reads = NotificationReads(notification, self.policy)
        accepted = self.journal.accept(body, correlation_id, now, apply, committed, reads)
        self._step_tasks.accepting()  # `committed` tells it, unless a journal refusing at once told it already
        notification_id, _ = await accepted
        return notification_id

    async def start(self) -> None:
        self._step_tasks.stopping = False
        self._tasks = [
            asyncio.create_task(self._ingest_loop(), name="ingest"),
            asyncio.create_task(self._maintenance(), name="maintenance"),
            *(asyncio.create_task(self._dispatch(kind), name=kind) for kind in STEP_KINDS),
        ]

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop claiming, leasing and starting steps (the loops, woken, end their round); let the
        running steps finish for `grace_seconds` and the accepts in flight settle, and hand what
        those leased back to the journal at once (see step_tasks). A step cut short keeps its
        lease until it runs out: its call may still be under way on a thread."""
        self._step_tasks.stopping = True
        for kind in self._wake:
            self.wake(kind)  # each loop sees `stopping` when it wakes, and ends
        await self._step_tasks.stop(
            self._tasks, grace_seconds, lambda s: self.journal.transact(lambda tx: tx.release(s))
        )

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
        parsed, broken = parse_stored(batch)
        if broken:
            await self.journal.transact(lambda tx: tx.mark_processed([s.id for s in broken], now))
        for chunk in chunks(parsed):
            taken = dict.fromkeys(STEP_KINDS, 0)

            def apply(tx: Transaction, chunk: Parsed = chunk, taken: dict[StepKind, int] = taken) -> Ingested:
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
                self._accounting.record(stored.correlation_id, notification, result)
        await self._refresh_backlog()
        return len(batch)

    def _offer_workers(self, tx: Transaction, taken: dict[StepKind, int], now: float) -> None:
        """Before an ingest transaction applies: the steps it makes due now are leased as they are
        inserted, as far as their pool has free workers. Only while the dispatchers run: `drain`
        (replay, tests) runs steps in its own order. A batch that failed runs its operations
        again: what an earlier run took is given back first."""
        self._give_back(taken)
        if self._tasks and not self._step_tasks.stopping:
            tx.lease_new({kind: self._workers[kind].free for kind in STEP_KINDS}, now, self.policy.lease_seconds)

    def _take_leased(self, tx: Transaction, taken: dict[StepKind, int]) -> dict[StepKind, list[Step]]:
        """After it applied: a worker for each step it leased. Nothing ran in between, so the
        workers offered are still free."""
        claimed = {kind: tx.leased(kind) for kind in STEP_KINDS}
        for kind, steps in claimed.items():
            if steps:  # a repeat leases nothing, and it is the common case
                taken[kind] = self._workers[kind].take(len(steps))
        return claimed

    def _give_back(self, taken: dict[StepKind, int]) -> None:
        for kind, count in taken.items():
            if count:
                self._workers[kind].give(count)
                taken[kind] = 0

    def _start_claimed(self, claimed: dict[StepKind, list[Step]], due: Mapping[str, int]) -> None:
        for kind in STEP_KINDS:  # remediation first: its tasks start before the escalations'
            steps = claimed.get(kind, [])
            self._launch(kind, steps)
            if len(steps) < due.get(kind, 0):  # no worker was free for some: the dispatcher claims them
                self._workers[kind].starved = True
                self.wake(kind)

    async def _ingest_loop(self) -> None:
        while not self._step_tasks.stopping:
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
        if self._step_tasks.running:  # a started engine: ingest or a dispatcher may have handed steps to workers
            await asyncio.wait(set(self._step_tasks.running))
        for kind in STEP_KINDS:  # remediation first
            while steps := await self.claim(kind):
                await asyncio.gather(*(self._run_step(kind, s) for s in steps))

    def _runner(self, kind: StepKind) -> Callable[[Step], Awaitable[StepResult]]:
        return self.remediator.remediate if kind == StepKind.REMEDIATION else self.notifier.notify

    async def claim(self, kind: StepKind) -> list[Step]:
        """Claim as many due steps of `kind` as there are free workers; each claimed step holds
        one until it is run (the dispatchers, `drain`) and its call returns.

        Workers are counted and taken when the claim runs in its batch, not when it is asked
        for, so that an accept that runs before it in the same batch still finds them free and
        leases its steps with them. A batch that failed runs its operations again. A claim that
        runs once the engine is stopping, or whose caller was cancelled before it ran, takes
        nothing: the writer may run it before the caller hears of the cancellation, so it asks
        the task, not the exception. Cancelled after it ran (a loop that outlasted stop's bound),
        what it leased keeps its lease until it runs out. Every free worker used: more may be
        due, and a worker freeing up wakes the dispatcher."""
        workers = self._workers[kind]
        taken = {kind: 0}
        caller = asyncio.current_task()
        assert caller is not None, "claims are made from a task (a dispatcher, or drain's caller)"
        cancellations = caller.cancelling()  # a count: only one asked after this claim counts

        def claim(tx: Transaction) -> list[Step]:
            self._give_back(taken)
            if caller.cancelling() > cancellations or self._step_tasks.stopping:
                return []
            free = workers.free
            steps = tx.claim(kind, free, self.clock(), self.policy.lease_seconds)
            taken[kind] = workers.claim(len(steps), free)
            return steps

        try:
            return await self.journal.transact(claim)
        except BaseException:
            self._give_back(taken)
            raise

    def _launch(self, kind: StepKind, steps: list[Step]) -> None:
        """Run claimed steps, each on the worker its claim took; once stopping, free those workers."""
        if steps and not self._step_tasks.start(steps, lambda step: self._run_step(kind, step)):
            self._workers[kind].give(len(steps))

    def _free(self, kind: StepKind) -> None:
        if self._workers[kind].give(1):
            self.wake(kind)

    async def _dispatch(self, kind: StepKind) -> None:
        while not self._step_tasks.stopping:
            try:
                self._launch(kind, await self.claim(kind))
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
        """Recount the backlog at most every BACKLOG_REFRESH_SECONDS, not per step or ingest
        round: the count is a query over the journal. In between, appends only add to it, so the
        webhook's overload check errs towards 503, never towards accepting too much."""
        now = time.monotonic()
        if now - self._backlog_counted >= BACKLOG_REFRESH_SECONDS:
            self._backlog_counted = now
            self.metrics.backlog.set(await self.journal.refresh_backlog())

    async def _run_step(self, kind: StepKind, step: Step) -> None:
        started = self.clock()
        if step.interrupted:  # counted as it is taken up again: the journal recorded the attempt
            self._steps(kind, step.name, AttemptOutcome.INTERRUPTED).inc()
        try:
            async with asyncio.timeout(self.policy.step_timeout_seconds):
                result = await self._runner(kind)(step)
        except TimeoutError:
            answer = f"no answer within {self.policy.step_timeout_seconds:g}s"
            result = StepResult(AttemptOutcome.RETRY, {"error": answer})
        except Exception as exc:  # a bug or an unexpected client error: retried, then escalated
            log.exception("step raised", extra={"correlation_id": step.correlation_id, "step": step.id})
            result = StepResult(AttemptOutcome.RETRY, {"error": f"{type(exc).__name__}: {exc}"})
        finally:
            self._free(kind)  # the call is over; recording its outcome needs no worker
        now = self.clock()
        retry_at = None
        if result.status == AttemptOutcome.RETRY:
            if step.attempts < self.policy.max_attempts:
                retry_at = now + (result.retry_after if result.retry_after is not None else backoff(step.attempts))
            else:
                detail = {**result.detail, "gave_up_after_attempts": step.attempts}
                result = replace(result, status=AttemptOutcome.FAILED, detail=detail)
        then = follow_ups(kind, step, result, self.policy)  # recorded with the outcome: no crash loses them
        unfreeze = self._unfreeze_if_resolved(step, result)
        try:
            await self.journal.finish_step(step, result, started, now, retry_at, then, unfreeze)
        except Exception:
            # The step stays `running`; its lease runs out and it is claimed again.
            log.exception("recording a step outcome failed", extra={"correlation_id": step.correlation_id})
            return
        self._record(kind, step, result, now - started)
        if then:
            self.wake(StepKind.ESCALATION)
        if unfreeze:
            self.wake(StepKind.REMEDIATION)

    def _unfreeze_if_resolved(self, step: Step, result: StepResult) -> list[PlannedStep]:
        """What a freeze froze, to lift if its alert resolved while the freeze was running: that
        resolve found nothing frozen yet and planned no unfreeze, and the deployments would
        have stayed frozen until a person noticed. Only where the policy unfreezes on resolve."""
        if step.name != Action.FREEZE_DEPLOYMENTS or not self.policy.actions[step.name].unfreeze_on_resolve:
            return []
        frozen = [Target(e.namespace, e.deployment) for e in result.effects if e.state == HoldState.FROZEN and e.on]
        return unfreeze_steps(frozen, self.policy)

    def _record(self, kind: StepKind, step: Step, result: StepResult, seconds: float) -> None:
        self._steps(kind, step.name, result.status).inc()
        if refused := result.detail.get("refused"):  # guards that only execution can apply: RBAC, selectors
            self._refusals(refused["guard"]).inc()
        self._step_seconds(kind).observe(seconds)
        if kind == StepKind.ESCALATION and result.status != AttemptOutcome.RETRY:
            delivered = result.status == AttemptOutcome.SUCCEEDED
            self._deliveries(step.name, DeliveryOutcome.DELIVERED if delivered else DeliveryOutcome.FAILED).inc()
        quiet = kind == StepKind.ESCALATION and result.status == AttemptOutcome.SUCCEEDED  # the audit API has these
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

    async def _maintenance(self) -> None:
        while not self._step_tasks.stopping:
            try:
                pruned = await self.journal.prune(self.clock() - self.policy.retention_seconds)
                if pruned:
                    log.info("pruned journal", extra={"instances": pruned})
                self.metrics.backlog.set(await self.journal.refresh_backlog())
            except Exception:
                log.exception("journal maintenance failed")
            await self._sleep("maintenance", 60)
