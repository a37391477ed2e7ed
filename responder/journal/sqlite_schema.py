"""Opening a SQLite journal file: its connection settings and its schema, versioned.

`PRAGMA user_version` counts the migrations a journal has had. MIGRATIONS[n] takes it from
version n to n + 1, in one transaction with the version it sets, so a crash mid-way leaves the
older version whole. A journal from before versions (user_version 0, its tables there already)
takes every migration: their statements hold for tables that exist (`IF NOT EXISTS`). A journal
of a later version than this code knows is refused, never written to.

Statements on `steps` name its kind and status as literals (see sqlite_rows.step_kind): its
partial indexes are on those conditions.
"""

import os
import sqlite3
from pathlib import Path

from responder.journal.sqlite_rows import JournalConnection

BUSY_TIMEOUT_MS = 5000
# The journal holds alert text and who acknowledged what: owner only, whatever the umask.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def open_private(path: Path) -> int:
    """A descriptor for `path` opened for writing, created owner-only (0600) if it is new.
    SQLite gives new -wal and -shm files the mode of the database file."""
    return os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)


def _tighten(path: Path) -> None:
    """An existing file of this user that others may read (a journal from an older responder)
    becomes owner-only; another user's file is left as it is."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return
    if status.st_mode & 0o077 and status.st_uid == os.geteuid():
        path.chmod(PRIVATE_FILE_MODE)


_TABLES = """
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
-- Pending and running steps only: a step leased as it is planned, and every outcome, then write
-- nothing to steps_pending.
CREATE INDEX IF NOT EXISTS steps_pending ON steps (kind, due_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS steps_leased ON steps (kind, lease_until) WHERE status = 'running';
-- The guards' indexes hold remediations only, and no status: escalation steps, and every claim
-- and outcome of a remediation, then write nothing to them.
CREATE INDEX IF NOT EXISTS steps_remediation_target ON steps (target_key, created_at) WHERE kind = 'remediation';
CREATE INDEX IF NOT EXISTS steps_remediation_window ON steps (created_at, name) WHERE kind = 'remediation';
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    step_id INTEGER NOT NULL REFERENCES steps (id),
    started_at REAL NOT NULL,
    finished_at REAL NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_step ON attempts (step_id);
-- Holds are standing state, not history: each holder of a deployment is its own row, and the
-- deployment is held while any row remains. Pruning never touches them.
CREATE TABLE IF NOT EXISTS holds (
    state TEXT NOT NULL,
    namespace TEXT NOT NULL,
    deployment TEXT NOT NULL,
    holder TEXT NOT NULL,
    since REAL NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (state, namespace, deployment, holder)
);
CREATE TABLE IF NOT EXISTS operations (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    op TEXT NOT NULL,
    target TEXT NOT NULL,
    ok INTEGER NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS operations_at ON operations (at);
-- Escalation's tables hang off instances and steps; the triggers remove them with their
-- parents, so pruning needs to know nothing about them.
CREATE TABLE IF NOT EXISTS channel_state (
    instance_id INTEGER NOT NULL REFERENCES instances (id),
    channel TEXT NOT NULL,
    ref TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (instance_id, channel)
);
CREATE INDEX IF NOT EXISTS channel_state_ref ON channel_state (channel, ref);
CREATE TABLE IF NOT EXISTS acknowledgements (
    instance_id INTEGER PRIMARY KEY REFERENCES instances (id),
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    via TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    step_id INTEGER NOT NULL REFERENCES steps (id),
    recipient TEXT NOT NULL,
    marked_at REAL NOT NULL,
    provider_id TEXT,
    PRIMARY KEY (step_id, recipient)
);
CREATE TRIGGER IF NOT EXISTS instances_escalation_cleanup BEFORE DELETE ON instances BEGIN
    DELETE FROM channel_state WHERE instance_id = OLD.id;
    DELETE FROM acknowledgements WHERE instance_id = OLD.id;
END;
CREATE TRIGGER IF NOT EXISTS steps_escalation_cleanup BEFORE DELETE ON steps BEGIN
    DELETE FROM deliveries WHERE step_id = OLD.id;
END;
"""

# Journals written before versions may still have the indexes on every step that the partial
# indexes above replaced.
_REPLACED_INDEXES = """
DROP INDEX IF EXISTS steps_due;
DROP INDEX IF EXISTS steps_target;
DROP INDEX IF EXISTS steps_window;
"""

# The deployments each remediation changed, one row per deployment, so that the circuit breaker
# and the cooldowns count what a selector changed, not the selector (see SqliteTransaction.guard_state).
# Written by a trigger from the attempt's outcome: every per-deployment outcome in its `targets`
# marked `"changed": true` (dumps writes no spaces, so the LIKE spares the JSON parse for every
# attempt that changed nothing, escalations included). `deployment` is "namespace/name", the key
# of a Target naming that deployment. Removed with its step when pruning forgets the step.
_DEPLOYMENT_CHANGES = """
CREATE TABLE IF NOT EXISTS changes (
    step_id INTEGER NOT NULL REFERENCES steps (id),
    deployment TEXT NOT NULL,
    name TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (step_id, deployment)
);
CREATE INDEX IF NOT EXISTS changes_deployment ON changes (deployment, at, name);
CREATE TRIGGER IF NOT EXISTS attempts_changes AFTER INSERT ON attempts
WHEN NEW.detail LIKE '%"changed":true%' BEGIN
    INSERT OR IGNORE INTO changes (step_id, deployment, name, at)
    SELECT NEW.step_id, json_extract(t.value, '$.deployment'), s.name, NEW.finished_at
    FROM steps s, json_each(NEW.detail, '$.targets') t
    WHERE s.id = NEW.step_id AND s.kind = 'remediation'
    AND json_extract(t.value, '$.changed') = 1 AND json_extract(t.value, '$.deployment') IS NOT NULL;
END;
CREATE TRIGGER IF NOT EXISTS steps_changes_cleanup BEFORE DELETE ON steps BEGIN
    DELETE FROM changes WHERE step_id = OLD.id;
END;
"""

# The provider webhook events already handled, by channel and the provider's event id: a signed
# event delivered again (PagerDuty's v3 signatures carry no timestamp) is known and changes
# nothing. They hang off no instance; pruning forgets them by age, with the rest of the history.
_WEBHOOK_EVENTS = """
CREATE TABLE webhook_events (
    channel TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (channel, event_id)
) WITHOUT ROWID;
CREATE INDEX webhook_events_received ON webhook_events (received_at);
"""

MIGRATIONS: tuple[str, ...] = (
    _REPLACED_INDEXES + _TABLES,  # to version 1: every table, and no replaced index
    _DEPLOYMENT_CHANGES,  # to version 2: the deployments each remediation changed
    _WEBHOOK_EVENTS,  # to version 3: the webhook events handled
)
SCHEMA_VERSION = len(MIGRATIONS)


class JournalSchemaError(RuntimeError):
    """The journal file was written by a newer responder, whose schema this one does not know."""


def connect(path: Path) -> JournalConnection:
    """The journal's connection, its schema brought up to SCHEMA_VERSION. WAL mode; every
    commit synchronous=FULL until the writer switches it per batch; checkpoints left to the
    checkpointer thread, beside the writer's commits rather than inside them. The file and its
    -wal and -shm are owner-only (see `open_private`)."""
    os.close(open_private(path))
    for own in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        _tighten(own)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, factory=JournalConnection)
    try:
        _refuse_newer(conn, path)  # before any PRAGMA: a journal this responder does not know is not touched
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def _refuse_newer(conn: sqlite3.Connection, path: Path) -> int:
    """The journal's schema version; JournalSchemaError when a newer responder wrote it."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise JournalSchemaError(
            f"{path} was written by a newer responder (journal schema version {version}; this one"
            f" knows versions up to {SCHEMA_VERSION}): run that newer responder on it, or point"
            " journal.sqlite in responder.yaml at another file"
        )
    return int(version)


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply the migrations `conn`'s journal has not had yet, each in its own transaction."""
    version = _refuse_newer(conn, path)
    for target in range(version + 1, SCHEMA_VERSION + 1):
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{MIGRATIONS[target - 1]}\nPRAGMA user_version = {target};\nCOMMIT;")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
