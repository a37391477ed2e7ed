"""The embedded journal: one SQLite file in WAL mode, written through a group-commit writer.

Disk flushes go where a lost write would break a promise (see `Journal`): a batch holding an
append, an operation or a delivery mark commits with an fsync; claims and step outcomes survive
a crash of the process, and what a power loss can cost of them is redone safely at start:
remediations are idempotent; an escalation message may be repeated. A file lock keeps a second
responder process off the same journal: SQLite here is single-process, which is also why steps
left `running` by a crash can be handed back at start without waiting for their lease.

Free space is measured by the checkpointer, once a round, never on a request: below the reserve
`accept` refuses at the cost of one attribute read, and readiness (`write_problem`) says why.
While the last write failed, each round's measurement also has the writer try a small write, so
that readiness comes back when the disk does even if nothing else writes.

The modules around this one: sqlite_schema (opening the file, migrations), sqlite_writer
(batches and commits), sqlite_checkpoint (the WAL), sqlite_space (free space), sqlite_rows
(statuses, columns and the connection they share), sqlite_tx (the Transaction), sqlite_queries
and sqlite_views (statements and read models), sqlite_holds and sqlite_escalation.
"""

import asyncio
import contextlib
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from responder.journal import (
    Effect,
    JournalFullError,
    Listing,
    Operation,
    ReadAhead,
    Settled,
    Step,
    StepResult,
    StoredNotification,
    sqlite_holds,
)
from responder.journal import sqlite_queries as queries
from responder.journal import sqlite_views as views
from responder.journal.sqlite_checkpoint import CHECKPOINT_SECONDS, Checkpointer
from responder.journal.sqlite_escalation import SqliteEscalationStore
from responder.journal.sqlite_queries import insert_notification
from responder.journal.sqlite_rows import JournalConnection
from responder.journal.sqlite_schema import PRIVATE_DIR_MODE, connect, open_private
from responder.journal.sqlite_space import MIB, Space, measure
from responder.journal.sqlite_tx import SqliteTransaction
from responder.journal.sqlite_writer import GroupCommitWriter
from responder.planner import PlannedStep

T = TypeVar("T")
_WAL_FRAME_HEADER = 24  # bytes before each page in the WAL
log = logging.getLogger("responder.journal")
_NOT_STARTED = "the journal is not started, or was closed: start() it before use"
WAL_MAX = 256 * MIB  # journal.wal_max's default
RESERVE = 320 * MIB  # journal.reserve's default: the WAL's bound and a margin for a second of writes


class JournalLockedError(RuntimeError):
    """Another responder process holds this journal."""


class SqliteJournal:
    def __init__(
        self,
        path: Path,
        checkpoint_seconds: float = CHECKPOINT_SECONDS,
        wal_max: int = WAL_MAX,
        reserve: int = RESERVE,
    ) -> None:
        """`wal_max`: the WAL's bound in bytes; `reserve`: the free bytes below which new
        notifications are refused (journal.wal_max and journal.reserve)."""
        self.path = path
        self._checkpoint_seconds, self._wal_max, self._reserve = checkpoint_seconds, wal_max, reserve
        self._space: Space | None = None  # the last measurement
        self._full: str | None = None  # why new notifications are refused, while they are
        self._probing = False
        self._conn: JournalConnection | None = None
        self._writer: GroupCommitWriter[JournalConnection] | None = None
        self._checkpointer: Checkpointer | None = None
        self._lock_file: IO[str] | None = None
        self._backlog = 0
        # False only while no notification can be unapplied: set by anything that leaves one so
        # (an append, an apply that failed, a rollback, a start), cleared by a query that finds
        # none. Spares accept that query while nothing waits, which is nearly always.
        self._maybe_unapplied = True
        self.escalation = SqliteEscalationStore(self.run)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self.path.parent.mkdir(PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        lock_file = os.fdopen(open_private(self.path.parent / f"{self.path.name}.lock"), "w")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            raise JournalLockedError(
                f"{self.path} is in use by another responder process; stop it, or give this "
                "one its own journal (journal.sqlite in responder.yaml)"
            ) from None
        try:
            self._conn = connect(self.path)
        except BaseException:
            lock_file.close()
            raise
        self._lock_file = lock_file
        self._maybe_unapplied = True
        self._conn.execute(f"PRAGMA journal_size_limit = {self._wal_max}")  # the WAL shrinks to it on a restart
        (page_size,) = self._conn.execute("PRAGMA page_size").fetchone()
        self._measured(measure(self.path, self._reserve))
        self._writer = GroupCommitWriter(self._conn, self._rolled_back)
        started = time.time()
        await self.run(lambda conn: queries.recover(conn, started))
        await self.refresh_backlog()
        self._checkpointer = Checkpointer(
            self.path,
            self._checkpoint_seconds,
            self._wal_max // (page_size + _WAL_FRAME_HEADER),
            self._reserve,
            self._writer.request_wal_restart,
            self._measured_off_loop(asyncio.get_running_loop()),
        )
        self._checkpointer.start()

    async def close(self) -> None:
        if self._checkpointer is not None:
            await self._checkpointer.stop()
            self._checkpointer = None
        if self._writer is not None:  # what was asked before close is still written
            await self._writer.close()
            self._writer = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _measured_off_loop(self, loop: asyncio.AbstractEventLoop) -> Callable[[Space], None]:
        def measured(space: Space) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed before the journal did: nobody to tell
                loop.call_soon_threadsafe(self._measured, space)

        return measured

    def _measured(self, space: Space) -> None:
        """A free-space measurement, on the loop: refuse or accept new notifications from now
        on; while the last write failed and there is room again, find out with a write."""
        self._space = space
        self._full = space.problem() if space.low else None
        writer = self._writer
        if writer is not None and writer.failure is not None and not space.low and not self._probing:
            self._probing = True
            writer.probe().add_done_callback(self._probed)

    def _probed(self, done: "asyncio.Future[None]") -> None:
        self._probing = False
        if not done.cancelled() and done.exception() is not None:
            log.warning("journal still not writable", extra={"error": str(done.exception())})

    def _refused(self, full: str, then: Settled[Any] | None) -> "asyncio.Future[Any]":
        """A new notification refused below the reserve: failed at once, nothing written."""
        error = JournalFullError(full)
        if then is not None:
            then(None, error)
        refused: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        refused.set_exception(error)
        return refused

    def _rolled_back(self) -> None:
        """A transaction was lost: the instances it cached, and whether it applied notifications."""
        assert self._conn is not None
        self._conn.instance_cache.clear()
        self._maybe_unapplied = True

    async def run(self, fn: Callable[[JournalConnection], T], durable: bool = False) -> T:
        """`fn(conn)` in the writer's next transaction: for this backend's own stores (the
        escalation store) and for diagnostics that hook the connection (query plans, SQLite's
        instruction count). What it writes commits with the batch; on disk when `durable`."""
        writer = self._writer
        if writer is None:
            raise RuntimeError(_NOT_STARTED)
        return await writer.submit(fn, durable)

    # --- the Journal protocol -----------------------------------------------------------

    async def append_notification(self, body: bytes, correlation_id: str, now: float) -> int:
        def append(conn: JournalConnection) -> int:
            self._maybe_unapplied = True
            return insert_notification(conn, body, correlation_id, now, None)

        if self._full is not None:
            raise JournalFullError(self._full)
        notification_id = await self.run(append, durable=True)
        self._backlog += 1
        return notification_id

    def accept(
        self,
        body: bytes,
        correlation_id: str,
        now: float,
        apply: Callable[[SqliteTransaction, StoredNotification], T],
        then: Settled[tuple[int, T | None]] | None = None,
        ahead: ReadAhead | None = None,
    ) -> "asyncio.Future[tuple[int, T | None]]":
        """See `Journal.accept`; `ahead` is not needed here, where a read costs no round trip."""

        def append_and_apply(conn: JournalConnection) -> tuple[int, T | None]:
            # The backlog counts what this adds, once it ran (a rollback only makes it count high
            # until the next recount): the notification if it is left unapplied, else the
            # remediations it planned.
            if self._maybe_unapplied:
                self._maybe_unapplied = queries.any_unapplied(conn)
            if self._maybe_unapplied:
                self._backlog += 1
                return insert_notification(conn, body, correlation_id, now, None), None
            notification_id = insert_notification(conn, body, correlation_id, now, now)
            conn.execute("SAVEPOINT apply")
            tx = SqliteTransaction(conn)
            try:
                result = apply(tx, StoredNotification(notification_id, body, correlation_id))
            except sqlite3.OperationalError:  # the database itself: the whole batch fails and is answered 503
                raise
            except Exception:
                log.exception("applying failed; ingest retries it", extra={"notification": notification_id})
                conn.execute("ROLLBACK TO apply")
                conn.instance_cache.clear()
                queries.unapply(conn, notification_id)
                self._maybe_unapplied = True
                conn.execute("RELEASE apply")
                self._backlog += 1
                return notification_id, None
            conn.execute("RELEASE apply")
            self._backlog += tx.planned_remediations
            return notification_id, result

        writer = self._writer
        if writer is None:
            raise RuntimeError(_NOT_STARTED)
        if self._full is not None:
            return self._refused(self._full, then)
        return writer.submit(append_and_apply, True, then)

    async def unprocessed(self, limit: int) -> list[StoredNotification]:
        return await self.run(lambda conn: queries.unprocessed(conn, limit))

    async def transact(self, fn: Callable[[SqliteTransaction], T]) -> T:
        return await self.run(lambda conn: fn(SqliteTransaction(conn)))

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
        await self.run(lambda conn: queries.finish_step(conn, step, result, started, now, retry_at, then, if_resolved))

    async def record_effects(self, step: Step, effects: Sequence[Effect], changed: Sequence[str], now: float) -> None:
        await self.run(lambda conn: queries.record_effects(conn, step, effects, changed, now))

    async def next_due(self, kind: str) -> float | None:
        return await self.run(lambda conn: queries.next_due(conn, kind))

    async def instances(self, filters: dict[str, str], limit: int) -> list[dict[str, Any]]:
        return await self.run(lambda conn: views.instances(conn, filters, limit))

    async def timeline(self, fingerprint: str) -> list[dict[str, Any]]:
        return await self.run(lambda conn: views.timeline(conn, fingerprint))

    async def listing(self, query: Listing) -> list[dict[str, Any]]:
        return await self.run(lambda conn: views.listing(conn, query))

    async def acknowledgements(self, limit: int) -> list[dict[str, Any]]:
        return await self.run(lambda conn: views.acknowledgements(conn, limit))

    async def record_operation(self, operation: Operation) -> None:
        await self.run(lambda conn: sqlite_holds.record_operation(conn, operation), durable=True)

    async def holds(self, state: str | None = None, namespace: str | None = None) -> list[dict[str, Any]]:
        return await self.run(lambda conn: sqlite_holds.holds(conn, state, namespace))

    async def operations(self, limit: int) -> list[dict[str, Any]]:
        return await self.run(lambda conn: sqlite_holds.operations(conn, limit))

    async def prune(self, older_than: float) -> int:
        return await self.run(lambda conn: queries.prune(conn, older_than))

    async def refresh_backlog(self) -> int:
        self._backlog = await self.run(queries.backlog)
        return self._backlog

    def backlog(self) -> int:
        return self._backlog

    def write_problem(self) -> str | None:
        writer = self._writer
        if writer is None:
            return _NOT_STARTED
        if writer.failure is not None:
            return (
                f"the last write to {self.path} failed: {writer.failure}; if its disk is full, give the "
                "volume more space; ready again once a write succeeds (tried each second)"
            )
        return self._full
