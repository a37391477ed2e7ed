"""The SQLite journal's cost guards: query plans and SQLite's own instruction count (its progress
handler, every 10 VM instructions), which unlike time does not move with the machine's load."""

import contextlib
import sqlite3
from collections.abc import Iterator

from responder.journal.sqlite import SqliteJournal
from responder.journal.sqlite_tx import SqliteTransaction
from responder.vocabulary import StepKind
from tests.unit.journal.plans import KEY, NOW, RUNG, STOP, claim, due, plan, storm


@contextlib.contextmanager
def instructions(conn: sqlite3.Connection) -> Iterator[list[int]]:
    """SQLite's count of the work done inside the block."""
    counted = [0]

    def count() -> int:
        counted[0] += 1
        return 0

    conn.set_progress_handler(count, 10)
    try:
        yield counted
    finally:
        conn.set_progress_handler(None, 0)


async def guard_plans(journal: SqliteJournal) -> list[str]:
    """The query plan of every statement `guard_state` runs, line by line."""
    await plan(journal, STOP)
    statements: list[str] = []

    def guards(conn: sqlite3.Connection) -> list[str]:
        conn.set_trace_callback(statements.append)
        try:
            SqliteTransaction(conn).guard_state(["EMERGENCY_STOP"], ["n/d"], 600, NOW, 20)
        finally:
            conn.set_trace_callback(None)
        return [detail for sql in statements for *_, detail in conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()]

    return await journal.run(guards)


async def test_the_guards_read_only_their_window_and_target_not_every_step(journal: SqliteJournal) -> None:
    """With SQLite's planner left to choose, the breaker's count would scan every remediation."""
    plans = [p for p in await guard_plans(journal) if "steps" in p]
    assert len(plans) == 2, plans
    assert all("USING INDEX steps_remediation_" in p for p in plans), plans


async def test_the_guards_read_a_step_s_own_changes_and_a_deployment_s_newest_change(journal: SqliteJournal) -> None:
    """The deployments a step changed are read by its id, and a deployment's last change from the
    newest entry of its index, in index order: neither grows with the changes the journal holds."""
    plans = await guard_plans(journal)
    changes = [p for p in plans if "changes" in p or p.startswith("SEARCH c ")]
    assert len(changes) == 3, plans  # the breaker's count reads a step's changes twice; a target once
    assert all(" USING COVERING INDEX " in p for p in changes), plans
    assert not any(p.startswith(("SCAN c", "SCAN changes", "USE TEMP")) for p in plans), plans


async def test_a_claim_does_no_more_work_when_thousands_of_steps_are_due_or_running(journal: SqliteJournal) -> None:
    """A claim that grew with the backlog would grow the backlog: claiming 1 of 4,000 due, or
    with 4,000 running on leases that have not run out, costs what claiming 1 of 40 does."""

    def instructions_to_claim_one(conn: sqlite3.Connection) -> int:
        with instructions(conn) as counted:
            assert len(SqliteTransaction(conn).claim(StepKind.REMEDIATION, 1, NOW, 300)) == 1
        return counted[0]

    await plan(journal, *due(StepKind.REMEDIATION, 40))
    few = await journal.run(instructions_to_claim_one)
    await plan(journal, *due(StepKind.REMEDIATION, 4000, start=40))
    many_due = await journal.run(instructions_to_claim_one)
    assert len(await claim(journal, StepKind.REMEDIATION, 4000, NOW, 300)) == 4000
    await plan(journal, *due(StepKind.REMEDIATION, 1, start=5000))
    many_running = await journal.run(instructions_to_claim_one)
    assert max(many_due, many_running) <= 2 * few + 5, (few, many_due, many_running)


async def test_a_resolve_reads_its_own_steps_not_every_pending_rung(journal: SqliteJournal) -> None:
    """In a storm every firing alert leaves later rungs pending; a resolve that read all of them
    would grow dearer with each alert still firing: stopping one instance's ladder costs the same
    beside 4,000 pending rungs as beside 40."""

    async def instructions_to_stop(fingerprint: str) -> int:
        await plan(journal, RUNG, STOP, fingerprint=fingerprint)
        key = (fingerprint, KEY[1])

        def stop(conn: sqlite3.Connection) -> int:
            tx = SqliteTransaction(conn)
            instance = tx.instances([key])[key]
            with instructions(conn) as counted:
                assert tx.stop_pending(instance, NOW) == (1, 1)
            return counted[0]

        return await journal.run(stop)

    await storm(journal, 40, 0)
    few = await instructions_to_stop("resolved-beside-few")
    await storm(journal, 4000, 40)
    many = await instructions_to_stop("resolved-beside-many")
    assert many <= 2 * few + 5, (few, many)


async def test_an_acknowledgement_reads_its_own_rungs_not_every_pending_rung(journal: SqliteJournal) -> None:
    """The acknowledgement stops its instance's ladder the way a resolve does, and for the same
    reason must not read every other alert's rungs: it costs the same beside 4,000 as beside 40."""

    async def instructions_to_acknowledge(fingerprint: str) -> int:
        await plan(journal, RUNG, fingerprint=fingerprint)
        counted = [0]

        def count() -> int:
            counted[0] += 1
            return 0

        await journal.run(lambda conn: conn.set_progress_handler(count, 10))
        try:
            outcome = await journal.escalation.acknowledge(fingerprint, "alice", "slack", NOW, lambda *_: [])
        finally:
            await journal.run(lambda conn: conn.set_progress_handler(None, 0))
        assert outcome.cancelled == ["sms (rung 1)"]
        return counted[0]

    await storm(journal, 40, 0)
    few = await instructions_to_acknowledge("acked-beside-few")
    await storm(journal, 4000, 40)
    many = await instructions_to_acknowledge("acked-beside-many")
    assert many <= 2 * few + 5, (few, many)
