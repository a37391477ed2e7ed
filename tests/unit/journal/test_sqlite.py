import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from msgspec.structs import replace

from responder.alerts import Alert
from responder.decision import PlannedStep
from responder.journal import Step, StepResult, StoredNotification
from responder.journal.sqlite import JournalLockedError, SqliteJournal
from responder.journal.sqlite_tx import SqliteTransaction

NOW = 1_800_000_000.0
ALERT = Alert(
    "fp1",
    "2026-11-23T13:00:00.000000Z",
    "firing",
    {"alertname": "X", "severity": "critical"},
    {"action": "EMERGENCY_STOP"},
)
STOP = PlannedStep(
    "remediation",
    "EMERGENCY_STOP",
    0.0,
    {"target": {"namespace": "n", "deployment": "d"}},
    "remediation:EMERGENCY_STOP:n/d",
)


@pytest.fixture
async def journal(tmp_path: Path):  # type: ignore[no-untyped-def]
    j = SqliteJournal(tmp_path / "journal.db")
    await j.start()
    yield j
    await j.close()


async def _claim(journal: SqliteJournal, kind: str, limit: int, now: float, lease_seconds: float) -> list[Step]:
    return await journal.transact(lambda tx: tx.claim(kind, limit, now, lease_seconds))


def _due(kind: str, count: int, start: int = 0, delay: float = 0.0) -> list[PlannedStep]:
    name = "EMERGENCY_STOP" if kind == "remediation" else "slack"
    return [PlannedStep(kind, name, delay, {"n": i}, f"{kind}:{i}") for i in range(start, start + count)]


@contextlib.contextmanager
def _instructions(conn: sqlite3.Connection) -> Iterator[list[int]]:
    """SQLite's own count of the work done inside the block (its progress handler, every 10 VM
    instructions): unlike time, it does not move with the machine's load."""
    counted = [0]

    def count() -> int:
        counted[0] += 1
        return 0

    conn.set_progress_handler(count, 10)
    try:
        yield counted
    finally:
        conn.set_progress_handler(None, 0)


async def _plan(journal: SqliteJournal, *steps: PlannedStep) -> None:
    def plan(tx: SqliteTransaction) -> None:
        key = (ALERT.fingerprint, ALERT.starts_at)
        instance = tx.instances([key]).get(key) or tx.insert_instance(ALERT, NOW)
        tx.add_steps(instance, steps, NOW, "c1")

    await journal.transact(plan)


async def test_an_appended_notification_is_committed_when_append_returns(
    journal: SqliteJournal, tmp_path: Path
) -> None:
    nid = await journal.append_notification(b'{"v": 1}', "c1", NOW)
    other = sqlite3.connect(tmp_path / "journal.db")  # an independent reader, as after a crash
    assert other.execute("SELECT body FROM notifications WHERE id = ?", (nid,)).fetchone() == (b'{"v": 1}',)


async def test_concurrent_appends_are_group_committed_and_all_kept(journal: SqliteJournal) -> None:
    ids = await asyncio.gather(*(journal.append_notification(b"{}", f"c{i}", NOW) for i in range(200)))
    assert sorted(ids) == list(range(1, 201))
    assert len(await journal.unprocessed(500)) == 200
    assert journal.backlog() == 200


async def test_a_step_is_planned_once_however_often_it_is_planned(journal: SqliteJournal) -> None:
    for _ in range(5):
        await _plan(journal, STOP)
    assert len(await _claim(journal, "remediation", 10, NOW, 60)) == 1


async def test_concurrent_claims_never_hand_out_the_same_step(journal: SqliteJournal) -> None:
    steps = [PlannedStep("escalation", "slack", 0.0, {"event": "firing"}, f"k{i}") for i in range(50)]
    await _plan(journal, *steps)
    claims = await asyncio.gather(*(_claim(journal, "escalation", 7, NOW, 60) for _ in range(10)))
    ids = [s.id for claim in claims for s in claim]
    assert len(ids) == len(set(ids)) == 50


async def test_steps_not_yet_due_are_not_claimed(journal: SqliteJournal) -> None:
    await _plan(journal, PlannedStep("escalation", "sms", 900.0, {"event": "firing"}, "later"))
    assert await _claim(journal, "escalation", 10, NOW, 60) == []
    assert await journal.next_due("escalation") == NOW + 900
    assert len(await _claim(journal, "escalation", 10, NOW + 900, 60)) == 1


async def test_a_retry_goes_back_to_pending_at_its_time(journal: SqliteJournal) -> None:
    await _plan(journal, STOP)
    [step] = await _claim(journal, "remediation", 1, NOW, 60)
    await journal.finish_step(step, StepResult("retry", {"error": "503"}), NOW, NOW + 1, NOW + 30)
    assert await _claim(journal, "remediation", 1, NOW + 10, 60) == []
    [again] = await _claim(journal, "remediation", 1, NOW + 30, 60)
    assert again.id == step.id and again.attempts == 2


async def test_steps_a_crash_left_running_are_resumed_on_start(tmp_path: Path) -> None:
    first = SqliteJournal(tmp_path / "j.db")
    await first.start()
    await _plan(first, STOP)
    assert len(await _claim(first, "remediation", 1, NOW, 600)) == 1
    await first.close()  # as if killed mid-step: the row stays `running`
    second = SqliteJournal(tmp_path / "j.db")
    await second.start()
    [resumed] = await _claim(second, "remediation", 1, NOW, 600)
    assert resumed.name == "EMERGENCY_STOP"
    await second.close()


async def test_a_second_process_cannot_open_the_same_journal(journal: SqliteJournal, tmp_path: Path) -> None:
    with pytest.raises(JournalLockedError, match="in use by another responder process"):
        await SqliteJournal(tmp_path / "journal.db").start()


async def test_pruning_forgets_old_finished_history_but_never_unfinished_work(journal: SqliteJournal) -> None:
    await _plan(journal, STOP, PlannedStep("escalation", "slack", 0.0, {"event": "firing"}, "s"))
    [slack] = await _claim(journal, "escalation", 1, NOW, 60)
    await journal.finish_step(slack, StepResult("succeeded", {}), NOW, NOW, None)
    assert await journal.prune(NOW + 10**6) == 0  # the stop is still pending
    [stop] = await _claim(journal, "remediation", 1, NOW, 60)
    await journal.finish_step(stop, StepResult("succeeded", {}), NOW, NOW, None)
    assert await journal.prune(NOW + 10**6) == 0  # still firing
    key = (ALERT.fingerprint, ALERT.starts_at)
    await journal.transact(lambda tx: tx.set_status(tx.instances([key])[key], "resolved", NOW))
    assert await journal.prune(NOW + 10**6) == 1
    assert await journal.timeline("fp1") == []


async def test_one_failing_operation_does_not_fail_the_others_in_its_batch(journal: SqliteJournal) -> None:
    def broken(tx: SqliteTransaction) -> None:
        tx.mark_processed([1], NOW)
        raise ValueError("a bug in one caller")

    results = await asyncio.gather(
        *(journal.append_notification(b"{}", f"c{i}", NOW) for i in range(20)),
        journal.transact(broken),
        return_exceptions=True,
    )
    assert [r for r in results if isinstance(r, BaseException)] == [results[20]]
    assert isinstance(results[20], ValueError)
    assert len(await journal.unprocessed(100)) == 20, "the failed operation's write was rolled back"


async def test_a_step_whose_lease_ran_out_is_claimed_again(journal: SqliteJournal) -> None:
    await _plan(journal, STOP)
    [first] = await _claim(journal, "remediation", 1, NOW, 60)
    assert await _claim(journal, "remediation", 1, NOW + 30, 60) == []
    [again] = await _claim(journal, "remediation", 1, NOW + 61, 60)
    assert again.id == first.id and again.attempts == 2


async def test_a_firing_instance_is_never_pruned(journal: SqliteJournal) -> None:
    await _plan(journal, STOP)
    [stop] = await _claim(journal, "remediation", 1, NOW, 60)
    await journal.finish_step(stop, StepResult("succeeded", {}), NOW, NOW, None)
    assert await journal.prune(NOW + 10**6) == 0, "its next repeat would look new and stop again"


async def test_accept_applies_in_the_transaction_that_appends(journal: SqliteJournal, tmp_path: Path) -> None:
    def apply(tx: SqliteTransaction, stored: StoredNotification) -> str:
        tx.insert_instance(ALERT, NOW)
        return stored.correlation_id

    nid, result = await journal.accept(b"{}", "c1", NOW, apply)
    assert result == "c1"
    assert journal.backlog() == 0, "applied, and it planned no remediation"
    other = sqlite3.connect(tmp_path / "journal.db")
    assert other.execute("SELECT processed_at FROM notifications WHERE id = ?", (nid,)).fetchone() == (NOW,)
    assert other.execute("SELECT fingerprint FROM instances").fetchall() == [("fp1",)]
    assert await journal.refresh_backlog() == 0


async def test_accept_keeps_the_notification_when_applying_fails(journal: SqliteJournal, tmp_path: Path) -> None:
    def broken(tx: SqliteTransaction, stored: StoredNotification) -> None:
        tx.insert_instance(ALERT, NOW)
        raise ValueError("a bug in apply")

    nid, result = await journal.accept(b'{"v": 1}', "c1", NOW, broken)
    assert result is None
    assert journal.backlog() == 1
    assert [s.id for s in await journal.unprocessed(10)] == [nid], "left for ingest to retry"
    other = sqlite3.connect(tmp_path / "journal.db")
    assert other.execute("SELECT COUNT(*) FROM instances").fetchone() == (0,), "apply's writes rolled back"
    assert await journal.refresh_backlog() == 1


async def test_accept_tells_then_once_when_the_writer_is_cancelled_while_it_runs_ops_one_by_one(
    journal: SqliteJournal,
) -> None:
    """At shutdown the writer may be cancelled while it re-runs a failed batch one operation at
    a time; an accept not yet settled must still tell `then`, or the engine never gives back the
    workers it took for it."""
    told: list[tuple[object, BaseException | None]] = []

    def broken(conn: sqlite3.Connection) -> None:
        raise ValueError("a bug in another operation of the same batch")

    failing = journal._submit(broken, durable=False)
    accepted = journal.accept(b"{}", "c1", NOW, lambda tx, stored: None, lambda *outcome: told.append(outcome))
    await asyncio.sleep(0)  # the batch failed; the accept's own commit is on its way to the disk
    assert journal._writer is not None
    journal._writer.cancel()
    with pytest.raises(ValueError):
        await asyncio.wait_for(failing, timeout=5)  # settled, not left waiting forever
    assert accepted.cancelled()
    [(result, error)] = told
    assert result is None and isinstance(error, asyncio.CancelledError)


async def test_accept_leaves_a_notification_to_ingest_while_an_older_one_waits(journal: SqliteJournal) -> None:
    older = await journal.append_notification(b"{}", "c0", NOW)
    applied: list[int] = []
    nid, result = await journal.accept(b"{}", "c1", NOW, lambda tx, stored: applied.append(stored.id))
    assert result is None and applied == []
    assert [s.id for s in await journal.unprocessed(10)] == [older, nid]


async def test_accept_sees_every_way_a_notification_is_left_unapplied_after_one_it_applied(
    journal: SqliteJournal,
) -> None:
    """Accept asks the database whether anything waits only when something may: an append, an
    apply that failed and a rolled-back batch each leave a notification unapplied, and every
    accept after one of them must leave its own to ingest, behind it."""

    def applies(tx: SqliteTransaction, stored: StoredNotification) -> int:
        return stored.id

    def fails(tx: SqliteTransaction, stored: StoredNotification) -> None:
        raise ValueError("a bug in apply")

    def drain() -> "asyncio.Future[None]":
        async def mark() -> None:
            waiting = [s.id for s in await journal.unprocessed(10)]
            await journal.transact(lambda tx: tx.mark_processed(waiting, NOW))

        return asyncio.ensure_future(mark())

    assert (await journal.accept(b"{}", "a", NOW, applies))[1] is not None
    await journal.append_notification(b"{}", "appended", NOW)
    assert (await journal.accept(b"{}", "b", NOW, applies))[1] is None
    await drain()
    assert (await journal.accept(b"{}", "c", NOW, applies))[1] is not None
    assert (await journal.accept(b"{}", "d", NOW, fails))[1] is None
    assert (await journal.accept(b"{}", "e", NOW, applies))[1] is None
    await drain()
    assert (await journal.accept(b"{}", "f", NOW, applies))[1] is not None

    # One batch: ingest applies the waiting one, an accept then finds nothing waiting, and the
    # database fails the batch. The rollback leaves the first unapplied again.
    waiting = await journal.append_notification(b"{}", "waits", NOW)

    def database_fails(tx: SqliteTransaction) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    async def accept_g() -> tuple[int, int | None]:
        return await journal.accept(b"{}", "g", NOW, applies)

    outcomes = await asyncio.gather(  # tasks: each submits in turn, before the writer runs
        journal.transact(lambda tx: tx.mark_processed([waiting], NOW)),
        accept_g(),
        journal.transact(database_fails),
        return_exceptions=True,
    )
    assert all(isinstance(o, sqlite3.OperationalError) for o in outcomes), outcomes
    assert [s.id for s in await journal.unprocessed(10)] == [waiting]
    assert (await journal.accept(b"{}", "h", NOW, applies))[1] is None, "the rolled-back one still waits"


async def _status(journal: SqliteJournal) -> dict[tuple[str, str], str]:
    found = await journal.transact(lambda tx: tx.instances([(ALERT.fingerprint, ALERT.starts_at)]))
    return {key: instance.status for key, instance in found.items()}


@pytest.mark.parametrize("path", ["accept", "transact"])
async def test_a_rolled_back_change_to_an_instance_is_not_remembered(journal: SqliteJournal, path: str) -> None:
    """Instances are cached for repeats; a change that was rolled back must not be served."""
    await _plan(journal)
    key = (ALERT.fingerprint, ALERT.starts_at)

    def resolve_then_fail(tx: SqliteTransaction, *_: object) -> None:
        tx.set_status(tx.instances([key])[key], "resolved", NOW)
        raise ValueError("a bug after the change")

    if path == "accept":
        await journal.accept(b"{}", "c1", NOW, resolve_then_fail)
    else:
        with pytest.raises(ValueError):
            await journal.transact(resolve_then_fail)
    assert await _status(journal) == {key: "firing"}


async def test_a_pruned_instance_is_forgotten(journal: SqliteJournal) -> None:
    await _plan(journal)
    key = (ALERT.fingerprint, ALERT.starts_at)
    await journal.transact(lambda tx: tx.set_status(tx.instances([key])[key], "resolved", NOW))
    assert await journal.prune(NOW + 10**6) == 1
    assert await _status(journal) == {}


async def test_the_guards_read_only_their_window_and_target_not_every_step(journal: SqliteJournal) -> None:
    """With SQLite's planner left to choose, the breaker's count scanned every remediation."""
    await _plan(journal, STOP)
    statements: list[str] = []

    def guards(tx: SqliteTransaction) -> list[str]:
        tx._conn.set_trace_callback(statements.append)
        try:
            tx.guard_state(["EMERGENCY_STOP"], ["n/d"], 600, NOW, 20)
        finally:
            tx._conn.set_trace_callback(None)
        return [
            detail
            for sql in statements
            for *_, detail in tx._conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
            if "steps" in detail
        ]

    plans = await journal.transact(guards)
    assert len(plans) == 2, plans
    assert all("USING INDEX steps_remediation_" in p for p in plans), plans


async def test_a_claim_does_no_more_work_when_thousands_of_steps_are_due_or_running(journal: SqliteJournal) -> None:
    """A claim that grew with the backlog grew the backlog. SQLite's own instruction count (its
    progress handler), not time, shows it: claiming 1 of 4,000 due, or with 4,000 running on
    leases that have not run out, costs what claiming 1 of 40 does."""

    def instructions_to_claim_one(tx: SqliteTransaction) -> int:
        with _instructions(tx._conn) as counted:
            assert len(tx.claim("remediation", 1, NOW, 300)) == 1
        return counted[0]

    await _plan(journal, *_due("remediation", 40))
    few = await journal.transact(instructions_to_claim_one)
    await _plan(journal, *_due("remediation", 4000, start=40))
    many_due = await journal.transact(instructions_to_claim_one)
    assert len(await _claim(journal, "remediation", 4000, NOW, 300)) == 4000
    await _plan(journal, *_due("remediation", 1, start=5000))
    many_running = await journal.transact(instructions_to_claim_one)
    assert max(many_due, many_running) <= 2 * few + 5, (few, many_due, many_running)


async def _plan_leasing(journal: SqliteJournal, room: dict[str, int], *steps: PlannedStep) -> dict[str, list[Step]]:
    def plan(tx: SqliteTransaction) -> dict[str, list[Step]]:
        tx.lease_new(room, NOW, 60)
        key = (ALERT.fingerprint, ALERT.starts_at)
        instance = tx.instances([key]).get(key) or tx.insert_instance(ALERT, NOW)
        tx.add_steps(instance, steps, NOW, "c1")
        return {kind: tx.leased(kind) for kind in ("remediation", "escalation")}

    return await journal.transact(plan)


async def test_steps_due_now_are_leased_as_they_are_added_up_to_the_room_offered(journal: SqliteJournal) -> None:
    leased = await _plan_leasing(
        journal, {"remediation": 2, "escalation": 0}, *_due("remediation", 3), *_due("escalation", 1)
    )
    assert [(s.name, s.params, s.attempts, s.correlation_id) for s in leased["remediation"]] == [
        ("EMERGENCY_STOP", {"n": 0}, 1, "c1"),
        ("EMERGENCY_STOP", {"n": 1}, 1, "c1"),
    ]
    assert leased["escalation"] == []
    assert leased["remediation"][0].instance.fingerprint == ALERT.fingerprint
    # Leased as a claim would have: not claimable again before the lease runs out, then once.
    [third] = await _claim(journal, "remediation", 10, NOW, 60)
    assert third.params == {"n": 2}
    assert await _claim(journal, "remediation", 10, NOW + 59, 60) == []
    assert len(await _claim(journal, "escalation", 10, NOW, 60)) == 1
    again = await _claim(journal, "remediation", 10, NOW + 61, 60)
    assert sorted(s.id for s in again) == sorted(s.id for s in [*leased["remediation"], third])
    assert {s.attempts for s in again} == {2}


async def test_no_step_is_leased_ahead_of_an_older_one_that_is_due(journal: SqliteJournal) -> None:
    """A claim serves the oldest due first; a new step leased on insert must not jump that queue."""
    await _plan(journal, *_due("remediation", 1))
    leased = await _plan_leasing(journal, {"remediation": 5, "escalation": 5}, *_due("remediation", 1, start=1))
    assert leased["remediation"] == []
    assert [s.params for s in await _claim(journal, "remediation", 1, NOW, 60)] == [{"n": 0}]


async def test_no_step_is_leased_while_an_expired_lease_waits_to_be_claimed_again(journal: SqliteJournal) -> None:
    await _plan(journal, *_due("remediation", 1))
    assert len(await _claim(journal, "remediation", 1, NOW, -1)) == 1  # a lease that ran out at once
    leased = await _plan_leasing(journal, {"remediation": 5, "escalation": 5}, *_due("remediation", 1, start=1))
    assert leased["remediation"] == []


async def test_steps_not_yet_due_and_steps_planned_before_are_not_leased(journal: SqliteJournal) -> None:
    first = await _plan_leasing(journal, {"remediation": 5, "escalation": 5}, *_due("escalation", 1, delay=300))
    assert first["escalation"] == []
    leased = await _plan_leasing(journal, {"remediation": 5, "escalation": 5}, *_due("remediation", 1))
    assert len(leased["remediation"]) == 1
    again = await _plan_leasing(journal, {"remediation": 5, "escalation": 5}, *_due("remediation", 1))
    assert again["remediation"] == []  # the same key: already planned, and INSERT OR IGNORE adds nothing


RUNG = PlannedStep("escalation", "sms", 900.0, {"event": "firing", "rung": 1}, "escalation:firing:sms")


async def _storm(journal: SqliteJournal, count: int, start: int) -> None:
    """`count` other alerts firing, each with a later rung and a delayed remediation pending."""

    def add(tx: SqliteTransaction) -> None:
        for i in range(start, start + count):
            other = tx.insert_instance(replace(ALERT, fingerprint=f"other{i}"), NOW)
            tx.add_steps(other, [RUNG, *_due("remediation", 1, delay=900)], NOW, f"c{i}")

    await journal.transact(add)


async def test_a_resolve_reads_its_own_steps_not_every_pending_rung(journal: SqliteJournal) -> None:
    """In a storm every firing alert leaves later rungs pending; a resolve that read all of them
    grew dearer with each alert still firing. SQLite's instruction count (its progress handler)
    shows it: stopping one instance's ladder costs the same beside 4,000 pending rungs as beside 40."""

    def instructions_to_stop_one(tx: SqliteTransaction) -> int:
        key = (ALERT.fingerprint, ALERT.starts_at)
        instance = tx.instances([key])[key]
        with _instructions(tx._conn) as counted:
            assert tx.stop_pending(instance, NOW) == (1, 1)
        tx._conn.execute("UPDATE steps SET status = 'pending' WHERE instance_id = ?", (instance.id,))
        return counted[0]

    await _plan(journal, RUNG, STOP)
    await _storm(journal, 40, 0)
    few = await journal.transact(instructions_to_stop_one)
    await _storm(journal, 4000, 40)
    many = await journal.transact(instructions_to_stop_one)
    assert many <= 2 * few + 5, (few, many)


async def test_an_acknowledgement_reads_its_own_rungs_not_every_pending_rung(journal: SqliteJournal) -> None:
    """The acknowledgement stops its instance's ladder the way a resolve does, and for the same
    reason must not read every other alert's rungs: it costs the same beside 4,000 as beside 40."""
    assert journal._conn is not None

    async def instructions_to_acknowledge(fingerprint: str) -> int:
        def plan(tx: SqliteTransaction) -> None:
            tx.add_steps(tx.insert_instance(replace(ALERT, fingerprint=fingerprint), NOW), [RUNG], NOW, "c")

        await journal.transact(plan)
        assert journal._conn is not None
        with _instructions(journal._conn) as counted:
            outcome = await journal.escalation.acknowledge(fingerprint, "alice", "slack", NOW, lambda *_: [])
        assert outcome.cancelled == ["sms (rung 1)"]
        return counted[0]

    await _storm(journal, 40, 0)
    few = await instructions_to_acknowledge("acked-beside-few")
    await _storm(journal, 4000, 40)
    many = await instructions_to_acknowledge("acked-beside-many")
    assert many <= 2 * few + 5, (few, many)


async def test_the_wal_restarts_under_writes_that_never_pause(tmp_path: Path) -> None:
    """PASSIVE checkpoints copy what was committed when they began: under writes that never
    pause, more always was, the WAL never restarted and grew with everything written (320 MB
    after 15 s of wrk). Past its bound the writer restarts it between two transactions."""
    journal = SqliteJournal(tmp_path / "journal.db")
    journal.checkpoint_seconds, journal.wal_reset_frames = 0.01, 64
    await journal.start()
    written, wal = 0, tmp_path / "journal.db-wal"

    async def appender() -> None:
        nonlocal written
        for _ in range(300):
            await journal.append_notification(bytes(8192), "c", NOW)
            written += 8192

    try:
        await asyncio.gather(*(appender() for _ in range(8)))  # the writer is never without work for long
        largest = wal.stat().st_size
    finally:
        await journal.close()
    assert written > 16_000_000
    assert largest < 4_000_000, f"the WAL grew to {largest} bytes"


async def test_a_reader_on_an_old_snapshot_does_not_hold_the_writer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A restart waits for readers on older snapshots (a sqlite3 shell, a backup). Under the
    writer's busy timeout it held every write for 5 s, again each second; now it gives up at
    once, says why, and is asked again later."""
    journal = SqliteJournal(tmp_path / "journal.db")
    journal.checkpoint_seconds, journal.wal_reset_frames = 0.01, 64
    await journal.start()
    reader = sqlite3.connect(tmp_path / "journal.db", isolation_level=None)
    try:
        await journal.append_notification(bytes(8192), "c", NOW)
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM notifications").fetchall()  # its snapshot is held until it ends
        for _ in range(500):
            await asyncio.wait_for(journal.append_notification(bytes(8192), "c", NOW), timeout=3)
            if "journal WAL not restarted" in caplog.text:
                break
    finally:
        reader.close()
        await journal.close()
    [warning, *_] = [r for r in caplog.records if r.getMessage().startswith("journal WAL not restarted")]
    assert "older snapshot" in warning.__dict__["error"]
