import asyncio
import contextlib
import io
import itertools
import json
import resource
import signal
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from responder.alerts import parse_notification
from responder.engine import Engine
from responder.escalation.console import ConsoleNotifier
from responder.journal import Step, StepResult, Transaction
from responder.journal.sqlite import SqliteJournal
from responder.metrics import create_metrics
from responder.policy import Policy
from responder.remediation.plan import PlanRemediator
from responder.vocabulary import StepKind
from tests.conftest import alert_payload, cost_alert
from tests.unit.journal.plans import ALERT, STOP, plan


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class FlakyRemediator:
    """A Remediator that fails transiently `failures` times, then succeeds (or keeps failing)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def remediate(self, step: Step) -> StepResult:
        self.calls += 1
        if self.calls <= self.failures:
            return StepResult("retry", {"error": "503 from the API server"})
        return StepResult("succeeded", {"changed": True})


class SlowNotifier:
    async def notify(self, step: Step) -> StepResult:
        await asyncio.sleep(30)
        return StepResult("succeeded", {})


@pytest.fixture
def clock() -> Clock:
    return Clock()


def engine_for(
    journal: SqliteJournal, policy: Policy, clock: Clock, remediator: Any = None, notifier: Any = None
) -> Engine:
    return Engine(
        journal,
        policy,
        remediator or PlanRemediator(),
        notifier or ConsoleNotifier(io.StringIO()),
        create_metrics(),
        clock,
    )


async def deliver(engine: Engine, *payloads: dict[str, Any]) -> None:
    """As the webhook does: accept (journal and apply), then run what it planned."""
    for payload in payloads:
        body = json.dumps(payload).encode()
        await engine.accept(body, "c", parse_notification(body))
        await engine.drain()


async def remediations(journal: SqliteJournal, fingerprint: str = "4f1c2a9e8d7b6c5a") -> list[dict[str, Any]]:
    return [s for inst in await journal.timeline(fingerprint) for s in inst["steps"] if s["kind"] == "remediation"]


def sample(engine: Engine, name: str, **labels: str) -> float | None:
    return engine.metrics.registry.get_sample_value(name, labels)


def broken(tx: Transaction) -> None:
    raise ValueError("a bug in another operation of the same batch")


async def test_repeats_keep_last_seen_current_writing_it_at_most_once_a_minute(
    journal: SqliteJournal, make_policy: Callable[..., Policy], clock: Clock
) -> None:
    """The audit API sorts by last_seen and `status` shows it; a repeat within a minute of the
    last write is skipped without touching the journal, a later one writes it."""
    engine = engine_for(journal, make_policy(), clock)
    start = clock.now
    for seconds, seen in ((0, start), (30, start), (59, start), (61, start + 61), (100, start + 61)):
        clock.now = start + seconds
        await deliver(engine, alert_payload(cost_alert()))
        [instance] = await journal.instances({}, 10)
        assert instance["last_seen"] == seen, (seconds, instance["last_seen"] - start)


async def test_the_measured_ha_sequence_stops_once_and_never_after_the_resolve(
    journal: SqliteJournal, make_policy: Callable[..., Policy], clock: Clock
) -> None:
    engine = engine_for(journal, make_policy(), clock)
    firing, resolved = alert_payload(cost_alert("firing")), alert_payload(cost_alert("resolved"), status="resolved")
    await deliver(engine, firing, resolved, firing, resolved)  # as a clustered pair delivered it
    [stop] = await remediations(journal)
    assert stop["status"] == "succeeded"
    [instance] = await journal.timeline("4f1c2a9e8d7b6c5a")
    assert instance["status"] == "resolved"
    assert [e["kind"] for e in instance["events"]] == ["firing", "resolved", "stale_firing_ignored"]
    assert sample(engine, "responder_stale_alerts_total") == 1


@pytest.mark.parametrize("order", list(itertools.permutations(["firing", "firing", "firing", "resolved"])))
async def test_any_order_of_repeats_and_resolve_stops_at_most_once(
    journal: SqliteJournal, make_policy: Callable[..., Policy], clock: Clock, order: tuple[str, ...]
) -> None:
    engine = engine_for(journal, make_policy(), clock)
    await deliver(engine, *(alert_payload(cost_alert(s), status=s) for s in order))
    stops = await remediations(journal)
    assert len(stops) == (0 if order[0] == "resolved" else 1)


async def test_a_new_start_time_is_a_new_instance_and_meets_the_cooldown(
    journal: SqliteJournal, make_policy: Callable[..., Policy], clock: Clock
) -> None:
    engine = engine_for(journal, make_policy(), clock)
    await deliver(engine, alert_payload(cost_alert()))
    clock.now += 60
    await deliver(engine, alert_payload(cost_alert(starts_at="2026-11-23T13:05:00Z")))
    first, second = await journal.timeline("4f1c2a9e8d7b6c5a")
    assert len(first["steps"]) == 4 and first["steps"][0]["kind"] == "remediation"
    assert [r["guard"] for r in second["events"][0]["detail"]["refusals"]] == ["cooldown"]
    assert {s["kind"] for s in second["steps"]} == {"escalation"}
    assert sample(engine, "responder_guard_refusals_total", reason="cooldown") == 1


async def test_resolve_cancels_rungs_not_yet_due_and_tells_who_was_told(
    journal: SqliteJournal, make_policy: Callable[..., Policy], clock: Clock
) -> None:
    engine = engine_for(journal, make_policy(), clock)
    investigate = cost_alert(action="INVESTIGATE")
    await deliver(engine, alert_payload(investigate))
    clock.now += 300
    await deliver(engine, alert_payload({**investigate, "status": "resolved"}, status="resolved"))
    [instance] = await journal.timeline("4f1c2a9e8d7b6c5a")
    steps = {(s["name"], s["params"]["event"]): s["status"] for s in instance["steps"] if s["kind"] == "escalation"}
    assert steps == {
        ("slack", "firing"): "succeeded",
        ("pagerduty", "firing"): "succeeded",
        ("sms", "firing"): "cancelled",  # the 15m rung was not due yet
        ("pagerduty", "resolved"): "succeeded",
        ("slack", "resolved"): "succeeded",
    }


async def test_truncated_notifications_are_counted_and_escalated(
    journal: SqliteJournal, make_policy: Callable[..., Policy], clock: Clock
) -> None:
    out = io.StringIO()
    engine = engine_for(journal, make_policy(), clock, notifier=ConsoleNotifier(out))
    await deliver(engine, alert_payload(cost_alert(), truncated=7))
    assert sample(engine, "responder_truncated_alerts_total") == 7
    assert "ResponderNotificationTruncated" in out.getvalue()


async def test_transient_failures_are_retried_with_backoff_then_succeed(
    journal: SqliteJournal, make_policy: Callable[..., Policy], clock: Clock
) -> None:
    remediator = FlakyRemediator(failures=2)
    engine = engine_for(journal, make_policy(), clock, remediator=remediator)
    await deliver(engine, alert_payload(cost_alert()))
    for _ in range(2):
        clock.now += 600  # past any backoff
        await engine.drain()
    [stop] = await remediations(journal)
    assert [a["status"] for a in stop["attempts"]] == ["retry", "retry", "succeeded"]
    assert stop["status"] == "succeeded"


async def test_a_remediation_that_keeps_failing_is_escalated_to_every_channel_at_once(
    journal: SqliteJournal, make_policy: Callable[..., Policy], clock: Clock
) -> None:
    out = io.StringIO()
    engine = engine_for(
        journal, make_policy({"workers.max_attempts": 2}), clock, FlakyRemediator(99), ConsoleNotifier(out)
    )
    await deliver(engine, alert_payload(cost_alert()))
    clock.now += 600
    await engine.drain()
    [stop] = await remediations(journal)
    assert stop["status"] == "failed"
    assert sorted(line.split("]")[0] for line in out.getvalue().splitlines() if "REMEDIATION FAILED" in line) == [
        "[pagerduty",
        "[slack",
        "[sms",
    ]


async def test_a_slow_notifier_never_delays_a_remediation(
    journal: SqliteJournal, make_policy: Callable[..., Policy]
) -> None:
    remediator = FlakyRemediator(failures=0)
    engine = Engine(journal, make_policy(), remediator, SlowNotifier(), create_metrics())
    await engine.start()
    try:
        await journal.append_notification(json.dumps(alert_payload(cost_alert())).encode(), "c", engine.clock())
        engine.wake()
        for _ in range(100):
            if remediator.calls:
                break
            await asyncio.sleep(0.02)
        assert remediator.calls == 1, "the stop waited behind the notifier"
    finally:
        await engine.stop(grace_seconds=0.1)


async def test_a_resolve_cancels_a_stop_still_waiting_to_retry(
    journal: SqliteJournal, make_policy: Callable[..., Policy], clock: Clock
) -> None:
    remediator = FlakyRemediator(failures=1)
    engine = engine_for(journal, make_policy(), clock, remediator=remediator)
    await deliver(engine, alert_payload(cost_alert()))  # the stop fails once and waits to retry
    await deliver(engine, alert_payload(cost_alert("resolved"), status="resolved"))
    clock.now += 600
    await engine.drain()
    [stop] = await remediations(journal)
    assert stop["status"] == "cancelled"
    assert remediator.calls == 1, "the stop ran after the resolve"


async def test_stop_ends_even_when_a_wake_arrives_with_the_cancellation(
    journal: SqliteJournal, make_policy: Callable[..., Policy], clock: Clock
) -> None:
    engine = engine_for(journal, make_policy(), clock)
    await engine.start()
    await asyncio.sleep(0.05)  # every loop is asleep, waiting for a wake-up
    for kind in ("ingest", "remediation", "escalation"):
        engine.wake(kind)
    await asyncio.wait_for(engine.stop(0.1), timeout=10)  # on 3.11, wait_for-based sleeps swallowed this cancel


class CountingRemediator:
    """Counts runs per step; slow enough that ingest finds every worker busy and leaves steps behind."""

    def __init__(self) -> None:
        self.runs: dict[int, int] = {}

    async def remediate(self, step: Step) -> StepResult:
        self.runs[step.id] = self.runs.get(step.id, 0) + 1
        await asyncio.sleep(0.01)
        return StepResult("succeeded", {})


class HangingRemediator:
    """A cluster call that never answers, the first time only."""

    def __init__(self) -> None:
        self.calls = 0

    async def remediate(self, step: Step) -> StepResult:
        self.calls += 1
        if self.calls == 1:
            await asyncio.Event().wait()
        return StepResult("succeeded", {})


async def test_a_step_with_no_answer_within_step_timeout_frees_its_worker_and_is_retried(
    journal: SqliteJournal, make_policy: Callable[..., Policy], clock: Clock
) -> None:
    """The clients' own timeouts should answer first; this is the last guard, without which one
    hung call held a worker for good (with one worker: every remediation after it)."""
    policy = make_policy({"workers.remediation": 1, "workers.step_timeout": "200ms"})
    remediator = HangingRemediator()
    engine = engine_for(journal, policy, clock, remediator=remediator)
    await engine.start()
    try:
        await asyncio.sleep(0.05)  # the dispatchers are idle, every worker free
        await asyncio.wait_for(deliver(engine, alert_payload(cost_alert())), timeout=10)
        [stop] = await remediations(journal)
        assert [a["status"] for a in stop["attempts"]] == ["retry"]
        assert stop["attempts"][0]["detail"] == {"error": "no answer within 0.2s"}
        assert engine.busy_workers(StepKind.REMEDIATION) == 0
        clock.now += 600  # past any backoff
        engine.wake("remediation")
        for _ in range(100):
            [stop] = await remediations(journal)
            if stop["status"] == "succeeded":
                break
            await asyncio.sleep(0.02)
        assert [a["status"] for a in stop["attempts"]] == ["retry", "succeeded"]
    finally:
        await engine.stop(0.1)


async def test_steps_started_by_ingest_and_by_the_dispatcher_each_run_exactly_once(
    journal: SqliteJournal, make_policy: Callable[..., Policy]
) -> None:
    """Ingest claims what fits its free workers; the dispatcher claims the rest as workers free up."""
    policy = make_policy(
        {"workers.remediation": 2, "actions.EMERGENCY_STOP.cooldown": "0s", "circuit_breaker.max_mutations": 1000}
    )
    remediator = CountingRemediator()
    engine = engine_for(journal, policy, Clock(), remediator=remediator)
    await engine.start()
    try:
        for batch in range(5):
            for i in range(4):
                deployment = f"o3-audit-proxy-{batch}-{i}"
                body = alert_payload(cost_alert(fingerprint=f"{batch:08x}{i:08x}", target_deployment=deployment))
                await journal.append_notification(json.dumps(body).encode(), f"c{batch}-{i}", engine.clock())
            engine.wake()
            await asyncio.sleep(0.005)
        for _ in range(200):
            if len(remediator.runs) == 20 and not await journal.refresh_backlog():
                break
            await asyncio.sleep(0.02)
    finally:
        await engine.stop(grace_seconds=1)
    assert sorted(remediator.runs.values()) == [1] * 20


async def test_a_notification_accepted_while_an_older_one_waits_is_applied_after_it(
    journal: SqliteJournal, make_policy: Callable[..., Policy], clock: Clock
) -> None:
    """Applied on arrival, the resolve would come first and the firing then be ignored as stale:
    no stop at all. Accept leaves it to ingest, which applies both in the order they arrived."""
    engine = engine_for(journal, make_policy(), clock)
    await journal.append_notification(json.dumps(alert_payload(cost_alert())).encode(), "from-before", clock())
    resolved = alert_payload(cost_alert("resolved"), status="resolved")
    body = json.dumps(resolved).encode()
    await engine.accept(body, "new", parse_notification(body))
    await engine.drain()
    [instance] = await journal.timeline("4f1c2a9e8d7b6c5a")
    assert [e["kind"] for e in instance["events"]] == ["firing", "resolved"]
    [stop] = await remediations(journal)
    assert stop["status"] in ("succeeded", "cancelled")


async def test_an_accept_whose_caller_went_away_still_starts_what_it_claimed(
    journal: SqliteJournal, make_policy: Callable[..., Policy]
) -> None:
    """Cancelled while its transaction waited (a client gone, a shutdown timeout), the transaction
    still ran and claimed the stop: it must still run, and its worker come back."""
    remediator = CountingRemediator()
    engine = engine_for(journal, make_policy(), Clock(), remediator=remediator)
    await engine.start()

    def accept(fingerprint: str) -> "asyncio.Task[int]":
        payload = alert_payload(cost_alert(fingerprint=fingerprint, target_deployment=f"proxy-{fingerprint}"))
        body = json.dumps(payload).encode()
        notification = parse_notification(body)
        return asyncio.create_task(engine.accept(body, fingerprint, notification))

    try:
        await asyncio.sleep(0.05)  # the dispatchers are idle, every worker free
        committing = accept("00000000000000aa")
        await asyncio.sleep(0)  # its commit is on its way to the disk
        waiting = accept("00000000000000bb")
        await asyncio.sleep(0)  # queued behind that commit
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await committing
        for _ in range(100):
            if len(remediator.runs) == 2 and not engine.busy_workers(StepKind.REMEDIATION):
                break
            await asyncio.sleep(0.02)
        assert sorted(remediator.runs.values()) == [1, 1]
        assert engine.busy_workers(StepKind.REMEDIATION) == 0
    finally:
        await engine.stop(0.1)


async def test_an_accept_run_again_after_its_batch_failed_leases_with_the_worker_it_took_the_first_time(
    journal: SqliteJournal, make_policy: Callable[..., Policy]
) -> None:
    """A batch in which one operation raises runs again one operation per transaction. The
    accept's first run had leased its stop and taken the pool's only worker: unless that worker
    is given back first, the second run finds none, and no remediation can ever run again."""
    policy = make_policy({"workers.remediation": 1})
    remediator = CountingRemediator()
    engine = engine_for(journal, policy, Clock(), remediator=remediator)
    await engine.start()

    try:
        await asyncio.sleep(0.05)  # the dispatchers are idle, every worker free
        payload = alert_payload(cost_alert())
        body = json.dumps(payload).encode()
        notification = parse_notification(body)
        accepted, failed = await asyncio.gather(  # tasks: both queue before the writer runs
            engine.accept(body, "c1", notification), journal.transact(broken), return_exceptions=True
        )
        assert isinstance(failed, ValueError) and isinstance(accepted, int), (accepted, failed)
        for _ in range(100):
            if remediator.runs and not engine.busy_workers(StepKind.REMEDIATION):
                break
            await asyncio.sleep(0.02)
        assert list(remediator.runs.values()) == [1]
        assert engine.busy_workers(StepKind.REMEDIATION) == 0
    finally:
        await engine.stop(0.1)


async def _pending_stop(engine: Engine, journal: SqliteJournal) -> None:
    """A stop due now and not leased: the engine's dispatchers are not running."""
    payload = alert_payload(cost_alert())
    body = json.dumps(payload).encode()
    await engine.accept(body, "c", parse_notification(body))
    [stop] = await remediations(journal)
    assert stop["status"] == "pending"


async def test_a_claim_whose_dispatcher_stopped_while_it_waited_takes_nothing(
    journal: SqliteJournal, make_policy: Callable[..., Policy], clock: Clock
) -> None:
    """stop() cancels a dispatcher whose claim still waits in the writer's batch, and the claim
    runs all the same: had it leased the stop, nobody would run it and its worker stayed taken."""
    engine = engine_for(journal, make_policy(), clock)
    await _pending_stop(engine, journal)
    claiming = asyncio.create_task(engine.claim(StepKind.REMEDIATION))
    await asyncio.sleep(0)  # the claim waits in the writer's batch
    claiming.cancel()
    with pytest.raises(asyncio.CancelledError):
        await claiming
    await journal.transact(lambda tx: None)  # the batch has run
    [stop] = await remediations(journal)
    assert stop["status"] == "pending"
    assert engine.busy_workers(StepKind.REMEDIATION) == 0


async def test_a_claim_from_a_task_that_once_swallowed_a_cancellation_still_claims(
    journal: SqliteJournal, make_policy: Callable[..., Policy], clock: Clock
) -> None:
    """Task.cancelling() is a count that only uncancel() lowers: read as "cancelled at all", a
    task that had swallowed an earlier cancellation (a cleanup that still drains) claimed nothing."""
    engine = engine_for(journal, make_policy(), clock)
    await _pending_stop(engine, journal)

    async def cleanup_that_drains() -> list[Step]:
        me = asyncio.current_task()
        assert me is not None
        me.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0)
        return await engine.claim(StepKind.REMEDIATION)

    assert len(await asyncio.create_task(cleanup_that_drains())) == 1


async def test_a_claim_run_again_after_its_batch_failed_takes_the_worker_it_took_the_first_time(
    journal: SqliteJournal, make_policy: Callable[..., Policy], clock: Clock
) -> None:
    """As for an accept: the claim's first run took the pool's only worker and was rolled back;
    unless it gives that worker back first, the second run finds none and claims nothing."""
    engine = engine_for(journal, make_policy({"workers.remediation": 1}), clock)
    await _pending_stop(engine, journal)
    claimed, failed = await asyncio.gather(
        engine.claim(StepKind.REMEDIATION), journal.transact(broken), return_exceptions=True
    )
    assert isinstance(failed, ValueError) and isinstance(claimed, list), (claimed, failed)
    assert len(claimed) == 1
    assert engine.busy_workers(StepKind.REMEDIATION) == 1


async def test_a_notification_lost_to_a_full_disk_is_acted_on_when_it_is_retried(
    journal: SqliteJournal, make_policy: Callable[..., Policy], clock: Clock
) -> None:
    """SQLite rolls a failed commit back by itself; the instance that transaction cached must not
    make Alertmanager's retry look like a repeat (a 200 with no instance, no stop, no page)."""
    engine = engine_for(journal, make_policy(), clock)
    payload = alert_payload(cost_alert())
    body = json.dumps(payload).encode()
    notification = parse_notification(body)
    ignored = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))  # the disk is full for this one request
    try:
        with pytest.raises(sqlite3.Error):
            await engine.accept(body, "first", notification)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, ignored)
    await engine.accept(body, "retried", notification)
    await engine.drain()
    [stop] = await remediations(journal)
    assert stop["status"] == "succeeded"


async def test_steps_claimed_while_the_engine_stops_are_handed_back_not_started(
    journal: SqliteJournal, make_policy: Callable[..., Policy]
) -> None:
    """An accept still committing when the shutdown begins (its request cut off at the server's
    timeout) leases its stop as it settles. Started then, the stop would be cut off mid-call as
    the loop ends, its lease held by a process that is gone. It is handed back instead: pending
    at once for whichever replica claims next, its attempt not counted, and its worker free."""
    remediator = CountingRemediator()
    engine = engine_for(journal, make_policy(), Clock(), remediator=remediator)
    await engine.start()
    await asyncio.sleep(0.05)  # the dispatchers are idle, every worker free
    body = json.dumps(alert_payload(cost_alert())).encode()
    accepting = asyncio.create_task(engine.accept(body, "c", parse_notification(body)))
    await asyncio.sleep(0)  # submitted: its commit is on its way
    await engine.stop(5)
    assert isinstance(await accepting, int)
    assert remediator.runs == {}
    assert engine.busy_workers(StepKind.REMEDIATION) == 0
    [stop] = await remediations(journal)
    assert (stop["status"], stop["attempts"]) == ("pending", [])
    [step] = await journal.transact(lambda tx: tx.claim(StepKind.REMEDIATION, 1, 1_800_000_000.0, 60))
    assert (step.attempts, step.interrupted) == (1, False)


async def test_a_claim_committing_as_the_engine_stops_is_handed_back_not_started(
    journal: SqliteJournal, make_policy: Callable[..., Policy]
) -> None:
    """A dispatcher's claim rides in a batch whose commit is on its way to the disk when stop
    begins. The dispatcher ends its round rather than being cancelled out of it, so the steps
    its claim leased reach the engine, which hands them back instead of starting them."""
    remediator = CountingRemediator()
    engine = engine_for(journal, make_policy(), Clock(), remediator=remediator)
    await engine.start()
    await asyncio.sleep(0.05)  # the dispatchers are idle, every worker free
    await plan(journal, STOP)
    engine.wake(StepKind.REMEDIATION)
    appending = asyncio.create_task(journal.append_notification(b"{}", "c", 1_800_000_000.0))  # a durable batch
    for _ in range(10):
        await asyncio.sleep(0)
        if engine.busy_workers(StepKind.REMEDIATION):  # the claim ran: its commit is on its way
            break
    assert engine.busy_workers(StepKind.REMEDIATION) == 1
    await engine.stop(5)
    await appending
    assert remediator.runs == {}
    assert engine.busy_workers(StepKind.REMEDIATION) == 0
    [stop] = await remediations(journal, ALERT.fingerprint)
    assert (stop["status"], stop["attempts"]) == ("pending", [])
