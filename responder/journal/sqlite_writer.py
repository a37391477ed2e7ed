"""Group commit over one SQLite connection: operations are functions of the connection, and
those waiting together run in one transaction. It knows no table.

Operations run on the event loop itself. Only a commit that must reach the disk leaves the loop
(and, past the WAL's bound, its restart; see sqlite_checkpoint): it runs on a thread, and what is
asked meanwhile waits for the next transaction, which is what groups them.

A batch with a durable operation commits with synchronous=FULL (one fsync for the batch); any
other batch with NORMAL, which in WAL mode survives a crash of the process, and the next FULL
commit flushes it too.
"""

import asyncio
import concurrent.futures
import logging
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from responder.journal.group_commit import Batches, Op, OpFailed, Outcome, abandon, off_loop, settle
from responder.journal.sqlite_checkpoint import restart_wal

T = TypeVar("T")
C = TypeVar("C", bound=sqlite3.Connection)
log = logging.getLogger("responder.journal")


class GroupCommitWriter(Batches[C]):
    """The only user of `conn` while it runs. `on_rollback` is called when a transaction is
    rolled back, before its callers are told, so that what its owner keeps about the database
    (a cache, a flag) forgets the lost writes. `failure` is the error of the database itself
    (a full disk, an I/O error) that last failed a transaction, until a transaction that wrote
    commits: one that only read proves nothing about the next write. `probe` writes on
    purpose, so that a writer nobody writes through can find out the disk is back."""

    def __init__(self, conn: C, on_rollback: Callable[[], None]) -> None:
        self._conn = conn
        self._on_rollback = on_rollback
        super().__init__()
        self._flusher = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="journal-fsync")
        self._synchronous_full = True  # as the connection was opened
        self._restart_wal = False
        self._probed = False  # the probe ran in the transaction in progress
        self.failure: str | None = None

    def probe(self) -> "asyncio.Future[None]":
        """Commit a write that changes nothing (the schema version set to itself), durably:
        `failure` clears if it reached the disk."""

        def touch_header(conn: C) -> None:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            conn.execute(f"PRAGMA user_version = {int(version)}")
            self._probed = True

        return self.submit(touch_header, durable=True)

    def request_wal_restart(self) -> None:
        """Restart the WAL after the batch in progress (called from the checkpointer's thread)."""
        self._restart_wal = True

    async def close(self) -> None:
        """Finish what was submitted before, then let the flusher thread go."""
        await self._finished()
        self._flusher.shutdown()

    async def _between(self) -> None:
        """Whatever was asked while a commit was on its way to the disk joins the next
        transaction; before it, the WAL is restarted if the checkpointer asked."""
        if self._restart_wal:
            self._restart_wal = False
            await self._restart_wal_now()

    async def _restart_wal_now(self) -> None:
        """Not restarted, the WAL only stays as it is, and the checkpointer asks again."""
        conn = self._conn
        try:
            restarted = await self._on_flusher(lambda: restart_wal(conn))
        except sqlite3.Error as exc:
            restarted, error = False, str(exc)
        else:
            error = "a reader is still on an older snapshot; end its transaction (a sqlite3 shell, a backup?)"
        if not restarted:
            log.warning("journal WAL not restarted; retried in a second", extra={"error": error})

    async def _execute(self, batch: list[Op]) -> None:
        """The whole batch in one transaction with one fsync. If an operation raises, the batch
        is rolled back and run again one operation per transaction, so only the failing one fails."""
        try:
            outcomes = await self._transaction(batch)
        except OpFailed:
            one_by_one: list[Outcome] = []
            try:
                for op in batch:
                    try:
                        [(result, error)] = await self._transaction([op])
                    except OpFailed as failed:
                        result, error = None, failed.error
                    except sqlite3.Error as exc:
                        result, error = None, exc
                    one_by_one.append((op, result, error))
            except BaseException as exc:
                settle(one_by_one)
                abandon(batch[len(one_by_one) :], exc)
                raise
            settle(one_by_one)
            return
        except sqlite3.Error as exc:  # the disk or the database itself: nothing in the batch holds
            settle([(op, None, exc) for op in batch])
            return
        except BaseException as exc:
            abandon(batch, exc)
            raise
        settle([(op, result, error) for op, (result, error) in zip(batch, outcomes, strict=True)])

    async def _transaction(self, ops: list[Op]) -> list[tuple[Any, BaseException | None]]:
        conn = self._conn
        durable = any(op.durable for op in ops)
        if durable != self._synchronous_full:
            conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            self._synchronous_full = durable
        changes = conn.total_changes
        try:
            conn.execute("BEGIN IMMEDIATE")
            results: list[tuple[Any, BaseException | None]] = []
            for op in ops:
                try:
                    results.append((op.fn(conn), None))
                except sqlite3.OperationalError:
                    raise
                except Exception as exc:
                    raise OpFailed(exc) from exc
            if durable:
                await self._on_flusher(lambda: conn.execute("COMMIT"))
            else:
                conn.execute("COMMIT")
        except BaseException as exc:
            # SQLite rolls back by itself on some errors (I/O, disk full), so in_transaction may be
            # False here: the owner forgets the lost transaction either way.
            self._on_rollback()
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._probed = False
            if isinstance(exc, sqlite3.OperationalError):
                self.failure = str(exc)
            raise
        if self._probed or conn.total_changes != changes:
            self._probed = False
            self.failure = None
        return results

    async def _on_flusher(self, fn: Callable[[], T]) -> T:
        """`fn` (a statement on the connection, and its fsync) on the flusher thread. Nothing else
        touches the connection until it is done, cancelled or not: the writer is its only user."""
        return await off_loop(self._loop, self._flusher, fn)
