"""What the PostgreSQL journal adds to the protocol: several replicas on one database, each a
PostgresJournal of its own, on a real server. Claims, planning and the guards hold across them;
a replica's name is its own; the server's durability and outages are seen and said."""

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import pytest

psycopg = pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed")

from responder.journal import Step, StepResult, Transaction  # noqa: E402
from responder.journal.postgres import PostgresJournal  # noqa: E402
from responder.journal.postgres_escalation import LeaseLostError  # noqa: E402
from responder.journal.postgres_schema import SCHEMA_VERSION, JournalSchemaError  # noqa: E402
from responder.journal.postgres_session import ReplicaInUseError  # noqa: E402
from responder.planner import PlannedStep  # noqa: E402
from responder.vocabulary import StepKind  # noqa: E402
from tests.conftest import started  # noqa: E402
from tests.postgres import PostgresServer, running_server  # noqa: E402
from tests.unit.journal.plans import KEY, NOW, STOP, claim, due, plan  # noqa: E402

MUTATING = ["EMERGENCY_STOP", "FREEZE_DEPLOYMENTS"]


@pytest.fixture
def dsn(postgres_server: PostgresServer) -> str:
    return postgres_server.fresh_dsn()


@pytest.fixture
async def pair(dsn: str) -> AsyncIterator[tuple[PostgresJournal, PostgresJournal]]:
    """Two replicas on one database."""
    async with started(PostgresJournal(dsn, replica="a")) as a, started(PostgresJournal(dsn, replica="b")) as b:
        yield a, b


async def test_two_replicas_never_claim_the_same_step(pair: tuple[PostgresJournal, PostgresJournal]) -> None:
    a, b = pair
    await plan(a, *due(StepKind.ESCALATION, 60))
    claims = await asyncio.gather(*(claim(j, StepKind.ESCALATION, 7, NOW, 60) for j in (a, b) * 6))
    ids = [s.id for c in claims for s in c]
    assert len(ids) == len(set(ids)) == 60
    holders = {lease["replica"] for lease in await a.leases()}
    assert holders == {"a", "b"}, "each lease names the replica that holds it"


async def test_an_alert_instance_is_planned_once_whichever_replica_sees_it(
    pair: tuple[PostgresJournal, PostgresJournal],
) -> None:
    """Both replicas see the same first firing at once: one inserts it, the other meets the
    unique key, runs again and finds it."""
    await asyncio.gather(*(plan(j, STOP) for j in pair * 4))
    assert len(await pair[0].instances({}, 10)) == 1
    assert len(await claim(pair[1], StepKind.REMEDIATION, 10, NOW, 60)) == 1


async def test_the_guards_count_what_every_replica_planned(pair: tuple[PostgresJournal, PostgresJournal]) -> None:
    a, b = pair
    await plan(a, STOP)
    other = PlannedStep(StepKind.REMEDIATION, "EMERGENCY_STOP", 0.0, {"target": {}}, "other", "n/e")
    await plan(b, other, fingerprint="fp2")

    def guards(tx: Transaction) -> tuple[int, dict[str, float]]:
        state = tx.guard_state(MUTATING, ["n/e"], 3600, NOW + 1, 10)
        return state.mutations_in_window, dict(state.last_mutation_at)

    assert await a.transact(guards) == (2, {"n/e": NOW})


async def test_a_restarted_replica_hands_back_its_own_running_steps_and_leaves_the_others(dsn: str) -> None:
    async with started(PostgresJournal(dsn, replica="a")) as a, started(PostgresJournal(dsn, replica="b")) as b:
        await plan(a, *due(StepKind.ESCALATION, 2))
        [mine] = await claim(a, StepKind.ESCALATION, 1, NOW, 600)
        [theirs] = await claim(b, StepKind.ESCALATION, 1, NOW, 600)
    async with started(PostgresJournal(dsn, replica="a")) as again:
        [handed_back] = await claim(again, StepKind.ESCALATION, 10, NOW + 1, 600)
        assert (handed_back.id, handed_back.interrupted) == (mine.id, True)
        assert [lease["step"] for lease in await again.leases()] == [mine.id, theirs.id]
        assert await claim(again, StepKind.ESCALATION, 10, NOW + 601, 600) != [], "b's, once its lease ran out"


async def test_a_replica_hands_back_only_the_steps_it_holds(pair: tuple[PostgresJournal, PostgresJournal]) -> None:
    a, b = pair
    await plan(a, STOP)
    [step] = await claim(b, StepKind.REMEDIATION, 1, NOW, 600)
    assert await a.transact(lambda tx: tx.release([step])) == 0, "b is running it"
    assert [lease["replica"] for lease in await a.leases()] == ["b"]
    assert await b.transact(lambda tx: tx.release([step])) == 1
    assert [s.id for s in await claim(a, StepKind.REMEDIATION, 1, NOW + 1, 600)] == [step.id]


async def test_a_second_process_with_the_same_replica_name_is_refused(dsn: str) -> None:
    async with started(PostgresJournal(dsn, replica="a")):
        second = PostgresJournal(dsn, replica="a")
        with pytest.raises(ReplicaInUseError, match="RESPONDER_REPLICA"):
            await second.start()


async def test_replicas_starting_together_on_an_empty_database_migrate_once(dsn: str) -> None:
    journals = [PostgresJournal(dsn, replica=f"r{i}") for i in range(4)]
    await asyncio.gather(*(j.start() for j in journals))
    try:
        versions = await journals[0].run(lambda conn: conn.execute("SELECT version FROM responder_schema").fetchall())
        assert versions == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    finally:
        await asyncio.gather(*(j.close() for j in journals))


async def test_a_database_of_a_newer_responder_is_refused_untouched(dsn: str) -> None:
    async with started(PostgresJournal(dsn, replica="a")) as a:
        await a.run(
            lambda conn: conn.execute("INSERT INTO responder_schema VALUES (%s, 'later')", (SCHEMA_VERSION + 1,))
        )
    with pytest.raises(JournalSchemaError, match="newer responder"):
        await PostgresJournal(dsn, replica="a").start()


async def test_commits_are_synchronous_whatever_the_role_says(dsn: str, postgres_server: PostgresServer) -> None:
    async with started(PostgresJournal(dsn, replica="a")) as a:
        await a.run(lambda conn: conn.execute("ALTER ROLE postgres SET synchronous_commit = off"))
    try:
        async with started(PostgresJournal(dsn, replica="a")) as a:
            [(setting,)] = await a.run(lambda conn: conn.execute("SHOW synchronous_commit").fetchall(), durable=True)
            assert setting == "on"
    finally:
        async with started(PostgresJournal(dsn, replica="a")) as a:
            await a.run(lambda conn: conn.execute("ALTER ROLE postgres RESET synchronous_commit"))


@pytest.fixture(scope="module")
def unsafe_server() -> Iterator[PostgresServer]:
    with running_server({"fsync": "off"}) as server:
        yield server


async def test_a_server_without_fsync_is_reported_loudly(
    unsafe_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, "responder.journal"):
        async with started(PostgresJournal(unsafe_server.fresh_dsn(), replica="a")) as journal:
            assert journal.durability_warning is not None and "fsync = off" in journal.durability_warning
            assert journal.write_problem() is None, "it still takes writes"
    assert [r.message for r in caplog.records] == ["journal is not durable"]


async def test_writes_fail_while_the_server_is_down_and_resume_when_it_returns(unsafe_server: PostgresServer) -> None:
    async with started(PostgresJournal(unsafe_server.fresh_dsn(), replica="a")) as journal:
        await plan(journal, STOP)
        [step] = await claim(journal, StepKind.REMEDIATION, 1, NOW, 60)
        await journal.append_notification(b"{}", "c0", NOW)  # durable: flushes the claim committed before it
        await asyncio.get_running_loop().run_in_executor(None, unsafe_server.stop, "immediate")
        try:
            with pytest.raises(psycopg.OperationalError):
                await journal.append_notification(b"{}", "c1", NOW)
            problem = journal.write_problem()
            assert problem is not None and "the last write to the journal" in problem
        finally:
            await asyncio.get_running_loop().run_in_executor(None, unsafe_server.start)
        for _ in range(100):  # the probe finds the server back within a second or two
            if journal.write_problem() is None:
                break
            await asyncio.sleep(0.1)
        assert journal.write_problem() is None
        await journal.finish_step(step, StepResult("succeeded", {}), NOW, NOW + 1, None)
        assert await journal.append_notification(b"{}", "c2", NOW) > 0
        assert await journal.transact(lambda tx: list(tx.instances([KEY]))) == [KEY], "what was flushed survived"


@pytest.fixture(scope="module")
def lazy_wal_server() -> Iterator[PostgresServer]:
    """A server whose WAL writer writes every 10 s: what a transaction committed without waiting
    for the flush is still in memory when the server crashes right after it."""
    with running_server({"wal_writer_delay": "10s"}) as server:
        yield server


async def test_an_sms_provider_id_survives_a_crash_of_the_server(lazy_wal_server: PostgresServer) -> None:
    """The provider's id is what tells a retry, certainly, that the text went: lost in a crash,
    the retry has only a lookup at the provider to go by."""
    dsn = lazy_wal_server.fresh_dsn()
    async with started(PostgresJournal(dsn, replica="a")) as journal:
        await plan(journal, STOP)
        [step] = await claim(journal, StepKind.REMEDIATION, 1, NOW, 60)
        assert await journal.escalation.begin_delivery(step.id, "+15550000999", NOW) is None
        await journal.escalation.confirm_delivery(step.id, "+15550000999", "SM1")
    await asyncio.get_running_loop().run_in_executor(None, lazy_wal_server.restart, "immediate")
    async with started(PostgresJournal(dsn, replica="a")) as journal:
        [again] = await claim(journal, StepKind.REMEDIATION, 1, NOW + 1, 60)  # handed back at start
        mark = await journal.escalation.begin_delivery(again.id, "+15550000999", NOW + 1)
        assert mark is not None and (mark.marked_at, mark.provider_id) == (NOW, "SM1")


async def test_a_claim_survives_a_crash_of_the_server_and_a_lease_taken_over_lets_no_sms_go(
    lazy_wal_server: PostgresServer,
) -> None:
    """A claim's commit waits for its flush: the server's crash keeps it, so no other replica
    takes the step while its replica runs it. Once the lease ran out and another replica took
    the step, the first may not send from then on."""
    dsn = lazy_wal_server.fresh_dsn()
    async with started(PostgresJournal(dsn, replica="a")) as a:
        await plan(a, STOP)
        [step] = await claim(a, StepKind.REMEDIATION, 1, NOW, 60)
        await asyncio.get_running_loop().run_in_executor(None, lazy_wal_server.restart, "immediate")
        with pytest.raises(psycopg.OperationalError):  # the connection the crash cut
            await a.escalation.begin_delivery(step.id, "+15550000999", NOW + 1)
        async with started(PostgresJournal(dsn, replica="b")) as b:
            assert await claim(b, StepKind.REMEDIATION, 1, NOW + 2, 60) == [], "a's lease survived the crash"
            [taken] = await claim(b, StepKind.REMEDIATION, 1, NOW + 61, 60)  # a's lease ran out
            assert taken.id == step.id
            with pytest.raises(LeaseLostError, match="no longer leased by replica 'a'"):
                await a.escalation.begin_delivery(step.id, "+15550000999", NOW + 62)
            assert await b.escalation.begin_delivery(step.id, "+15550000999", NOW + 62) is None


async def finish(journal: PostgresJournal, step: Step) -> None:
    """The step's attempt ended without an answer: retried at once."""
    await journal.finish_step(step, StepResult("retry", {"error": "no answer"}), NOW, NOW, NOW)


async def test_a_mark_before_a_crash_makes_the_claim_durable(lazy_wal_server: PostgresServer) -> None:
    """The mark found (a retry's) flushes too: the retry's claim survives the crash, and nobody
    else may take the step until that lease runs out, not merely the first one."""
    dsn = lazy_wal_server.fresh_dsn()
    async with started(PostgresJournal(dsn, replica="a")) as a:
        await plan(a, STOP)
        [step] = await claim(a, StepKind.REMEDIATION, 1, NOW, 60)
        assert await a.escalation.begin_delivery(step.id, "+15550000999", NOW) is None
        await finish(a, step)  # a retry is due at once: the next attempt finds the mark
        [retry] = await claim(a, StepKind.REMEDIATION, 1, NOW + 1, 60)
        assert await a.escalation.begin_delivery(retry.id, "+15550000999", NOW + 1) is not None
    await asyncio.get_running_loop().run_in_executor(None, lazy_wal_server.restart, "immediate")
    async with started(PostgresJournal(dsn, replica="b")) as b:
        assert await claim(b, StepKind.REMEDIATION, 1, NOW + 60.5, 60) == [], "a's second lease holds"


async def test_of_two_outcomes_of_one_step_in_one_batch_the_first_moves_it_on(dsn: str) -> None:
    """An attempt cut short by its lease and the one that took over end together: both are
    recorded, and the first ends the lease, as it would in a transaction of its own."""
    async with started(PostgresJournal(dsn, replica="a")) as a:
        await plan(a, STOP)
        [first] = await claim(a, StepKind.REMEDIATION, 1, NOW, 60)
        [second] = await claim(a, StepKind.REMEDIATION, 1, NOW + 61, 60)  # its own lease ran out
        await asyncio.gather(
            a.finish_step(first, StepResult("retry", {"error": "no answer"}), NOW, NOW + 62, NOW + 90),
            a.finish_step(second, StepResult("succeeded", {}), NOW + 61, NOW + 62, None),
        )
        [row] = [s for s in (await a.timeline(first.instance.fingerprint))[0]["steps"] if s["kind"] == "remediation"]
        assert (row["status"], row["due_at"], len(row["attempts"])) == ("pending", NOW + 90, 3)


async def test_a_replica_whose_lease_was_taken_over_records_its_attempt_but_not_the_steps_status(
    pair: tuple[PostgresJournal, PostgresJournal],
) -> None:
    a, b = pair
    await plan(a, STOP)
    [step] = await claim(a, StepKind.REMEDIATION, 1, NOW, 60)
    [taken] = await claim(b, StepKind.REMEDIATION, 1, NOW + 61, 60)  # a's lease ran out
    await a.finish_step(step, StepResult("succeeded", {}), NOW, NOW + 62, None)
    assert await b.leases() == [
        {
            "replica": "b",
            "step": taken.id,
            "kind": "remediation",
            "name": "EMERGENCY_STOP",
            "lease_until": NOW + 121,
            "fingerprint": step.instance.fingerprint,
            "starts_at": step.instance.starts_at,
        }
    ], "still running, b's"
    [timeline] = await b.timeline(step.instance.fingerprint)
    assert [attempt["status"] for attempt in timeline["steps"][0]["attempts"]] == ["interrupted", "succeeded"]
