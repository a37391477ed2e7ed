"""Read models of the PostgreSQL journal for the audit API and the console: alert instances (shared
with SQLite in read_models), holds, operations and leases, shaped as the SQLite journal's."""

from typing import Any

import psycopg

from responder.journal import Listing, read_models
from responder.journal.postgres_session import SyncConnection
from responder.journal.read_models import POSTGRES


def _fetch(conn: SyncConnection) -> read_models.Fetch:
    return lambda sql, values: conn.execute(sql, values).fetchall()


def instances(conn: SyncConnection, filters: dict[str, str], limit: int) -> list[dict[str, Any]]:
    return read_models.instances(_fetch(conn), POSTGRES, filters, limit)


def listing(conn: SyncConnection, query: Listing) -> list[dict[str, Any]]:
    return read_models.listing(_fetch(conn), POSTGRES, query)


def acknowledgements(conn: SyncConnection, limit: int) -> list[dict[str, Any]]:
    return read_models.acknowledgements(_fetch(conn), POSTGRES, limit)


def timeline(conn: SyncConnection, fingerprint: str) -> list[dict[str, Any]]:
    return read_models.timeline(_fetch(conn), POSTGRES, fingerprint)


def holds(conn: SyncConnection, state: str | None, namespace: str | None) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT state, namespace, deployment, holder, since, detail FROM holds"
        " WHERE (%s::text IS NULL OR state = %s) AND (%s::text IS NULL OR namespace = %s)"
        " ORDER BY namespace, deployment, state, since",
        (state, state, namespace, namespace),
    ).fetchall()
    return [
        {"state": r[0], "namespace": r[1], "deployment": r[2], "holder": r[3] or None, "since": r[4], **r[5]}
        for r in rows
    ]


def operations(conn: SyncConnection, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT at, actor, op, target, ok, detail FROM operations ORDER BY id DESC LIMIT %s", (limit,)
    ).fetchall()
    return [{"at": r[0], "actor": r[1], "op": r[2], "target": r[3], "ok": r[4], **r[5]} for r in rows]


def leases(conn: SyncConnection) -> list[dict[str, Any]]:
    """Which replica holds which step now, and until when: for `responder status` and the API."""
    rows = conn.execute(
        "SELECT s.lease_holder, s.id, s.kind, s.name, s.lease_until, i.fingerprint, i.starts_at FROM steps s"
        " JOIN instances i ON i.id = s.instance_id WHERE s.status = 'running' ORDER BY s.lease_holder, s.id"
    ).fetchall()
    keys = ("replica", "step", "kind", "name", "lease_until", "fingerprint", "starts_at")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def start_latencies_ms(dsn: str, since: float = 0.0) -> list[float]:
    """Per notification received from `since` on: its first remediation attempt's start minus its
    arrival, in milliseconds, as sqlite_views.start_latencies_ms reads them from a SQLite journal.
    On a connection of its own (the benchmark reads beside, or after, the responders)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT n.received_at, MIN(a.started_at) FROM notifications n"
            " JOIN steps s ON s.correlation_id LIKE n.correlation_id || '/%%' AND s.kind = 'remediation'"
            " JOIN attempts a ON a.step_id = s.id WHERE n.received_at >= %s GROUP BY n.id",
            (since,),
        ).fetchall()
    return [(started - received) * 1000 for received, started in rows]
