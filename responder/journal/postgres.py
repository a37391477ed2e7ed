"""The shared journal: PostgreSQL, for several responder replicas behind one Service.

Every promise of `Journal` holds across the replicas that share the database: identities are
unique keys, claims lock what they take (FOR UPDATE SKIP LOCKED) and leases name their replica,
the guards count the fleet's mutations (see postgres_tx), and an acknowledgement locks its
instance (see postgres_escalation).

Durability: the responder's sessions commit with `synchronous_commit = on` whatever the role's
default, through a group-commit writer (postgres_writer). A server running with `fsync = off`
makes that promise empty: it is logged as an error at start and kept in `durability_warning`
for readiness to show.

Replicas: each holds a session advisory lock on its own name (`replica`, by default the
host name, which is the pod's name in Kubernetes) while it runs, so two processes never run as
the same replica. Holding it at start proves every earlier process of that name gone, so the
steps it left running are handed back at once (a restarted pod resumes its own work); another
replica's running steps are left to their leases, which other replicas take over when they run
out. While the database is unreachable, writes fail (the webhook answers 503), `write_problem`
says why, and a probe each second finds out when it is back.

The modules around this one: postgres_session (connecting, session settings, the replica's
lock), postgres_schema (tables, migrations, server checks), postgres_replica (what this process
keeps: its name, an instance cache, reserved ids), postgres_writer and postgres_loop (batches
and commits, on the event loop), postgres_reader (the reads, on a thread beside them),
postgres_tx (the Transaction), postgres_queries and postgres_views (statements and read
models), postgres_batch and postgres_guards (what one transaction of the writer knows),
postgres_escalation.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import psycopg

from responder.journal import Effect, Listing, Operation, ReadAhead, Settled, Step, StepResult, StoredNotification
from responder.journal import postgres_queries as queries
from responder.journal import postgres_views as views
from responder.journal.postgres_batch import BatchState
from responder.journal.postgres_escalation import PostgresEscalationStore
from responder.journal.postgres_reader import Reader
from responder.journal.postgres_replica import Replica
from responder.journal.postgres_schema import durability_problem, migrate
from responder.journal.postgres_session import (
    ReplicaInUseError,
    SyncConnection,
    connect,
    connect_on_loop,
    default_replica,
    describe,
    reads_session,
    writer_session,
)
from responder.journal.postgres_tx import PostgresTransaction
from responder.journal.postgres_writer import Connection, GroupCommitWriter, RunAgain, unavailable
from responder.journal_policy import dsn_problem
from responder.planner import PlannedStep

T = TypeVar("T")
log = logging.getLogger("responder.journal")
_NOT_STARTED = "the journal is not started, or was closed: start() it before use"
PROBE_SECONDS = 1.0
# How long a step's outcome is retried while the database is unavailable (a restart, a
# failover) before the step is left to its lease: the work it did is not forgotten meanwhile.
OUTCOME_RETRY_SECONDS = 60.0


class JournalUnavailableError(RuntimeError):
    """The database could not be reached, or refused the responder, at start."""


class PostgresJournal:
    def __init__(self, dsn: str, replica: str | None = None) -> None:
        """`dsn`: a libpq connection string or URI (a secret: it may hold a password);
        `replica`: this process's name among the replicas (see the module's docstring)."""
        self._dsn = dsn
        self.replica = replica or default_replica()
        self.where = describe(dsn)
        self._writer: GroupCommitWriter | None = None
        self._reader: Reader | None = None
        self._prober: asyncio.Task[None] | None = None
        # What the writer's operations keep (they run on the loop, see postgres_writer).
        self._backlog = 0
        # False only while no notification is known to wait for ingest: set by anything that may
        # leave one so (an append, an apply that failed, a rollback, a recount that found one,
        # a start), cleared by a query that finds none. Spares accept that query nearly always.
        self._maybe_unapplied = True
        self._state = Replica(self.replica)
        self._batch = BatchState(self.replica)  # of the writer's transaction in progress
        self.durability_warning: str | None = None
        self.escalation = PostgresEscalationStore(self.run, self._state, lambda: self._batch)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Migrate (under the migration lock), check the server, take this replica's lock, and
        hand back the steps an earlier process of this replica left running."""
        if problem := dsn_problem(self._dsn):
            raise JournalUnavailableError(f"journal.postgresql: its DSN cannot be used: {problem}")
        loop = asyncio.get_running_loop()
        try:
            self.durability_warning = await loop.run_in_executor(None, self._prepare)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise JournalUnavailableError(
                f"cannot create the journal's tables on {self.where}: {str(exc).strip()}; grant the DSN's role "
                "CREATE on its schema, or run `responder journal migrate` once as the database's owner"
            ) from None
        except psycopg.OperationalError as exc:
            raise JournalUnavailableError(
                f"cannot use the journal on {self.where}: {str(exc).strip()}; check journal.postgresql's DSN,"
                " and that the server is up and reachable from here"
            ) from None
        if self.durability_warning is not None:
            log.error("journal is not durable", extra={"error": self.durability_warning, "journal": self.where})
        writer = GroupCommitWriter(
            lambda: connect_on_loop(self._dsn), self._on_connect, self._begun, self._before_commit, self._rolled_back
        )
        try:
            await writer.submit(lambda conn: queries.recover(conn, self.replica, time.time()), durable=True)
        except BaseException as exc:
            await writer.close()
            if isinstance(exc.__cause__, ReplicaInUseError):
                raise exc.__cause__ from None
            raise
        self._writer = writer
        self._reader = Reader(self._reads_connection)
        await self.refresh_backlog()
        self._prober = loop.create_task(self._probe_while_failing())

    def _prepare(self) -> str | None:
        with connect(self._dsn, autocommit=True) as conn:
            migrate(conn, self.where)
            return durability_problem(conn)

    def _on_connect(self, conn: Connection) -> None:
        writer_session(conn, self.replica, self.where)

    def _reads_connection(self) -> SyncConnection:
        return reads_session(self._dsn, self.replica)

    def _begun(self) -> None:
        self._state.leasing.clear()
        self._batch = BatchState(self.replica)

    def _before_commit(self, conn: Connection) -> None:
        self._batch.flush(conn)

    def _rolled_back(self, error: BaseException) -> None:
        """A transaction was lost: the instances it cached, whether it applied notifications, and,
        when the database went away or the writer was cancelled (perhaps after committing), what
        it leased."""
        self._state.instances.clear()
        self._maybe_unapplied = True
        if unavailable(error) or not isinstance(error, Exception):
            self._state.lost_leasing()
        self._state.leasing.clear()

    async def close(self) -> None:
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
            self._prober = None
        if self._reader is not None:
            await self._reader.close()
            self._reader = None
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    async def _probe_while_failing(self) -> None:
        """While the last write failed, commit a small write each second: readiness comes back,
        and the replica's lock is taken again, as soon as the database is back. Then hand back
        what the transactions cut off by the outage leased."""
        while True:
            await asyncio.sleep(PROBE_SECONDS)
            writer = self._writer
            if writer is None:
                continue
            with contextlib.suppress(psycopg.Error):
                if writer.failure is not None:
                    await writer.probe()
                elif uncertain := self._state.take_uncertain():
                    try:
                        await self.run(lambda conn: queries.hand_back(conn, self.replica, uncertain))
                    except psycopg.Error:
                        self._state.keep_uncertain(uncertain)
                        raise

    async def run(self, fn: Callable[[Connection], T], durable: bool = False) -> T:
        """`fn(conn)` in the writer's next transaction (for this backend's own stores), once what
        that transaction deferred before it is sent (see BatchState.flush)."""
        return await self._submit(lambda conn: self._after_deferred(conn, fn), durable)

    def _after_deferred(self, conn: Connection, fn: Callable[[Connection], T]) -> T:
        self._batch.flush(conn)
        return fn(conn)

    def _submit(
        self,
        fn: Callable[[Connection], T],
        durable: bool,
        then: Settled[T] | None = None,
        announce: Callable[[], None] | None = None,
    ) -> "asyncio.Future[T]":
        writer = self._writer
        if writer is None:
            raise RuntimeError(_NOT_STARTED)
        return writer.submit(fn, durable, then, announce)

    # --- the Journal protocol -----------------------------------------------------------

    async def append_notification(self, body: bytes, correlation_id: str, now: float) -> int:
        def append(conn: Connection) -> int:
            self._maybe_unapplied = True
            self._backlog += 1
            return self._append(conn, body, correlation_id, now, None)

        return await self.run(append, durable=True)

    def _append(self, conn: Connection, body: bytes, correlation_id: str, now: float, processed: float | None) -> int:
        return queries.insert_notification(conn, self._state, self._batch, body, correlation_id, now, processed)

    def accept(
        self,
        body: bytes,
        correlation_id: str,
        now: float,
        apply: Callable[[PostgresTransaction, StoredNotification], T],
        then: Settled[tuple[int, T | None]] | None = None,
        ahead: ReadAhead | None = None,
    ) -> "asyncio.Future[tuple[int, T | None]]":
        """See `Journal.accept`. What `ahead` says is read with the rest of its transaction's
        accepts, at the first read one of them needs (see BatchState.read_ahead)."""
        applying = [True]  # False once apply failed: the next call only appends

        def append_and_apply(conn: Connection) -> tuple[int, T | None]:
            self._batch.send_outcomes(conn)
            if self._maybe_unapplied:
                self._maybe_unapplied = queries.any_unapplied(conn, self._batch)
            if self._maybe_unapplied or not applying[0]:
                self._maybe_unapplied = True
                self._backlog += 1
                return self._append(conn, body, correlation_id, now, None), None
            notification_id = self._append(conn, body, correlation_id, now, now)
            tx = PostgresTransaction(conn, self._state, self._batch, shared_guards=True)
            try:
                result = apply(tx, StoredNotification(notification_id, body, correlation_id))
            except psycopg.Error:  # the database, or another replica first: the writer decides
                raise
            except Exception as exc:
                log.exception("applying failed; ingest retries it", extra={"notification": notification_id})
                applying[0] = False
                raise RunAgain(str(exc)) from exc
            self._backlog += tx.planned_remediations
            return notification_id, result

        def announce() -> None:
            if ahead is not None and applying[0]:
                self._batch.foresee(ahead, now)

        return self._submit(append_and_apply, True, then, announce)

    async def unprocessed(self, limit: int) -> list[StoredNotification]:
        return await self.run(lambda conn: queries.unprocessed(conn, self._batch, limit))

    async def transact(self, fn: Callable[[PostgresTransaction], T]) -> T:
        return await self.run(lambda conn: fn(PostgresTransaction(conn, self._state, self._batch)))

    async def finish_step(
        self,
        step: Step,
        result: StepResult,
        started: float,
        now: float,
        retry_at: float | None,
        then: Sequence[PlannedStep] = (),
        if_resolved: Sequence[PlannedStep] = (),
    ) -> None:
        def finish(conn: Connection) -> None:
            queries.finish_step(conn, self._state, self._batch, step, result, started, now, retry_at, then, if_resolved)

        await self._until_recorded(lambda: self._submit(finish, durable=False))

    async def record_effects(self, step: Step, effects: Sequence[Effect], changed: Sequence[str], now: float) -> None:
        await self._until_recorded(
            lambda: self.run(lambda conn: queries.record_effects(conn, self._batch, step, effects, changed, now))
        )

    async def _until_recorded(self, record: Callable[[], Awaitable[None]]) -> None:
        """What a step did, recorded even across a short outage of the database: retried with
        backoff while it is unavailable, for up to OUTCOME_RETRY_SECONDS. Given up, the step
        stays `running` until its lease runs out. A commit whose answer was lost and that is
        run again records the attempt twice; every other write of an outcome is idempotent."""
        deadline, pause = time.monotonic() + OUTCOME_RETRY_SECONDS, 0.1
        while True:
            try:
                return await record()
            except psycopg.Error as exc:
                if not unavailable(exc) or time.monotonic() + pause > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)

    async def next_due(self, kind: str) -> float | None:
        return await self._read(lambda conn: queries.next_due(conn, kind))

    async def instances(self, filters: dict[str, str], limit: int) -> list[dict[str, Any]]:
        return await self._read(lambda conn: views.instances(conn, filters, limit))

    async def timeline(self, fingerprint: str) -> list[dict[str, Any]]:
        return await self._read(lambda conn: views.timeline(conn, fingerprint))

    async def listing(self, query: Listing) -> list[dict[str, Any]]:
        return await self._read(lambda conn: views.listing(conn, query))

    async def acknowledgements(self, limit: int) -> list[dict[str, Any]]:
        return await self._read(lambda conn: views.acknowledgements(conn, limit))

    async def _read(self, fn: Callable[[SyncConnection], T]) -> T:
        """`fn(conn)` on the reads' own connection (see postgres_reader), not in a batch."""
        reader = self._reader
        if reader is None:
            raise RuntimeError(_NOT_STARTED)
        return await reader.read(fn)

    async def record_operation(self, operation: Operation) -> None:
        await self.run(lambda conn: queries.record_operation(conn, operation), durable=True)

    async def holds(self, state: str | None = None, namespace: str | None = None) -> list[dict[str, Any]]:
        return await self._read(lambda conn: views.holds(conn, state, namespace))

    async def operations(self, limit: int) -> list[dict[str, Any]]:
        return await self._read(lambda conn: views.operations(conn, limit))

    async def leases(self) -> list[dict[str, Any]]:
        """The steps running now, each with the replica that holds its lease and until when."""
        return await self._read(views.leases)

    async def prune(self, older_than: float) -> int:
        def prune(conn: Connection) -> int:
            pruned = queries.prune(conn, self._batch, older_than)
            if pruned:
                self._state.instances.clear()
                self._batch.guards = None
            return pruned

        return await self.run(prune)

    async def refresh_backlog(self) -> int:
        def recount(conn: Connection) -> int:
            unapplied, remediations = queries.backlog(conn, self._batch)
            self._maybe_unapplied |= unapplied > 0  # another replica's, perhaps: applied in order by ingest
            self._backlog = unapplied + remediations
            return self._backlog

        return await self.run(recount)

    def backlog(self) -> int:
        return self._backlog

    def write_problem(self) -> str | None:
        writer = self._writer
        if writer is None:
            return _NOT_STARTED
        if writer.failure is not None:
            return (
                f"the last write to the journal ({self.where}) failed: {writer.failure}; check that the server"
                " is up and reachable from this pod; ready again once a write succeeds (tried each second)"
            )
        return None
