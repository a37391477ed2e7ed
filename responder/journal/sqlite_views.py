"""Read models of the SQLite journal for the audit API, the console and the benchmark: alert
instances, a console's page of them, one fingerprint's timeline, and the time from a
notification to its first remediation."""

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from responder.journal import Listing
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


def instances(conn: sqlite3.Connection, filters: dict[str, str], limit: int) -> list[dict[str, Any]]:
    """The latest seen first; `filters` keeps those whose columns equal the values given."""
    where = [f"{k} = ?" for k in _FILTERS if k in filters]
    values = [filters[k] for k in _FILTERS if k in filters]
    sql = (
        f"SELECT {', '.join(_INSTANCE_KEYS)} FROM instances"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY last_seen DESC, id DESC LIMIT ?"
    )
    return [dict(zip(_INSTANCE_KEYS, row, strict=True)) for row in conn.execute(sql, (*values, limit)).fetchall()]


_SEVERITY_RANK = "CASE i.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 WHEN 'info' THEN 2 ELSE 3 END"


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def listing(conn: sqlite3.Connection, query: Listing) -> list[dict[str, Any]]:
    """A page of instances with their labels, acknowledgement and steps' latest outcomes, in
    four statements whatever the page's size."""
    where, values = [], []
    for column in ("status", "severity", "action", "fingerprint"):
        wanted = getattr(query, column)
        if wanted is not None:
            where.append(f"i.{column} = ?")
            values.append(wanted)
    for name, value in query.labels.items():
        where.append("json_extract(i.labels, ?) = ?")
        values += ['$."' + name.replace('"', "") + '"', value]
    if query.search:
        where.append("(i.alertname LIKE ? ESCAPE '\\' OR i.labels LIKE ? ESCAPE '\\')")
        values += [_like(query.search)] * 2
    rows = conn.execute(
        f"SELECT i.id, {', '.join('i.' + k for k in _INSTANCE_KEYS)}, i.labels, i.annotations, a.actor, a.via, a.at"
        " FROM instances i LEFT JOIN acknowledgements a ON a.instance_id = i.id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY {_SEVERITY_RANK}, i.starts_at DESC, i.id DESC LIMIT ? OFFSET ?",
        (*values, query.limit, query.offset),
    ).fetchall()
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        entry = dict(zip(_INSTANCE_KEYS, row[1:10], strict=True))
        entry["labels"], entry["annotations"] = json.loads(row[10]), json.loads(row[11])
        entry["acknowledged"] = {"actor": row[12], "via": row[13], "at": row[14]} if row[12] is not None else None
        entry["steps"], entry["decision"] = [], None
        found[row[0]] = entry
    if not found:
        return []
    marks = ", ".join("?" * len(found))
    steps: dict[int, dict[str, Any]] = {}
    for sid, iid, kind, name, params, status, due in conn.execute(
        f"SELECT id, instance_id, kind, name, params, status, due_at FROM steps WHERE instance_id IN ({marks})"
        " ORDER BY id",
        tuple(found),
    ):
        step = {"kind": kind, "name": name, "params": json.loads(params), "status": status, "due_at": due, "last": None}
        found[iid]["steps"].append(step)
        steps[sid] = step
    for iid, detail in conn.execute(
        f"SELECT instance_id, detail FROM events WHERE instance_id IN ({marks}) AND kind = 'firing' ORDER BY id DESC",
        tuple(found),
    ):
        found[iid]["decision"] = json.loads(detail)  # the first firing's, read last
    if steps:
        for sid, status, detail in conn.execute(
            "SELECT step_id, status, detail FROM attempts WHERE id IN (SELECT MAX(id) FROM attempts"
            f" WHERE step_id IN ({', '.join('?' * len(steps))}) GROUP BY step_id)",
            tuple(steps),
        ):
            steps[sid]["last"] = {"status": status, "detail": json.loads(detail)}
    return list(found.values())


def acknowledgements(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    keys = ("at", "actor", "via", "fingerprint", "starts_at", "alertname")
    rows = conn.execute(
        "SELECT a.at, a.actor, a.via, i.fingerprint, i.starts_at, i.alertname FROM acknowledgements a"
        " JOIN instances i ON i.id = a.instance_id ORDER BY a.at DESC, a.instance_id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [dict(zip(keys, row, strict=True)) for row in rows]


def timeline(conn: sqlite3.Connection, fingerprint: str) -> list[dict[str, Any]]:
    """Every instance of `fingerprint`, oldest first, with its events, steps and their attempts."""
    out = []
    for row in conn.execute(
        f"SELECT {INSTANCE_COLUMNS}, first_seen, resolved_at FROM instances WHERE fingerprint = ? ORDER BY starts_at",
        (fingerprint,),
    ).fetchall():
        inst = instance_from_row(row)
        events = [
            {"at": at, "kind": kind, "notification": nid, "detail": json.loads(detail)}
            for at, kind, nid, detail in conn.execute(
                "SELECT at, kind, notification_id, detail FROM events WHERE instance_id = ? ORDER BY id", (inst.id,)
            )
        ]
        steps = [
            {
                "kind": kind,
                "name": name,
                "params": json.loads(params),
                "status": status,
                "due_at": due,
                "attempts": _attempts(conn, sid),
            }
            for sid, kind, name, params, status, due in conn.execute(
                "SELECT id, kind, name, params, status, due_at FROM steps WHERE instance_id = ? ORDER BY id",
                (inst.id,),
            )
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


def _attempts(conn: sqlite3.Connection, step_id: int) -> list[dict[str, Any]]:
    return [
        {"started_at": s, "finished_at": f, "status": st, "detail": json.loads(d)}
        for s, f, st, d in conn.execute(
            "SELECT started_at, finished_at, status, detail FROM attempts WHERE step_id = ? ORDER BY id", (step_id,)
        )
    ]


def start_latencies_ms(journal_path: Path, since: float = 0.0) -> list[float]:
    """Per notification received from `since` on: its first remediation attempt's start minus its
    arrival, in milliseconds. Reads the journal file on a connection of its own (the benchmark
    reads it beside, or after, the responder that wrote it)."""
    with closing(sqlite3.connect(journal_path)) as db:
        rows = db.execute(
            "SELECT n.received_at, MIN(a.started_at) FROM notifications n"
            " JOIN steps s ON s.correlation_id LIKE n.correlation_id || '/%' AND s.kind = 'remediation'"
            " JOIN attempts a ON a.step_id = s.id WHERE n.received_at >= ? GROUP BY n.id",
            (since,),
        ).fetchall()
    return [(started - received) * 1000 for received, started in rows]
