"""The responder's sessions on PostgreSQL: how it connects (bounded waits), what each session
sets whatever the role's defaults, and the lock that lets one process run as a replica."""

import os
import socket
from typing import Any

import orjson
import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import set_json_loads

from responder.journal.postgres_loop import LoopConnection, wait
from responder.journal.sqlite import JournalLockedError
from responder.journal_policy import dsn_problem

# A blocking connection: the reads' (on a thread of their own), migrations, and the CLI's tools.
SyncConnection = psycopg.Connection[tuple[Any, ...]]
REPLICA_LOCK_CLASS = 72_405  # pg_advisory_lock(class, hashtext(replica)): one process per replica name
# Bounds on what one statement may hold the writer, and the transactions waiting for it.
_WRITER_SETTINGS = (
    "SET synchronous_commit = on",
    "SET lock_timeout = '2s'",
    "SET statement_timeout = '10s'",
    "SET idle_in_transaction_session_timeout = '60s'",
    # Notification bodies are kilobytes of JSON, compressed as they are stored: lz4 costs the
    # server half what the default (pglz) does, for the same size. Where the server was built
    # without lz4, the default stays.
    "SELECT set_config(name, 'lz4', false) FROM pg_settings WHERE name = 'default_toast_compression'"
    " AND 'lz4' = ANY(enumvals)",
)
_BOUNDS: dict[str, Any] = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
_READ_TIMEOUT = b"SET statement_timeout = '5s'"


class ReplicaInUseError(JournalLockedError):
    """Another live process runs as this replica on this database."""


def default_replica() -> str:
    """RESPONDER_REPLICA, else the host name (a pod's name in Kubernetes)."""
    return os.environ.get("RESPONDER_REPLICA") or socket.gethostname()


def describe(dsn: str) -> str:
    """The database a DSN names, for messages: host, port and database, never a password."""
    if dsn_problem(dsn) is not None:
        return "the PostgreSQL database of journal.postgresql (its DSN cannot be read)"
    parts = conninfo_to_dict(dsn)
    host = parts.get("host") or "localhost"
    return f"PostgreSQL {parts.get('dbname') or parts.get('user') or ''} on {host}:{parts.get('port') or 5432}"


def connect(dsn: str, autocommit: bool = False) -> SyncConnection:
    """A connection with bounded waits: to connect, and to notice a server gone silent."""
    return psycopg.connect(dsn, autocommit=autocommit, **_BOUNDS)


def connect_on_loop(dsn: str) -> LoopConnection:
    """The writer's connection (see postgres_loop), with the bounded waits of `connect`."""
    return LoopConnection(wait(psycopg.AsyncConnection.connect(dsn, **_BOUNDS)))


def writer_session(conn: LoopConnection, replica: str, where: str) -> None:
    """A new session of the writer: its settings, JSON decoded by orjson, and the replica's lock
    (ReplicaInUseError if another live process holds it)."""
    set_json_loads(orjson.loads, conn.raw)
    for statement in _WRITER_SETTINGS:
        conn.execute(statement.encode())
    conn.execute("SELECT set_config('application_name', %s, false)", (f"responder {replica}"[:63],))
    row = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (REPLICA_LOCK_CLASS, replica)).fetchone()
    conn.commit()
    if not row or not row[0]:
        raise ReplicaInUseError(
            f"another responder process runs as replica {replica!r} on {where}; give each"
            " replica its own name (RESPONDER_REPLICA, by default the host name)"
        )


def reads_session(dsn: str, replica: str) -> SyncConnection:
    """The reads' session: autocommit, JSON decoded by orjson, and a shorter statement timeout
    than the writer's, since a person or a dispatcher waits for it."""
    conn = connect(dsn, autocommit=True)
    set_json_loads(orjson.loads, conn)
    conn.execute(_READ_TIMEOUT)
    conn.execute("SELECT set_config('application_name', %s, false)", (f"responder {replica} reads"[:63],))
    return conn
