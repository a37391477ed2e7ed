-- The SQLite journal's DDL as of commit fc9272b, the last schema before versions (user_version 0):
-- what a journal written by that responder holds. Kept to test that such a journal migrates.
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
-- Partial indexes on kind and status: queries on steps name those as literals (see step_kind).
-- Pending and running steps only: a step leased as it is planned, and every outcome, then write
-- nothing to steps_pending (an index on every step's status moved each step twice in it).
DROP INDEX IF EXISTS steps_due;
CREATE INDEX IF NOT EXISTS steps_pending ON steps (kind, due_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS steps_leased ON steps (kind, lease_until) WHERE status = 'running';
-- The guards' indexes hold remediations only, and no status: escalation steps, and every claim
-- and outcome of a remediation, then write nothing to them.
DROP INDEX IF EXISTS steps_target;
DROP INDEX IF EXISTS steps_window;
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
