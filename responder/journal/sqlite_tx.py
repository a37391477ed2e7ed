"""The SQLite schema and the Transaction protocol over one open SQLite transaction.

Everything that decides alert identity and planning at the database level lives here: the
UNIQUE (fingerprint, starts_at) on instances and UNIQUE (instance_id, key) on steps are what
make "planned at most once" hold even if the engine's own checks were wrong.
"""

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from responder.alerts import Alert
from responder.decision import GuardState, PlannedStep
from responder.journal import STEP_CANCELLED, STEP_PENDING, Instance

SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    received_at REAL NOT NULL,
    correlation_id TEXT NOT NULL,
    body BLOB NOT NULL,
    processed_at REAL
);
CREATE INDEX IF NOT EXISTS notifications_unprocessed ON notifications (id) WHERE processed_at IS NULL;
CREATE TABLE IF NOT EXISTS instances (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    status TEXT NOT NULL,
    alertname TEXT NOT NULL,
    severity TEXT NOT NULL,
    action TEXT NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    resolved_at REAL,
    UNIQUE (fingerprint, starts_at)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    instance_id INTEGER REFERENCES instances (id),
    notification_id INTEGER,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_instance ON events (instance_id);
CREATE TABLE IF NOT EXISTS steps (
    id INTEGER PRIMARY KEY,
    instance_id INTEGER NOT NULL REFERENCES instances (id),
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    target_key TEXT,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    due_at REAL NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_until REAL,
    correlation_id TEXT NOT NULL,
    outcome TEXT,
    UNIQUE (instance_id, key)
);
CREATE INDEX IF NOT EXISTS steps_due ON steps (kind, status, due_at);
CREATE INDEX IF NOT EXISTS steps_target ON steps (target_key, created_at);
CREATE INDEX IF NOT EXISTS steps_created ON steps (kind, created_at);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    step_id INTEGER NOT NULL REFERENCES steps (id),
    started_at REAL NOT NULL,
    finished_at REAL NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_step ON attempts (step_id);
"""

INSTANCE_COLUMNS = "id, fingerprint, starts_at, status, alertname, severity, action, labels, annotations"


def instance_from_row(row: Sequence[Any]) -> Instance:
    return Instance(
        id=row[0],
        fingerprint=row[1],
        starts_at=row[2],
        status=row[3],
        alertname=row[4],
        severity=row[5],
        action=row[6],
        labels=json.loads(row[7]),
        annotations=json.loads(row[8]),
    )


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class SqliteTransaction:
    """The Transaction protocol over one open SQLite transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def instance(self, fingerprint: str, starts_at: str) -> Instance | None:
        row = self._conn.execute(
            f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE fingerprint = ? AND starts_at = ?",
            (fingerprint, starts_at),
        ).fetchone()
        return instance_from_row(row) if row else None

    def insert_instance(self, alert: Alert, now: float) -> Instance:
        cursor = self._conn.execute(
            "INSERT INTO instances (fingerprint, starts_at, status, alertname, severity, action,"
            " labels, annotations, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                alert.fingerprint,
                alert.starts_at,
                alert.status,
                alert.name,
                alert.severity,
                alert.action,
                dumps(alert.labels),
                dumps(alert.annotations),
                now,
                now,
            ),
        )
        instance = self.instance(alert.fingerprint, alert.starts_at)
        assert instance is not None and instance.id == cursor.lastrowid
        return instance

    def set_status(self, instance: Instance, status: str, now: float) -> None:
        self._conn.execute(
            "UPDATE instances SET status = ?, last_seen = ?, resolved_at = "
            "CASE WHEN ? = 'resolved' THEN ? ELSE resolved_at END WHERE id = ?",
            (status, now, status, now, instance.id),
        )

    def touch(self, instance: Instance, now: float) -> None:
        self._conn.execute("UPDATE instances SET last_seen = ? WHERE id = ?", (now, instance.id))

    def add_event(
        self,
        instance: Instance | None,
        notification_id: int,
        kind: str,
        detail: dict[str, Any],
        now: float,
    ) -> None:
        self._conn.execute(
            "INSERT INTO events (instance_id, notification_id, at, kind, detail) VALUES (?, ?, ?, ?, ?)",
            (instance.id if instance else None, notification_id, now, kind, dumps(detail)),
        )

    def add_steps(self, instance: Instance, steps: Sequence[PlannedStep], now: float, correlation_id: str) -> int:
        added = 0
        for step in steps:
            target = step.params.get("target")
            target_key = (
                f"{target['namespace']}/{target.get('deployment') or target.get('selector')}" if target else None
            )
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO steps (instance_id, key, kind, name, target_key, params, status,"
                " due_at, created_at, updated_at, correlation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    instance.id,
                    step.key,
                    step.kind,
                    step.name,
                    target_key,
                    dumps(step.params),
                    STEP_PENDING,
                    now + step.delay_seconds,
                    now,
                    now,
                    correlation_id,
                ),
            )
            added += cursor.rowcount
        return added

    def guard_state(
        self, mutating: Sequence[str], targets: Sequence[str], window_seconds: float, now: float
    ) -> GuardState:
        """Mutations in the window, and the last mutation of each of `targets` (indexed lookups)."""
        names = ",".join("?" * len(mutating))
        count = self._conn.execute(
            f"SELECT COUNT(*) FROM steps WHERE kind = 'remediation' AND created_at > ? AND name IN ({names})"
            " AND status != ?",
            (now - window_seconds, *mutating, STEP_CANCELLED),
        ).fetchone()[0]
        last = {}
        for target in targets:
            row = self._conn.execute(
                f"SELECT MAX(created_at) FROM steps WHERE target_key = ? AND kind = 'remediation'"
                f" AND name IN ({names}) AND status != ?",
                (target, *mutating, STEP_CANCELLED),
            ).fetchone()
            if row[0] is not None:
                last[target] = row[0]
        return GuardState(mutations_in_window=count, last_mutation_at=last)

    def cancel_escalations(self, instance: Instance, now: float) -> int:
        """Stop the ladder: rungs not yet due are cancelled; what is already due still goes out."""
        cursor = self._conn.execute(
            "UPDATE steps SET status = ?, updated_at = ?, outcome = 'ladder stopped'"
            " WHERE instance_id = ? AND kind = 'escalation' AND status = ? AND due_at > ?"
            " AND json_extract(params, '$.event') = 'firing'",
            (STEP_CANCELLED, now, instance.id, STEP_PENDING, now),
        )
        return cursor.rowcount

    def notified_channels(self, instance: Instance) -> frozenset[str]:
        """Channels that were, or are about to be, told this instance fired."""
        rows = self._conn.execute(
            "SELECT DISTINCT name FROM steps WHERE instance_id = ? AND kind = 'escalation'"
            " AND status != ? AND json_extract(params, '$.event') = 'firing'",
            (instance.id, STEP_CANCELLED),
        ).fetchall()
        return frozenset(r[0] for r in rows)

    def mark_processed(self, notification_id: int, now: float) -> None:
        self._conn.execute("UPDATE notifications SET processed_at = ? WHERE id = ?", (now, notification_id))
