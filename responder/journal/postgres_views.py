"""Read models of the PostgreSQL journal for the audit API: alert instances, one fingerprint's
timeline, holds and operations, shaped as the SQLite journal's (see sqlite_views, sqlite_holds)."""

from typing import Any

import psycopg

from responder.journal.postgres_writer import Connection
from responder.journal.sqlite_rows import INSTANCE_COLUMNS, instance_from_row

_INSTANCE_KEYS = (
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
_FILTERS = ("status", "action", "alertname", "severity", "fingerprint")


def instances(conn: Connection, filters: dict[str, str], limit: int) -> list[dict[str, Any]]:
    """The latest seen first; `filters` keeps those whose columns equal the values given."""
    where = [f"{k} = %s" for k in _FILTERS if k in filters]
    values = [filters[k] for k in _FILTERS if k in filters]
    sql = (
        f"SELECT {', '.join(_INSTANCE_KEYS)} FROM instances"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY last_seen DESC, id DESC LIMIT %s"
    )
    return [dict(zip(_INSTANCE_KEYS, row, strict=True)) for row in conn.execute(sql, (*values, limit)).fetchall()]


def timeline(conn: Connection, fingerprint: str) -> list[dict[str, Any]]:
    """Every instance of `fingerprint`, oldest first, with its events, steps and their attempts."""
    out = []
    for row in conn.execute(
        f"SELECT {INSTANCE_COLUMNS}, first_seen, resolved_at FROM instances WHERE fingerprint = %s ORDER BY starts_at",
        (fingerprint,),
    ).fetchall():
        inst = instance_from_row(row)
        events = [
            {"at": at, "kind": kind, "notification": nid, "detail": detail}
            for at, kind, nid, detail in conn.execute(
                "SELECT at, kind, notification_id, detail FROM events WHERE instance_id = %s ORDER BY id", (inst.id,)
            ).fetchall()
        ]
        attempts: dict[int, list[dict[str, Any]]] = {}
        for step_id, started, finished, status, detail in conn.execute(
            "SELECT a.step_id, a.started_at, a.finished_at, a.status, a.detail FROM attempts a"
            " JOIN steps s ON s.id = a.step_id WHERE s.instance_id = %s ORDER BY a.id",
            (inst.id,),
        ).fetchall():
            attempts.setdefault(step_id, []).append(
                {"started_at": started, "finished_at": finished, "status": status, "detail": detail}
            )
        steps = [
            {
                "kind": kind,
                "name": name,
                "params": params,
                "status": status,
                "due_at": due,
                "attempts": attempts.get(sid, []),
            }
            for sid, kind, name, params, status, due in conn.execute(
                "SELECT id, kind, name, params, status, due_at FROM steps WHERE instance_id = %s ORDER BY id",
                (inst.id,),
            ).fetchall()
        ]
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


def holds(conn: Connection, state: str | None, namespace: str | None) -> list[dict[str, Any]]:
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


def operations(conn: Connection, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT at, actor, op, target, ok, detail FROM operations ORDER BY id DESC LIMIT %s", (limit,)
    ).fetchall()
    return [{"at": r[0], "actor": r[1], "op": r[2], "target": r[3], "ok": r[4], **r[5]} for r in rows]


def leases(conn: Connection) -> list[dict[str, Any]]:
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
