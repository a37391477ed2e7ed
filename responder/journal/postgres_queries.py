"""The PostgreSQL journal's statements outside a Transaction: notifications in and out, a step's
outcome and effects, holds and operations, recovery at start, pruning and the backlog count.
Each is a function of the connection, run by the writer inside one of its transactions."""

from collections.abc import Sequence
from typing import Any

from responder.journal import Effect, Operation, Step, StepResult, StoredNotification
from responder.journal.postgres_batch import BatchState, Outcome
from responder.journal.postgres_replica import Replica
from responder.journal.postgres_session import SyncConnection
from responder.journal.postgres_tx import PostgresTransaction
from responder.journal.postgres_writer import Connection
from responder.journal.sqlite_rows import INTERRUPTED, dumps, step_kind
from responder.planner import PlannedStep
from responder.vocabulary import ON_RESOLVE, StepStatus

_PENDING, _RUNNING, _CANCELLED = StepStatus.PENDING.value, StepStatus.RUNNING.value, StepStatus.CANCELLED.value
_INTERRUPTED_BY_RESTART = dumps(
    {
        "error": "interrupted by restart: the responder stopped during this attempt; whether it took "
        "effect is found out by the next attempt before it acts again",
        "interrupted": "restart",
    }
)


def insert_notification(
    conn: Connection,
    replica: Replica,
    batch: BatchState,
    body: bytes,
    correlation_id: str,
    now: float,
    processed: float | None,
) -> int:
    """Append a notification (applied at `processed`, or left for ingest when None); its id.
    Inserted with the batch's others (BatchState.flush); its id is reserved, not read back."""
    notification_id = replica.next_id(conn, "notifications")
    batch.append_notification(conn, (notification_id, now, correlation_id, body, processed))
    return notification_id


def any_unapplied(conn: Connection, batch: BatchState) -> bool:
    batch.flush(conn)
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM notifications WHERE processed_at IS NULL)").fetchone()
    return bool(row and row[0])


def unprocessed(conn: Connection, batch: BatchState, limit: int) -> list[StoredNotification]:
    batch.flush(conn)
    rows = conn.execute(
        # Each replica takes its ids in blocks: arrival order across replicas is received_at's.
        "SELECT id, body, correlation_id FROM notifications WHERE processed_at IS NULL ORDER BY received_at, id"
        " LIMIT %s",
        (limit,),
    ).fetchall()
    return [StoredNotification(r[0], bytes(r[1]), r[2]) for r in rows]


def recover(conn: Connection, replica: str, now: float) -> int:
    """Hand back the steps a previous process of this replica left running: the replica's lock
    (see PostgresJournal.start) proves that process gone. Other replicas' steps wait for their
    leases. Each gets its interrupted attempt in the timeline and is marked so."""
    conn.execute(
        "INSERT INTO attempts (step_id, started_at, finished_at, status, detail)"
        f" SELECT id, updated_at, %s, '{INTERRUPTED}', %s::jsonb FROM steps"
        f" WHERE status = '{_RUNNING}' AND lease_holder = %s",
        (now, _INTERRUPTED_BY_RESTART, replica),
    )
    return len(
        conn.execute(
            f"UPDATE steps SET status = '{_PENDING}', lease_until = NULL, outcome = '{INTERRUPTED}'"
            f" WHERE status = '{_RUNNING}' AND lease_holder = %s RETURNING 1",
            (replica,),
        ).fetchall()
    )


def hand_back(conn: Connection, replica: str, leases: list[tuple[int, float]]) -> None:
    """Steps leased by a transaction whose commit's answer was lost: pending again, their
    attempt not counted, if that commit went through and they are still as it left them."""
    conn.execute(
        f"UPDATE steps s SET status = '{_PENDING}', lease_until = NULL, attempts = s.attempts - 1"
        " FROM unnest(%s::bigint[], %s::float8[]) AS l (id, until)"
        f" WHERE s.id = l.id AND s.status = '{_RUNNING}' AND s.lease_holder = %s AND s.lease_until = l.until",
        ([step for step, _ in leases], [until for _, until in leases], replica),
    )


def apply_effects(conn: Connection, effects: Sequence[Effect], now: float) -> None:
    for e in effects:
        if e.on:
            conn.execute(
                "INSERT INTO holds (state, namespace, deployment, holder, since, detail)"
                " VALUES (%s, %s, %s, %s, %s, %s::jsonb) ON CONFLICT DO NOTHING",
                (e.state, e.namespace, e.deployment, e.holder or "", now, dumps(e.detail)),
            )
        else:
            conn.execute(
                "DELETE FROM holds WHERE state = %s AND namespace = %s AND deployment = %s"
                " AND (%s::text IS NULL OR holder = %s)",
                (e.state, e.namespace, e.deployment, e.holder, e.holder),
            )


def _changes(conn: Connection, batch: BatchState, step: Step, deployments: Sequence[str], now: float) -> None:
    """Record that `step` changed `deployments`, and tell the guards read so far."""
    if deployments:
        if batch.guards is not None:
            batch.guards.changed(step.name, deployments, now)
        conn.execute(
            "INSERT INTO changes (step_id, deployment, name, at) SELECT %s, d, %s, %s FROM unnest(%s::text[]) d"
            " ON CONFLICT DO NOTHING",
            (step.id, step.name, now, list(deployments)),
        )


def changed_deployments(detail: dict[str, Any]) -> list[str]:
    """The deployments an outcome says it changed: every entry of its `targets` marked `"changed": true`."""
    targets = detail.get("targets")
    if not isinstance(targets, list):
        return []
    return [
        t["deployment"]
        for t in targets
        if isinstance(t, dict) and t.get("changed") is True and isinstance(t.get("deployment"), str)
    ]


def record_effects(
    conn: Connection, batch: BatchState, step: Step, effects: Sequence[Effect], changed: Sequence[str], now: float
) -> None:
    apply_effects(conn, effects, now)
    _changes(conn, batch, step, changed, now)


def finish_step(
    conn: Connection,
    replica: Replica,
    batch: BatchState,
    step: Step,
    result: StepResult,
    started: float,
    now: float,
    retry_at: float | None,
    then: Sequence[PlannedStep],
    if_resolved: Sequence[PlannedStep],
) -> None:
    """What Journal.finish_step promises, as one transaction's statements. The attempt and its
    effects are recorded whoever holds the step now (they happened); its status changes only
    while this replica still holds its lease, so a replica whose lease ran out and was taken over
    does not overwrite what the new holder will record. The attempt and the status are sent
    with the batch's other outcomes (BatchState.defer_outcome)."""
    tx = PostgresTransaction(conn, replica, batch)
    tx.add_unread(step.instance, then, now, step.correlation_id)
    resolved = _resolved(conn, step.instance.id) if if_resolved or retry_at is not None else False
    if if_resolved and resolved:
        tx.add_unread(step.instance, if_resolved, now, step.correlation_id)
        detail = {"note": "resolved while this ran", "step": step.id, "planned": [s.key for s in if_resolved]}
        tx.add_event(step.instance, None, f"{step.name.lower()}_finished_after_resolve", detail, now)
    if step.kind == "remediation":
        _changes(conn, batch, step, changed_deployments(result.detail), now)
    apply_effects(conn, result.effects, now)
    if retry_at is not None and result.done:
        done = sorted({*step.params.get("done", []), *result.done})
        conn.execute(
            "UPDATE steps SET params = %s::jsonb WHERE id = %s", (dumps({**step.params, "done": done}), step.id)
        )
    status, due, outcome = result.status, None, result.status
    if retry_at is not None and step.kind == "remediation" and step.name not in ON_RESOLVE and resolved:
        status, outcome = _CANCELLED, "resolved before its retry"
        batch.guards = None  # a mutation cancelled, which the guards read so far counted: read them again
    elif retry_at is not None:
        status, due = _PENDING, retry_at
    batch.defer_outcome(Outcome(step.id, started, now, result.status, dumps(result.detail), status, due, outcome))


def _resolved(conn: Connection, instance_id: int) -> bool:
    row = conn.execute("SELECT status FROM instances WHERE id = %s", (instance_id,)).fetchone()
    return row is not None and row[0] == "resolved"


def next_due(conn: SyncConnection, kind: str) -> float | None:
    row = conn.execute(
        f"SELECT MIN(due_at) FROM steps WHERE kind = '{step_kind(kind)}' AND status = '{_PENDING}'"
    ).fetchone()
    return row[0] if row else None


def record_operation(conn: Connection, operation: Operation) -> None:
    o = operation
    conn.execute(
        "INSERT INTO operations (at, actor, op, target, ok, detail) VALUES (%s, %s, %s, %s::jsonb, %s, %s::jsonb)",
        (o.at, o.actor, o.op, dumps(o.target), o.ok, dumps(o.detail)),
    )
    apply_effects(conn, o.effects, o.at)


def prune(conn: Connection, batch: BatchState, older_than: float) -> int:
    """What Journal.prune promises. Escalation's rows go with their instances and steps (ON
    DELETE CASCADE); webhook event ids by their own age."""
    batch.flush(conn)
    conn.execute("DELETE FROM notifications WHERE processed_at IS NOT NULL AND received_at < %s", (older_than,))
    conn.execute("DELETE FROM operations WHERE at < %s", (older_than,))
    conn.execute("DELETE FROM webhook_events WHERE received_at < %s", (older_than,))
    return len(
        conn.execute(  # never a firing instance: its repeat would look new and act again
            "DELETE FROM instances WHERE last_seen < %s AND status != 'firing' AND NOT EXISTS (SELECT 1 FROM steps"
            f" WHERE steps.instance_id = instances.id AND status IN ('{_PENDING}', '{_RUNNING}')) RETURNING 1",
            (older_than,),
        ).fetchall()
    )


def backlog(conn: Connection, batch: BatchState) -> tuple[int, int]:
    """Notifications not yet applied, and remediations not yet finished, fleet-wide."""
    batch.flush(conn)
    row = conn.execute(
        "SELECT (SELECT COUNT(*) FROM notifications WHERE processed_at IS NULL),"
        f" (SELECT COUNT(*) FROM steps WHERE kind = 'remediation' AND status IN ('{_PENDING}', '{_RUNNING}'))"
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)
