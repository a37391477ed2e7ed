"""Group commit over one PostgreSQL connection: operations are functions of the connection, and
those waiting together run in one transaction. It knows no table.

A transaction runs whole in one coroutine of the event loop, which alone uses the connection:
its operations (the `Transaction` protocol is synchronous: they run in a greenlet, see
postgres_loop) and its COMMIT, in psycopg's pipeline mode. A statement whose result nobody
reads is sent without waiting for it, a read waits for everything sent before it (an operation
costs one round trip per result it reads, not per statement), and while it waits the loop
serves requests: nothing blocks it, and no thread takes turns with it on the GIL. What is
submitted meanwhile waits for the next transaction, which is what groups them: a batch of
notifications costs one commit, and one wait for the server's WAL flush. Batches run back to
back; each batch's callers are told as it ends. Operations may say, as their transaction
begins, what they will read (`announce`, after `on_begin`), so that the owner can read a whole
batch's at once, in one round trip.

A statement's error may therefore surface at a later read, or at the batch's end. Operations,
and `on_begin`, `before_commit` and `on_rollback`, run on the loop between its other callbacks,
as a coroutine's code does: what they share with the rest of the process needs no lock. A batch
cancelled while it waits (the loop closing before the journal did) is unwound from there and
rolled back: the owner hears it as a rollback, and its callers that it was abandoned, though its
commit may have reached the disk.

The session commits with `synchronous_commit = on` whatever the role's default: a batch holding
an append, an operation or a delivery mark returns only once its commit is flushed. A batch
with none of those sets it `off` for itself (`SET LOCAL`): a claim or a step's outcome then
survives a crash of the responder, and a crash of the server may lose the last of them, which
only redoes work that is safe to redo (see `Journal`).

Replicas share the database, so a transaction can meet another replica's: a unique key taken
meanwhile, a lock wait that timed out, a deadlock. The batch is then rolled back and run again
one operation per transaction, each retried a few times (an operation may also ask for that by
raising `RunAgain`); an operation whose own code raised, or whose statement the database
refused, is run alone once more, so only it fails. An error of the database itself (the
connection lost, a full disk, a shutdown) fails the batch: the connection is dropped and made
again by the next batch.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from psycopg import errors

from responder.journal.group_commit import Batches, Op, OpFailed, Outcome, abandon, settle
from responder.journal.postgres_loop import LoopConnection, run_sync

T = TypeVar("T")
Connection = LoopConnection
CONFLICT_RETRIES = 5
log = logging.getLogger("responder.journal")
# Another replica's transaction came first: running the operation again sees what it committed.
CONFLICTS = (errors.UniqueViolation, errors.TransactionRollback, errors.LockNotAvailable)
# The database or the way to it, rather than one operation's statement.
UNAVAILABLE = (psycopg.OperationalError, psycopg.InterfaceError)


def unavailable(error: BaseException) -> bool:
    return isinstance(error, UNAVAILABLE) and not isinstance(error, CONFLICTS)


class RunAgain(Exception):
    """Raised by an operation that must be rolled back and called again: it will do something
    else the next time (an `accept` whose apply failed appends without applying)."""


class GroupCommitWriter(Batches[Connection]):
    """The only user of its connection. `connect` makes a connection and `on_connect` runs on
    each new one before its first batch, both in a batch's greenlet (see postgres_loop).
    `on_begin` is called as each transaction begins, `before_commit` after its last operation
    (to send what the owner deferred), and `on_rollback` with the error when one is rolled back,
    before its callers are told, so that what the owner keeps about the database (a cache, a
    flag, what the transaction leased) follows what the database holds.
    `failure` is the error of the database itself that last failed a batch, until a batch that
    wrote commits."""

    def __init__(
        self,
        connect: Callable[[], Connection],
        on_connect: Callable[[Connection], None],
        on_begin: Callable[[], None],
        before_commit: Callable[[Connection], None],
        on_rollback: Callable[[BaseException], None],
    ) -> None:
        self._connect, self._on_connect = connect, on_connect
        self._on_begin, self._before_commit, self._on_rollback = on_begin, before_commit, on_rollback
        self._conn: Connection | None = None
        super().__init__()
        self.failure: str | None = None

    def probe(self) -> "asyncio.Future[None]":
        """Commit a transaction that takes a transaction id (so its commit writes and flushes):
        `failure` clears if the database took it."""

        def take_an_id(conn: Connection) -> None:
            conn.execute("SELECT pg_current_xact_id()")

        return self.submit(take_an_id, durable=True)

    async def close(self) -> None:
        """Finish what was submitted before, then close the connection."""
        await self._finished()
        if self._conn is not None:
            await self._conn.raw.close()
            self._conn = None

    async def _execute(self, batch: list[Op]) -> None:
        """The batch, in a greenlet (see postgres_loop); its callers told as it ends."""
        done: list[Outcome] = []
        try:
            await run_sync(self._execute_batch, batch, done)
        except BaseException as exc:  # those that ended are told so, the others are abandoned
            settle(done)
            abandon(batch[len(done) :], exc)
            raise
        settle(done)

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self._connected()
        return self._conn

    def _connected(self) -> Connection:
        conn = self._connect()
        try:
            self._on_connect(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _execute_batch(self, batch: list[Op], done: list[Outcome]) -> None:
        """Run `batch`, its outcomes into `done` in order as they are known."""
        try:
            results = self._transaction(batch)
        except psycopg.Error as exc:
            if unavailable(exc):  # the database itself: nothing in the batch holds
                done += [(op, None, exc) for op in batch]
                return
            self._one_by_one(batch, done)  # another replica came first, or one operation's statement failed
            return
        except (OpFailed, RunAgain):
            self._one_by_one(batch, done)
            return
        done += [(op, result, error) for op, (result, error) in zip(batch, results, strict=True)]

    def _one_by_one(self, batch: list[Op], done: list[Outcome]) -> None:
        for op in batch:
            done.append((op, *self._alone(op)))

    def _alone(self, op: Op) -> tuple[Any, BaseException | None]:
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                [(result, error)] = self._transaction([op])
            except OpFailed as failed:
                return None, failed.error
            except (RunAgain, *CONFLICTS) as exc:
                if attempt == CONFLICT_RETRIES:
                    return None, exc
                continue
            except psycopg.Error as exc:  # unavailable, or this operation's own statement
                return None, exc
            return result, error
        raise AssertionError("unreachable: the last attempt returns")

    def _transaction(self, ops: list[Op]) -> list[tuple[Any, BaseException | None]]:
        try:
            conn = self._connection()
        except Exception as exc:  # the server, or what on_connect found there
            self.failure = f"cannot connect to PostgreSQL: {exc}"
            raise psycopg.OperationalError(self.failure) from exc
        try:
            results, wrote = self._run(conn, ops)
        except BaseException as exc:
            if unavailable(exc):
                self.failure = str(exc).strip() or type(exc).__name__
            if conn.closed:
                self._conn = None
            raise
        if wrote:
            self.failure = None
        return results

    def _run(self, conn: Connection, ops: list[Op]) -> tuple[list[tuple[Any, BaseException | None]], bool]:
        """The transaction: its results, and whether it wrote (while
        failing, only a commit that wrote clears `failure`)."""
        wrote = self.failure is None
        self._on_begin()
        for op in ops:
            if op.announce is not None:
                op.announce()
        try:
            results: list[tuple[Any, BaseException | None]] = []
            with conn.pipeline():
                if not any(op.durable for op in ops):
                    conn.execute("SET LOCAL synchronous_commit = off")
                for op in ops:
                    try:
                        results.append((op.fn(conn), None))
                    except (psycopg.Error, RunAgain):
                        raise
                    except Exception as exc:
                        raise OpFailed(exc) from exc
                self._before_commit(conn)
                if not wrote:
                    row = conn.execute("SELECT pg_current_xact_id_if_assigned() IS NOT NULL").fetchone()
                    wrote = bool(row and row[0])
                conn.commit()  # in the pipeline: the batch's last statements and its COMMIT, one round trip
        except BaseException as exc:
            self._rolled_back(conn, exc)
            raise
        return results, wrote

    def _rolled_back(self, conn: Connection, exc: BaseException) -> None:
        """After a failed transaction: roll back, and close a connection that is broken (the
        next transaction makes a new one)."""
        self._on_rollback(exc)
        try:
            if not conn.closed:
                conn.rollback()
        except psycopg.Error:
            conn.close()
        if conn.broken or conn.closed:
            conn.close()
