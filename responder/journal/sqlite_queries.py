"""The SQLite journal's statements outside a Transaction: notifications in and out, a step's
outcome, recovery at start, pruning and the backlog count. Each is a function of the journal's
connection, run by the writer inside one of its transactions."""

import sqlite3
from collections.abc import Sequence

from responder.journal import (
    Effect,
    Step,
    StepResult,
    StoredNotification,
    sqlite_holds,
)
from responder.journal.sqlite_rows import CANCELLED, INTERRUPTED, PENDING, RUNNING, JournalConnection, dumps, step_kind
from responder.journal.sqlite_tx import SqliteTransaction
from responder.planner import PlannedStep
from responder.vocabulary import ON_RESOLVE, StepStatus

_INTERRUPTED_BY_RESTART = dumps(
    {
        "error": "interrupted by restart: the responder stopped during this attempt; whether it took "
        "effect is found out by the next attempt before it acts again",
        "interrupted": "restart",
    }
)


def insert_notification(
    conn: sqlite3.Connection, body: bytes, correlation_id: str, now: float, processed: float | None
) -> int:
    cursor = conn.execute(
        "INSERT INTO notifications (received_at, correlation_id, body, processed_at) VALUES (?, ?, ?, ?)",
        (now, correlation_id, body, processed),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def any_unapplied(conn: sqlite3.Connection) -> bool:
    return bool(conn.execute("SELECT 1 FROM notifications WHERE processed_at IS NULL LIMIT 1").fetchone())


def unapply(conn: sqlite3.Connection, notification_id: int) -> None:
    """Leave a notification whose apply failed for ingest."""
    conn.execute("UPDATE notifications SET processed_at = NULL WHERE id = ?", (notification_id,))


def unprocessed(conn: sqlite3.Connection, limit: int) -> list[StoredNotification]:
    rows = conn.execute(
        "SELECT id, body, correlation_id FROM notifications WHERE processed_at IS NULL ORDER BY id LIMIT ?",
        (limit,),
    ).fetchall()
    return [StoredNotification(r[0], r[1], r[2]) for r in rows]


def recover(conn: sqlite3.Connection, now: float) -> int:
    """Hand back steps a crash left running: the journal is single-process, so nobody else holds them.

    Each gets its interrupted attempt in the timeline (started when it was claimed), and is
    marked so that its next run knows it may be repeating something already done."""
    conn.execute(
        "INSERT INTO attempts (step_id, started_at, finished_at, status, detail)"
        f" SELECT id, updated_at, ?, '{INTERRUPTED}', ? FROM steps WHERE status = '{StepStatus.RUNNING}'",
        (now, _INTERRUPTED_BY_RESTART),
    )
    return conn.execute(
        f"UPDATE steps SET status = ?, lease_until = NULL, outcome = '{INTERRUPTED}'"
        f" WHERE status = '{StepStatus.RUNNING}'",
        (StepStatus.PENDING,),
    ).rowcount


def record_effects(
    conn: sqlite3.Connection, step: Step, effects: Sequence[Effect], changed: Sequence[str], now: float
) -> None:
    """What Journal.record_effects promises: the holds, and the deployments changed as the
    guards count them (the rows the `attempts_changes` trigger would write at the step's end)."""
    sqlite_holds.apply_effects(conn, effects, now)
    conn.executemany(
        "INSERT OR IGNORE INTO changes (step_id, deployment, name, at) VALUES (?, ?, ?, ?)",
        [(step.id, deployment, step.name, now) for deployment in changed],
    )


def finish_step(
    conn: sqlite3.Connection,
    step: Step,
    result: StepResult,
    started: float,
    now: float,
    retry_at: float | None,
    then: Sequence[PlannedStep],
    if_resolved: Sequence[PlannedStep],
) -> None:
    """What Journal.finish_step promises, as one transaction's statements."""
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
        conn.execute("UPDATE steps SET params = ? WHERE id = ?", (dumps({**step.params, "done": done}), step.id))
    if (
        retry_at is not None
        and step.kind == "remediation"
        and step.name not in ON_RESOLVE
        and _resolved(conn, step.instance.id)
    ):
        # The resolve cancelled the firing's remediations not yet run; this one was running.
        conn.execute(
            "UPDATE steps SET status = ?, lease_until = NULL, updated_at = ?,"
            f" outcome = 'resolved before its retry' WHERE id = ? AND status = '{StepStatus.RUNNING}'",
            (CANCELLED, now, step.id),
        )
    elif retry_at is not None:
        conn.execute(
            "UPDATE steps SET status = ?, due_at = ?, lease_until = NULL, updated_at = ?,"
            f" outcome = ? WHERE id = ? AND status = '{StepStatus.RUNNING}'",
            (PENDING, retry_at, now, result.status, step.id),
        )
    else:
        conn.execute(
            "UPDATE steps SET status = ?, lease_until = NULL, updated_at = ?, outcome = ?"
            f" WHERE id = ? AND status = '{StepStatus.RUNNING}'",
            (result.status, now, result.status, step.id),
        )


def _resolved(conn: sqlite3.Connection, instance_id: int) -> bool:
    row = conn.execute("SELECT status FROM instances WHERE id = ?", (instance_id,)).fetchone()
    return row is not None and row[0] == "resolved"


def next_due(conn: sqlite3.Connection, kind: str) -> float | None:
    row = conn.execute(
        f"SELECT MIN(due_at) FROM steps WHERE kind = '{step_kind(kind)}' AND status = '{StepStatus.PENDING}'"
    ).fetchone()
    return row[0] if row else None


def prune(conn: JournalConnection, older_than: float) -> int:
    """What Journal.prune promises; forgets the cached instances when any went."""
    conn.execute("DELETE FROM notifications WHERE processed_at IS NOT NULL AND received_at < ?", (older_than,))
    old = (  # never a firing instance: its repeat would look new and act again
        "SELECT id FROM instances WHERE last_seen < ? AND status != 'firing'"
        " AND NOT EXISTS (SELECT 1 FROM steps WHERE steps.instance_id = instances.id AND status IN (?, ?))"
    )
    args = (older_than, PENDING, RUNNING)
    conn.execute(f"DELETE FROM attempts WHERE step_id IN (SELECT id FROM steps WHERE instance_id IN ({old}))", args)
    conn.execute(f"DELETE FROM steps WHERE instance_id IN ({old})", args)
    conn.execute(f"DELETE FROM events WHERE instance_id IN ({old})", args)
    conn.execute("DELETE FROM operations WHERE at < ?", (older_than,))
    # An event delivered again after this is handled as new: the instance it acknowledged is
    # acknowledged already, or resolved, or gone with the history, so it changes nothing.
    conn.execute("DELETE FROM webhook_events WHERE received_at < ?", (older_than,))
    pruned: int = conn.execute(f"DELETE FROM instances WHERE id IN ({old})", args).rowcount
    if pruned:
        conn.instance_cache.clear()
    return pruned


def backlog(conn: sqlite3.Connection) -> int:
    """Notifications not yet applied and remediations not yet finished."""
    return int(
        conn.execute(
            "SELECT (SELECT COUNT(*) FROM notifications WHERE processed_at IS NULL)"
            " + (SELECT COUNT(*) FROM steps INDEXED BY steps_pending"
            f"   WHERE kind = 'remediation' AND status = '{StepStatus.PENDING}')"
            " + (SELECT COUNT(*) FROM steps INDEXED BY steps_leased"
            f"   WHERE kind = 'remediation' AND status = '{StepStatus.RUNNING}')"
        ).fetchone()[0]
    )
