"""The journal's read models for the audit API and the console, written once for both backends:
alert instances, a console's page of them, the latest acknowledgements and one fingerprint's
timeline. Each backend passes a `Fetch` on its connection and its `Dialect` (placeholder, how a
label is read out of the labels' JSON, how a JSON column arrives)."""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from responder.journal import Listing
from responder.journal.sqlite_rows import INSTANCE_COLUMNS, instance_from_row

Fetch = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]

INSTANCE_KEYS = (
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
_SEVERITY_RANK = "CASE i.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 WHEN 'info' THEN 2 ELSE 3 END"


@dataclass(frozen=True)
class Dialect:
    """What differs between SQLite's and PostgreSQL's SQL for these reads."""

    mark: str  # the placeholder for one bound value
    label: str  # SQL reading one label's value out of i.labels; its one placeholder is `label_path(name)`
    label_path: Callable[[str], str]
    json_column: Callable[[Any], Any]  # a JSON column's value as Python (SQLite stores text)


SQLITE = Dialect(
    mark="?",
    label="json_extract(i.labels, ?)",
    label_path=lambda name: '$."' + name.replace('"', "") + '"',
    json_column=json.loads,
)
POSTGRES = Dialect(
    mark="%s",
    label="(i.labels::jsonb ->> %s)",
    label_path=lambda name: name,
    json_column=lambda value: value,
)


def instances(fetch: Fetch, d: Dialect, filters: dict[str, str], limit: int) -> list[dict[str, Any]]:
    """The latest seen first; `filters` keeps those whose columns equal the values given."""
    where = [f"{k} = {d.mark}" for k in _FILTERS if k in filters]
    values = [filters[k] for k in _FILTERS if k in filters]
    sql = (
        f"SELECT {', '.join(INSTANCE_KEYS)} FROM instances"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY last_seen DESC, id DESC LIMIT {d.mark}"
    )
    return [dict(zip(INSTANCE_KEYS, row, strict=True)) for row in fetch(sql, (*values, limit))]


def _like(text: str) -> str:
    """`text` anywhere, as a LIKE pattern escaped with `!`: a backslash would be read differently
    by PostgreSQL with standard_conforming_strings off."""
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def _page_where(d: Dialect, query: Listing) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    values: list[Any] = []
    for column in ("status", "severity", "action", "fingerprint"):
        wanted = getattr(query, column)
        if wanted is not None:
            where.append(f"i.{column} = {d.mark}")
            values.append(wanted)
    for name, value in query.labels.items():
        where.append(f"{d.label} = {d.mark}")
        values += [d.label_path(name), value]
    if query.search:
        # lower() on both sides: ASCII letters compare without case on either backend.
        where.append(
            f"(lower(i.alertname) LIKE lower({d.mark}) ESCAPE '!' OR lower(i.labels) LIKE lower({d.mark}) ESCAPE '!')"
        )
        values += [_like(query.search)] * 2
    return where, values


def listing(fetch: Fetch, d: Dialect, query: Listing) -> list[dict[str, Any]]:
    """A page of instances with their labels, acknowledgement and steps' latest outcomes, in
    four statements whatever the page's size."""
    where, values = _page_where(d, query)
    rows = fetch(
        f"SELECT i.id, {', '.join('i.' + k for k in INSTANCE_KEYS)}, i.labels, i.annotations, a.actor, a.via, a.at"
        " FROM instances i LEFT JOIN acknowledgements a ON a.instance_id = i.id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + f" ORDER BY {_SEVERITY_RANK}, i.starts_at DESC, i.id DESC LIMIT {d.mark} OFFSET {d.mark}",
        (*values, query.limit, query.offset),
    )
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        entry = dict(zip(INSTANCE_KEYS, row[1:10], strict=True))
        entry["labels"], entry["annotations"] = json.loads(row[10]), json.loads(row[11])
        entry["acknowledged"] = {"actor": row[12], "via": row[13], "at": row[14]} if row[12] is not None else None
        entry["steps"], entry["decision"] = [], None
        found[row[0]] = entry
    if not found:
        return []
    ids = ", ".join([d.mark] * len(found))
    steps: dict[int, dict[str, Any]] = {}
    for sid, iid, kind, name, params, status, due in fetch(
        f"SELECT id, instance_id, kind, name, params, status, due_at FROM steps WHERE instance_id IN ({ids})"
        " ORDER BY id",
        tuple(found),
    ):
        step = {
            "kind": kind,
            "name": name,
            "params": d.json_column(params),
            "status": status,
            "due_at": due,
            "last": None,
        }
        found[iid]["steps"].append(step)
        steps[sid] = step
    for iid, detail in fetch(
        f"SELECT instance_id, detail FROM events WHERE instance_id IN ({ids}) AND kind = 'firing' ORDER BY id DESC",
        tuple(found),
    ):
        found[iid]["decision"] = d.json_column(detail)  # the first firing's, read last
    if steps:
        for sid, status, detail in fetch(
            "SELECT step_id, status, detail FROM attempts WHERE id IN (SELECT MAX(id) FROM attempts"
            f" WHERE step_id IN ({', '.join([d.mark] * len(steps))}) GROUP BY step_id)",
            tuple(steps),
        ):
            steps[sid]["last"] = {"status": status, "detail": d.json_column(detail)}
    return list(found.values())


def acknowledgements(fetch: Fetch, d: Dialect, limit: int) -> list[dict[str, Any]]:
    keys = ("at", "actor", "via", "fingerprint", "starts_at", "alertname")
    rows = fetch(
        "SELECT a.at, a.actor, a.via, i.fingerprint, i.starts_at, i.alertname FROM acknowledgements a"
        f" JOIN instances i ON i.id = a.instance_id ORDER BY a.at DESC, a.instance_id DESC LIMIT {d.mark}",
        (limit,),
    )
    return [dict(zip(keys, row, strict=True)) for row in rows]


def timeline(fetch: Fetch, d: Dialect, fingerprint: str) -> list[dict[str, Any]]:
    """Every instance of `fingerprint`, oldest first, with its events, steps and their attempts,
    in four statements per instance."""
    out = []
    for row in fetch(
        f"SELECT {INSTANCE_COLUMNS}, first_seen, resolved_at FROM instances WHERE fingerprint = {d.mark}"
        " ORDER BY starts_at",
        (fingerprint,),
    ):
        inst = instance_from_row(row)
        events = [
            {"at": at, "kind": kind, "notification": nid, "detail": d.json_column(detail)}
            for at, kind, nid, detail in fetch(
                f"SELECT at, kind, notification_id, detail FROM events WHERE instance_id = {d.mark} ORDER BY id",
                (inst.id,),
            )
        ]
        attempts: dict[int, list[dict[str, Any]]] = {}
        for step_id, started, finished, status, detail in fetch(
            "SELECT a.step_id, a.started_at, a.finished_at, a.status, a.detail FROM attempts a"
            f" JOIN steps s ON s.id = a.step_id WHERE s.instance_id = {d.mark} ORDER BY a.id",
            (inst.id,),
        ):
            attempts.setdefault(step_id, []).append(
                {"started_at": started, "finished_at": finished, "status": status, "detail": d.json_column(detail)}
            )
        steps = [
            {
                "kind": kind,
                "name": name,
                "params": d.json_column(params),
                "status": status,
                "due_at": due,
                "attempts": attempts.get(sid, []),
            }
            for sid, kind, name, params, status, due in fetch(
                f"SELECT id, kind, name, params, status, due_at FROM steps WHERE instance_id = {d.mark} ORDER BY id",
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
