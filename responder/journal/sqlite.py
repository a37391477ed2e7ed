"""The embedded journal: one SQLite file in WAL mode with full synchronous commits.

Operations run on the event loop itself, and the operations waiting together run in one
transaction (group commit). Only a commit that must reach the disk leaves the loop (and, past
the WAL's bound, its restart; see _checkpoint): its fsync runs on a thread, and what is asked
meanwhile waits for the next transaction. An earlier design gave the connection a thread of
its own; every statement then handed the GIL to the loop and waited to get it back, which cost
more than the statements. Committing every transaction without a flush and flushing the log on
a thread beside the next ones measured worse too: the loop's writes to the log waited for the
flush in progress.

Disk flushes go where a lost write would break a promise. The webhook's 200 promises the
notification is on disk, so a batch holding an append commits with synchronous=FULL (one fsync
for the batch). Everything else — claims, step outcomes — commits with NORMAL: in WAL mode that
survives a process crash, and the next FULL commit flushes it too. What a power loss can cost in
between is redone safely at start: remediations are idempotent; an escalation message may be
repeated. A file lock keeps a second responder process off the same journal: SQLite here is
single-process, which is also why steps left `running` by a crash can be handed back at start
without waiting for their lease.
"""

import asyncio
import concurrent.futures
import fcntl
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from responder.decision import PlannedStep
from responder.journal import (
    STEP_CANCELLED,
    STEP_PENDING,
    STEP_RUNNING,
    Effect,
    Settled,
    Step,
    StepResult,
    StoredNotification,
    sqlite_holds,
)
from responder.journal.sqlite_escalation import ESCALATION_SCHEMA, SqliteEscalationStore
from responder.journal.sqlite_tx import (
    INSTANCE_COLUMNS,
    SCHEMA,
    JournalConnection,
    SqliteTransaction,
    dumps,
    instance_from_row,
    step_kind,
)
from responder.vocabulary import ON_RESOLVE

T = TypeVar("T")


class JournalLockedError(RuntimeError):
    """Another responder process holds this journal."""


MAX_BATCH = 512
BUSY_TIMEOUT_MS = 5000
CHECKPOINT_SECONDS = 1.0
# Past 1 GiB (of 4 KiB pages) the WAL is restarted (see _checkpoint), so that a sustained storm
# cannot fill the disk. A restart needs the database synced, and that sync holds the disk for as
# long as everything copied since the last one takes to write: 0.5-0.8 s here, felt by every
# commit. At 64 MiB it came every 4 s of wrk (p99 22 -> 130 ms); at 1 GiB, after a minute of
# saturation. Real traffic pauses, and in a pause SQLite restarts the WAL by itself.
WAL_RESET_FRAMES = 262_144
log = logging.getLogger("responder.journal")


class _OpFailed(Exception):
    """One operation of a batch raised; the batch is rolled back and retried op by op."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class _Op:
    fn: Callable[[JournalConnection], Any]
    future: "asyncio.Future[Any]"
    durable: bool  # must be on disk, not just in the WAL, when the caller hears back
    then: Settled[Any] | None = None  # told the outcome as it settles, whoever still awaits the future


def _tell(then: Settled[Any], result: Any, error: BaseException | None) -> None:
    try:
        then(result, error)
    except Exception:  # a bug in what acts on it must not leave the rest of the batch unsettled
        log.exception("acting on a settled journal operation failed")


def _abandon(ops: Sequence[_Op], error: BaseException) -> None:
    """The writer itself is cancelled (the loop is closing): the callers' futures are cancelled,
    and `then` is told why, though a commit may have reached the disk."""
    for op in ops:
        op.future.cancel()
        if op.then is not None:
            _tell(op.then, None, error)


def _settle(outcomes: Sequence[tuple[_Op, Any, BaseException | None]]) -> None:
    for op, result, error in outcomes:
        if op.then is not None:
            _tell(op.then, result, error)
        if op.future.done():  # the caller went away (client disconnected); only `then` is told
            continue
        if error is not None:
            op.future.set_exception(error)
        else:
            op.future.set_result(result)


def _sync(path: Path) -> None:
    database = os.open(path, os.O_RDONLY)
    try:
        os.fsync(database)
    finally:
        os.close(database)


def _restart(conn: sqlite3.Connection) -> bool:
    """RESTART the WAL without waiting: a reader on an older snapshot would otherwise hold every
    write for the whole busy timeout, each time it is asked."""
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        # Every row fetched: a statement left open would make the next COMMIT fail.
        [(busy, _, _)] = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return not busy


def _resolved(conn: sqlite3.Connection, instance_id: int) -> bool:
    row = conn.execute("SELECT status FROM instances WHERE id = ?", (instance_id,)).fetchone()
    return row is not None and row[0] == "resolved"


def _insert(conn: sqlite3.Connection, body: bytes, correlation_id: str, now: float, processed: float | None) -> int:
    cursor = conn.execute(
        "INSERT INTO notifications (received_at, correlation_id, body, processed_at) VALUES (?, ?, ?, ?)",
        (now, correlation_id, body, processed),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


class SqliteJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: JournalConnection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[_Op] = []
        self._writer: asyncio.Task[None] | None = None
        self._flusher: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock_file: Any = None
        self._backlog = 0
        # False only while no notification can be unapplied: set by anything that leaves one so
        # (an append, an apply that failed, a rollback, a start), cleared by a query that finds
        # none. Spares accept that query while nothing waits, which is nearly always.
        self._maybe_unapplied = True
        self._healthy = False
        self._synchronous_full = True
        self._checkpointer: threading.Thread | None = None
        self._stop_checkpoints = threading.Event()
        self.checkpoint_seconds, self.wal_reset_frames = CHECKPOINT_SECONDS, WAL_RESET_FRAMES
        self._restart_wal = False  # set by the checkpointer, acted on by the writer
        self.escalation = SqliteEscalationStore(self._call)

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = (self.path.parent / f"{self.path.name}.lock").open("w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise JournalLockedError(
                f"{self.path} is in use by another responder process; stop it, or give this "
                "one its own journal (journal.sqlite in responder.yaml)"
            ) from None
        self._conn = self._connect()
        self._maybe_unapplied = True
        self._loop = asyncio.get_running_loop()
        self._flusher = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="journal-fsync")
        await self._call(self._recover)
        await self.refresh_backlog()
        self._stop_checkpoints.clear()
        self._checkpointer = threading.Thread(
            target=self._checkpoint, args=(self._stop_checkpoints,), name="journal-checkpoint", daemon=True
        )
        self._checkpointer.start()
        self._healthy = True

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._stop_checkpoints.set()
            await asyncio.get_running_loop().run_in_executor(None, self._checkpointer.join)
            self._checkpointer = None
        while self._writer is not None:  # what was asked before close is still written
            await asyncio.shield(self._writer)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._flusher is not None:
            self._flusher.shutdown()
            self._flusher = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None
        self._healthy = False

    def _connect(self) -> JournalConnection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, factory=JournalConnection)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")  # switched per batch, see the module docstring
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA wal_autocheckpoint = 0")  # checkpoints run beside, not inside, our commits
        conn.executescript(SCHEMA + sqlite_holds.SCHEMA)
        conn.executescript(ESCALATION_SCHEMA)
        return conn

    def _checkpoint(self, stop: threading.Event) -> None:
        """Copy the WAL into the database from a second connection, so that no commit of the
        writer ever pays for the copy (PASSIVE never waits for the writer).

        A PASSIVE checkpoint copies what was committed when it began. Under writes that never
        pause, more always was by the time it ended, and SQLite restarts the WAL from its start
        only once everything is copied: it grew with everything written (320 MB after 15 s of
        wrk). So past `wal_reset_frames` this syncs the database and asks the writer to restart
        the WAL between two of its transactions, which copies the last frames (10-20 ms here)."""
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 1000")
        try:
            while not stop.wait(self.checkpoint_seconds):
                try:
                    if self._copy_wal(conn):
                        # SQLite syncs the database only after a checkpoint that found no commit
                        # made while it copied: under sustained writes, never. Synced here, outside
                        # SQLite's locks, commits go on (slower) instead of waiting 0.55 s for the
                        # restart's own sync.
                        _sync(self.path)
                        self._restart_wal = True
                except (sqlite3.Error, OSError) as exc:  # retried next round; the WAL only grows meanwhile
                    log.warning("journal checkpoint failed", extra={"error": str(exc)})
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    def _copy_wal(self, conn: sqlite3.Connection) -> bool:
        """Copy the WAL; whether it is past its bound, so that the writer should restart it."""
        _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return bool(frames >= self.wal_reset_frames)

    async def _write(self, conn: JournalConnection) -> None:
        """Run what is pending, a transaction per batch, until nothing is (group commit: whatever
        was asked while a commit was on its way to the disk joins the next transaction)."""
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._execute(conn, batch)
                if self._restart_wal:
                    self._restart_wal = False
                    await self._restart_wal_now(conn)
        finally:
            self._writer = None

    async def _restart_wal_now(self, conn: JournalConnection) -> None:
        """Copy the WAL's last frames and have the next commit write from its start (see
        _checkpoint). Not restarted, the WAL only stays as it is, and the next round asks again."""
        try:
            restarted = await self._on_flusher(lambda: _restart(conn))
        except sqlite3.Error as exc:
            restarted, error = False, str(exc)
        else:
            error = "a reader is still on an older snapshot; end its transaction (a sqlite3 shell, a backup?)"
        if not restarted:
            log.warning("journal WAL not restarted; retried in a second", extra={"error": error})

    async def _execute(self, conn: JournalConnection, batch: list[_Op]) -> None:
        """The whole batch in one transaction with one fsync. If an operation raises, the batch
        is rolled back and re-run one operation per transaction, so only the failing one fails."""
        try:
            outcomes = await self._transaction(conn, batch)
        except _OpFailed:
            one_by_one: list[tuple[_Op, Any, BaseException | None]] = []
            try:
                for op in batch:
                    try:
                        [(result, error)] = await self._transaction(conn, [op])
                    except _OpFailed as failed:
                        result, error = None, failed.error
                    except sqlite3.Error as exc:
                        result, error = None, exc
                    one_by_one.append((op, result, error))
            except BaseException as exc:
                _settle(one_by_one)
                _abandon(batch[len(one_by_one) :], exc)
                raise
            _settle(one_by_one)
            return
        except sqlite3.Error as exc:  # the disk or the database itself: nothing in the batch holds
            _settle([(op, None, exc) for op in batch])
            return
        except BaseException as exc:
            _abandon(batch, exc)
            raise
        _settle([(op, result, error) for op, (result, error) in zip(batch, outcomes, strict=True)])

    async def _transaction(self, conn: JournalConnection, ops: list[_Op]) -> list[tuple[Any, BaseException | None]]:
        durable = any(op.durable for op in ops)
        if durable != self._synchronous_full:
            conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            self._synchronous_full = durable
        try:
            conn.execute("BEGIN IMMEDIATE")
            results: list[tuple[Any, BaseException | None]] = []
            for op in ops:
                try:
                    results.append((op.fn(conn), None))
                except sqlite3.OperationalError:
                    raise
                except Exception as exc:
                    raise _OpFailed(exc) from exc
            if durable:
                await self._on_flusher(lambda: conn.execute("COMMIT"))
            else:
                conn.execute("COMMIT")
        except BaseException as exc:
            # SQLite rolls back by itself on some errors (I/O, disk full), so in_transaction may be
            # False here with instances from the lost transaction cached: forget them either way.
            conn.instance_cache.clear()
            self._maybe_unapplied = True
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            self._healthy = not isinstance(exc, sqlite3.OperationalError)
            raise
        self._healthy = True
        return results

    async def _on_flusher(self, fn: Callable[[], T]) -> T:
        """`fn` (a statement on the connection, and its fsync) on the flusher thread. Nothing else
        touches the connection until it is done, cancelled or not: the writer is its only user."""
        done = asyncio.get_running_loop().run_in_executor(self._flusher, fn)
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            await asyncio.wait([done])
            raise

    async def _call(self, fn: Callable[[JournalConnection], T], durable: bool = False) -> T:
        return await self._submit(fn, durable)

    def _submit(
        self, fn: Callable[[JournalConnection], T], durable: bool, then: Settled[T] | None = None
    ) -> "asyncio.Future[T]":
        if self._conn is None or self._loop is None:
            raise RuntimeError("the journal is not started")
        future: asyncio.Future[T] = self._loop.create_future()
        self._pending.append(_Op(fn, future, durable, then))
        if self._writer is None:
            self._writer = self._loop.create_task(self._write(self._conn))
        return future

    @staticmethod
    def _recover(conn: sqlite3.Connection) -> int:
        """Hand back steps a crash left running: single-process, so nobody else holds them."""
        return conn.execute(
            f"UPDATE steps SET status = ?, lease_until = NULL WHERE status = '{STEP_RUNNING}'", (STEP_PENDING,)
        ).rowcount

    # --- the Journal protocol -----------------------------------------------------------

    async def append_notification(self, body: bytes, correlation_id: str, now: float) -> int:
        def append(conn: JournalConnection) -> int:
            self._maybe_unapplied = True
            return _insert(conn, body, correlation_id, now, None)

        notification_id = await self._call(append, durable=True)
        self._backlog += 1
        return notification_id

    def accept(
        self,
        body: bytes,
        correlation_id: str,
        now: float,
        apply: Callable[[SqliteTransaction, StoredNotification], T],
        then: Settled[tuple[int, T | None]] | None = None,
    ) -> "asyncio.Future[tuple[int, T | None]]":
        def append_and_apply(conn: JournalConnection) -> tuple[int, T | None]:
            # The backlog counts what this adds, once it ran (a rollback only makes it count high
            # until the next recount): the notification if it is left unapplied, else the
            # remediations it planned.
            if self._maybe_unapplied:
                self._maybe_unapplied = bool(
                    conn.execute("SELECT 1 FROM notifications WHERE processed_at IS NULL LIMIT 1").fetchone()
                )
            if self._maybe_unapplied:
                self._backlog += 1
                return _insert(conn, body, correlation_id, now, None), None
            notification_id = _insert(conn, body, correlation_id, now, now)
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
                conn.execute("UPDATE notifications SET processed_at = NULL WHERE id = ?", (notification_id,))
                self._maybe_unapplied = True
                conn.execute("RELEASE apply")
                self._backlog += 1
                return notification_id, None
            conn.execute("RELEASE apply")
            self._backlog += tx.planned_remediations
            return notification_id, result

        return self._submit(append_and_apply, True, then)

    async def unprocessed(self, limit: int) -> list[StoredNotification]:
        rows = await self._call(
            lambda conn: conn.execute(
                "SELECT id, body, correlation_id FROM notifications WHERE processed_at IS NULL ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
        )
        return [StoredNotification(r[0], r[1], r[2]) for r in rows]

    async def transact(self, fn: Callable[[SqliteTransaction], T]) -> T:
        return await self._call(lambda conn: fn(SqliteTransaction(conn)))

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
        def finish(conn: sqlite3.Connection) -> None:
            tx = SqliteTransaction(conn)
            if then:
                tx.add_steps(step.instance, then, now, step.correlation_id)
            if if_resolved and _resolved(conn, step.instance.id):
                tx.add_steps(step.instance, if_resolved, now, step.correlation_id)
                detail = {"note": "resolved while this ran", "step": step.id, "planned": [s.key for s in if_resolved]}
                tx.add_event(step.instance, None, f"{step.name.lower()}_finished_after_resolve", detail, now)
            conn.execute(
                "INSERT INTO attempts (step_id, started_at, finished_at, status, detail) VALUES (?, ?, ?, ?, ?)",
                (step.id, started, now, result.status, dumps(result.detail)),
            )
            sqlite_holds.apply_effects(conn, result.effects, now)
            if retry_at is not None and result.done:
                done = sorted({*step.params.get("done", []), *result.done})
                conn.execute(
                    "UPDATE steps SET params = ? WHERE id = ?", (dumps({**step.params, "done": done}), step.id)
                )
            if (
                retry_at is not None
                and step.kind == "remediation"
                and step.name not in ON_RESOLVE
                and _resolved(conn, step.instance.id)
            ):
                # The resolve cancelled the firing's remediations not yet run; this one was running.
                conn.execute(
                    "UPDATE steps SET status = ?, lease_until = NULL, updated_at = ?,"
                    f" outcome = 'resolved before its retry' WHERE id = ? AND status = '{STEP_RUNNING}'",
                    (STEP_CANCELLED, now, step.id),
                )
            elif retry_at is not None:
                conn.execute(
                    "UPDATE steps SET status = ?, due_at = ?, lease_until = NULL, updated_at = ?,"
                    f" outcome = ? WHERE id = ? AND status = '{STEP_RUNNING}'",
                    (STEP_PENDING, retry_at, now, result.status, step.id),
                )
            else:
                conn.execute(
                    "UPDATE steps SET status = ?, lease_until = NULL, updated_at = ?, outcome = ?"
                    f" WHERE id = ? AND status = '{STEP_RUNNING}'",
                    (result.status, now, result.status, step.id),
                )

        await self._call(finish)

    async def next_due(self, kind: str) -> float | None:
        row = await self._call(
            lambda conn: conn.execute(
                f"SELECT MIN(due_at) FROM steps WHERE kind = '{step_kind(kind)}' AND status = '{STEP_PENDING}'"
            ).fetchone()
        )
        return row[0] if row else None

    async def instances(self, filters: dict[str, str], limit: int) -> list[dict[str, Any]]:
        allowed = ("status", "action", "alertname", "severity", "fingerprint")
        where = [f"{k} = ?" for k in allowed if k in filters]
        values = [filters[k] for k in allowed if k in filters]
        sql = (
            "SELECT fingerprint, starts_at, status, alertname, severity, action, first_seen, last_seen,"
            " resolved_at FROM instances"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY last_seen DESC, id DESC LIMIT ?"
        )
        rows = await self._call(lambda conn: conn.execute(sql, (*values, limit)).fetchall())
        keys = (
            "fingerprint",
            "starts_at",
            "status",
            "alertname",
            "severity",
            "action",
            "first_seen",
            "last_seen",
            "resolved_at",
        )
        return [dict(zip(keys, row, strict=True)) for row in rows]

    async def timeline(self, fingerprint: str) -> list[dict[str, Any]]:
        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            out = []
            for row in conn.execute(
                f"SELECT {INSTANCE_COLUMNS}, first_seen, resolved_at FROM instances"
                " WHERE fingerprint = ? ORDER BY starts_at",
                (fingerprint,),
            ).fetchall():
                inst = instance_from_row(row)
                events = [
                    {"at": at, "kind": kind, "notification": nid, "detail": json.loads(detail)}
                    for at, kind, nid, detail in conn.execute(
                        "SELECT at, kind, notification_id, detail FROM events WHERE instance_id = ? ORDER BY id",
                        (inst.id,),
                    )
                ]
                steps = []
                for sid, kind, name, params, status, due, _attempts in conn.execute(
                    "SELECT id, kind, name, params, status, due_at, attempts FROM steps"
                    " WHERE instance_id = ? ORDER BY id",
                    (inst.id,),
                ):
                    tries = [
                        {"started_at": s, "finished_at": f, "status": st, "detail": json.loads(d)}
                        for s, f, st, d in conn.execute(
                            "SELECT started_at, finished_at, status, detail FROM attempts"
                            " WHERE step_id = ? ORDER BY id",
                            (sid,),
                        )
                    ]
                    steps.append(
                        {
                            "kind": kind,
                            "name": name,
                            "params": json.loads(params),
                            "status": status,
                            "due_at": due,
                            "attempts": tries,
                        }
                    )
                out.append(
                    {
                        "fingerprint": inst.fingerprint,
                        "starts_at": inst.starts_at,
                        "status": inst.status,
                        "alertname": inst.alertname,
                        "severity": inst.severity,
                        "action": inst.action,
                        "labels": inst.labels,
                        "annotations": inst.annotations,
                        "first_seen": row[10],
                        "last_seen": inst.last_seen,
                        "resolved_at": row[11],
                        "events": events,
                        "steps": steps,
                    }
                )
            return out

        return await self._call(read)

    async def record_operation(
        self,
        actor: str,
        op: str,
        target: dict[str, str],
        ok: bool,
        detail: dict[str, Any],
        effects: Sequence[Effect],
        now: float,
    ) -> None:
        """A human's restore or unfreeze: who, what, how it went, and the holds it lifted."""
        await self._call(
            lambda conn: sqlite_holds.record_operation(conn, actor, op, target, ok, detail, effects, now), durable=True
        )

    async def holds(self, state: str | None = None, namespace: str | None = None) -> list[dict[str, Any]]:
        return await self._call(lambda conn: sqlite_holds.holds(conn, state, namespace))

    async def operations(self, limit: int) -> list[dict[str, Any]]:
        return await self._call(lambda conn: sqlite_holds.operations(conn, limit))

    async def prune(self, older_than: float) -> int:
        """Forget finished history older than `older_than`; unfinished work is never pruned."""

        def prune(conn: JournalConnection) -> int:
            conn.execute(
                "DELETE FROM notifications WHERE processed_at IS NOT NULL AND received_at < ?",
                (older_than,),
            )
            old = (  # never a firing instance: its repeat would look new and act again
                "SELECT id FROM instances WHERE last_seen < ? AND status != 'firing'"
                " AND NOT EXISTS (SELECT 1 FROM steps WHERE steps.instance_id = instances.id AND status IN (?, ?))"
            )
            args = (older_than, STEP_PENDING, STEP_RUNNING)
            conn.execute(
                f"DELETE FROM attempts WHERE step_id IN (SELECT id FROM steps WHERE instance_id IN ({old}))",
                args,
            )
            conn.execute(f"DELETE FROM steps WHERE instance_id IN ({old})", args)
            conn.execute(f"DELETE FROM events WHERE instance_id IN ({old})", args)
            conn.execute("DELETE FROM operations WHERE at < ?", (older_than,))
            pruned = conn.execute(f"DELETE FROM instances WHERE id IN ({old})", args).rowcount
            if pruned:
                conn.instance_cache.clear()
            return pruned

        return await self._call(prune)

    async def refresh_backlog(self) -> int:
        def count(conn: sqlite3.Connection) -> int:
            return int(
                conn.execute(
                    "SELECT (SELECT COUNT(*) FROM notifications WHERE processed_at IS NULL)"
                    " + (SELECT COUNT(*) FROM steps INDEXED BY steps_pending"
                    f"   WHERE kind = 'remediation' AND status = '{STEP_PENDING}')"
                    " + (SELECT COUNT(*) FROM steps INDEXED BY steps_leased"
                    f"   WHERE kind = 'remediation' AND status = '{STEP_RUNNING}')"
                ).fetchone()[0]
            )

        self._backlog = await self._call(count)
        return self._backlog

    def backlog(self) -> int:
        return self._backlog

    def writable(self) -> bool:
        return self._healthy and self._conn is not None
