"""Holds on deployments (frozen, stopped) and the operations humans ran, in SQLite.

A hold is standing state, not history: it lives until an unfreeze or restore lifts it, so
pruning never touches it. Several alert instances may freeze the same deployment; each is
its own row, and the deployment is frozen while any row remains.
"""

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from responder.journal import Effect, Operation


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def apply_effects(conn: sqlite3.Connection, effects: Sequence[Effect], now: float) -> None:
    for e in effects:
        if e.on:
            conn.execute(
                "INSERT INTO holds (state, namespace, deployment, holder, since, detail) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (e.state, e.namespace, e.deployment, e.holder or "", now, _dumps(e.detail)),
            )
        elif e.holder is None:
            conn.execute(
                "DELETE FROM holds WHERE state = ? AND namespace = ? AND deployment = ?",
                (e.state, e.namespace, e.deployment),
            )
        else:
            conn.execute(
                "DELETE FROM holds WHERE state = ? AND namespace = ? AND deployment = ? AND holder = ?",
                (e.state, e.namespace, e.deployment, e.holder),
            )


def record_operation(conn: sqlite3.Connection, operation: Operation) -> None:
    o = operation
    conn.execute(
        "INSERT INTO operations (at, actor, op, target, ok, detail) VALUES (?, ?, ?, ?, ?, ?)",
        (o.at, o.actor, o.op, _dumps(o.target), int(o.ok), _dumps(o.detail)),
    )
    apply_effects(conn, o.effects, o.at)


def holds(conn: sqlite3.Connection, state: str | None, namespace: str | None) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT state, namespace, deployment, holder, since, detail FROM holds"
        " WHERE (? IS NULL OR state = ?) AND (? IS NULL OR namespace = ?)"
        " ORDER BY namespace, deployment, state, since",
        (state, state, namespace, namespace),
    ).fetchall()
    return [
        {
            "state": r[0],
            "namespace": r[1],
            "deployment": r[2],
            "holder": r[3] or None,
            "since": r[4],
            **orjson.loads(r[5]),
        }
        for r in rows
    ]


def operations(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT at, actor, op, target, ok, detail FROM operations ORDER BY id DESC LIMIT ?", (limit,)
    ).fetchall()
    return [
        {"at": r[0], "actor": r[1], "op": r[2], "target": orjson.loads(r[3]), "ok": bool(r[4]), **orjson.loads(r[5])}
        for r in rows
    ]
