"""The PostgreSQL journal's schema, versioned, and how a server is checked before use.

`responder_schema` holds one row per migration applied. MIGRATIONS[n] takes a database from
version n to n + 1, in one transaction with its row, so a crash mid-way leaves the older
version whole. Migrations run at start under a session advisory lock: replicas starting
together take turns, and the second finds the work done. A database of a later version than
this code knows is refused, never written to.

The tables mirror the SQLite journal's (see sqlite_schema), with what a shared database needs
besides: a step's lease names its holder (`lease_holder`), the escalation tables go with their
parents through ON DELETE CASCADE, and JSON the database reads itself (step parameters,
details) is `jsonb`.
"""

from typing import Any

import psycopg

# The same refusal as the SQLite journal's: whoever starts a journal catches one class.
from responder.journal.sqlite_schema import JournalSchemaError as JournalSchemaError

# pg_advisory_lock keys: arbitrary, fixed, and the journal's own.
MIGRATION_LOCK = 7_240_518_001
GUARD_LOCK = 7_240_518_002  # transaction lock: first firings read and plan the guards' counts in turn

_VERSION_1 = """
CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    received_at DOUBLE PRECISION NOT NULL,
    correlation_id TEXT NOT NULL,
    body BYTEA NOT NULL,
    processed_at DOUBLE PRECISION
);
CREATE INDEX notifications_unprocessed ON notifications (id) WHERE processed_at IS NULL;
CREATE TABLE instances (
    id BIGSERIAL PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    status TEXT NOT NULL,
    alertname TEXT NOT NULL,
    severity TEXT NOT NULL,
    action TEXT NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    first_seen DOUBLE PRECISION NOT NULL,
    last_seen DOUBLE PRECISION NOT NULL,
    resolved_at DOUBLE PRECISION,
    UNIQUE (fingerprint, starts_at)
);
CREATE INDEX instances_last_seen ON instances (last_seen);
CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    instance_id BIGINT REFERENCES instances (id) ON DELETE CASCADE,
    notification_id BIGINT,
    at DOUBLE PRECISION NOT NULL,
    kind TEXT NOT NULL,
    detail JSONB NOT NULL
);
CREATE INDEX events_instance ON events (instance_id);
CREATE TABLE steps (
    id BIGSERIAL PRIMARY KEY,
    instance_id BIGINT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    target_key TEXT,
    params JSONB NOT NULL,
    status TEXT NOT NULL,
    due_at DOUBLE PRECISION NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_until DOUBLE PRECISION,
    lease_holder TEXT,  -- the replica that holds its lease, or held it last
    correlation_id TEXT NOT NULL,
    outcome TEXT,
    UNIQUE (instance_id, key)
);
CREATE INDEX steps_pending ON steps (kind, due_at, id) WHERE status = 'pending';
CREATE INDEX steps_leased ON steps (kind, lease_until) WHERE status = 'running';
CREATE INDEX steps_remediation_target ON steps (target_key, created_at) WHERE kind = 'remediation';
CREATE INDEX steps_remediation_window ON steps (created_at, name) WHERE kind = 'remediation';
CREATE TABLE attempts (
    id BIGSERIAL PRIMARY KEY,
    step_id BIGINT NOT NULL REFERENCES steps (id) ON DELETE CASCADE,
    started_at DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION NOT NULL,
    status TEXT NOT NULL,
    detail JSONB NOT NULL
);
CREATE INDEX attempts_step ON attempts (step_id);
CREATE TABLE holds (
    state TEXT NOT NULL,
    namespace TEXT NOT NULL,
    deployment TEXT NOT NULL,
    holder TEXT NOT NULL,
    since DOUBLE PRECISION NOT NULL,
    detail JSONB NOT NULL,
    PRIMARY KEY (state, namespace, deployment, holder)
);
CREATE TABLE operations (
    id BIGSERIAL PRIMARY KEY,
    at DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    op TEXT NOT NULL,
    target JSONB NOT NULL,
    ok BOOLEAN NOT NULL,
    detail JSONB NOT NULL
);
CREATE INDEX operations_at ON operations (at);
CREATE TABLE channel_state (
    instance_id BIGINT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    ref TEXT NOT NULL,
    state JSONB NOT NULL,
    PRIMARY KEY (instance_id, channel)
);
CREATE INDEX channel_state_ref ON channel_state (channel, ref);
CREATE TABLE acknowledgements (
    instance_id BIGINT PRIMARY KEY REFERENCES instances (id) ON DELETE CASCADE,
    at DOUBLE PRECISION NOT NULL,
    actor TEXT NOT NULL,
    via TEXT NOT NULL
);
CREATE TABLE deliveries (
    step_id BIGINT NOT NULL REFERENCES steps (id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    marked_at DOUBLE PRECISION NOT NULL,
    provider_id TEXT,
    PRIMARY KEY (step_id, recipient)
);
CREATE TABLE changes (
    step_id BIGINT NOT NULL REFERENCES steps (id) ON DELETE CASCADE,
    deployment TEXT NOT NULL,
    name TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (step_id, deployment)
);
CREATE INDEX changes_deployment ON changes (deployment, at, name);
CREATE TABLE webhook_events (
    channel TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (channel, event_id)
);
CREATE INDEX webhook_events_received ON webhook_events (received_at);
"""

MIGRATIONS: tuple[str, ...] = (_VERSION_1,)  # MIGRATIONS[n]: version n to n + 1
SCHEMA_VERSION = len(MIGRATIONS)
# The journal's tables, in an order that copies parents before the rows that reference them.
TABLES = (
    "notifications",
    "instances",
    "events",
    "steps",
    "attempts",
    "holds",
    "operations",
    "channel_state",
    "acknowledgements",
    "deliveries",
    "changes",
    "webhook_events",
)


def version(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    """The database's schema version: 0 when the journal was never created in it."""
    found = conn.execute("SELECT to_regclass('responder_schema') IS NOT NULL").fetchone()
    if not found or not found[0]:
        return 0
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM responder_schema").fetchone()
    return int(row[0]) if row else 0


def refuse_newer(found: int, where: str) -> None:
    if found > SCHEMA_VERSION:
        raise JournalSchemaError(
            f"{where} was written by a newer responder (journal schema version {found}; this one knows"
            f" versions up to {SCHEMA_VERSION}): run that newer responder on it, or point"
            " journal.postgresql in responder.yaml at another database"
        )


def migrate(conn: psycopg.Connection[tuple[Any, ...]], where: str) -> int:
    """Apply what the database has not had yet, under the migration lock; how many were applied.
    `conn` is in autocommit mode; each migration is its own transaction."""
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS responder_schema (version INTEGER PRIMARY KEY, applied_at TEXT)")
        found = version(conn)
        refuse_newer(found, where)
        for target in range(found + 1, SCHEMA_VERSION + 1):
            with conn.transaction():
                conn.execute(MIGRATIONS[target - 1].encode())
                conn.execute("INSERT INTO responder_schema (version, applied_at) VALUES (%s, now()::text)", (target,))
        return SCHEMA_VERSION - found
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


def durability_problem(conn: psycopg.Connection[tuple[Any, ...]]) -> str | None:
    """Why a commit on this server may not survive a crash of the server, or None."""
    row = conn.execute("SELECT current_setting('fsync')").fetchone()
    if row and row[0] == "off":
        return (
            "the PostgreSQL server runs with fsync = off: a commit is not on disk when it returns, so a"
            " notification answered 200 can be lost if the server's machine crashes; set fsync = on in"
            " its postgresql.conf and reload it"
        )
    return None
