"""The Transaction protocol over one open SQLite transaction.

Alert identity and planning at the database level: the UNIQUE (fingerprint, starts_at) on
instances and UNIQUE (instance_id, key) on steps (see sqlite_schema) are what make "planned at
most once" hold even if the engine's own checks were wrong.
"""

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from responder.alerts import Alert
from responder.decision import GuardState
from responder.journal import Instance, Step
from responder.journal.sqlite_rows import (
    CANCELLED,
    INSTANCE_COLUMNS,
    INTERRUPTED,
    JOINED_INSTANCE_COLUMNS,
    PENDING,
    RUNNING,
    JournalConnection,
    dumps,
    instance_from_row,
    step_kind,
)
from responder.planner import PlannedStep
from responder.vocabulary import StepStatus

_STEP_COLUMNS = (
    "instance_id, key, kind, name, target_key, params, status, due_at, created_at, updated_at, correlation_id"
)
_INSERT_STEP = f"INSERT OR IGNORE INTO steps ({_STEP_COLUMNS}) VALUES ({', '.join('?' * 11)})"
_INSERT_LEASED_STEP = (
    f"INSERT OR IGNORE INTO steps ({_STEP_COLUMNS}, attempts, lease_until) VALUES ({', '.join('?' * 11)}, 1, ?)"
)
# The detail of an attempt whose lease ran out (see `SqliteTransaction.claim`).
_LEASE_EXPIRED = dumps(
    {
        "error": "interrupted: its lease ran out before the attempt ended; whether it took effect is found "
        "out by the next attempt before it acts again",
        "interrupted": "lease expired",
    }
)


@dataclass
class _Leases:
    """What `lease_new` offered: room left per kind, and what was leased."""

    room: dict[str, int]
    until: float
    older_due: dict[str, bool] = field(default_factory=dict)  # per kind, read at its first due step
    leased: dict[str, list[Step]] = field(default_factory=dict)


@dataclass
class _GuardCache:
    key: tuple[Any, ...]
    mutating: frozenset[str]
    count: int
    last: dict[str, float | None]


class SqliteTransaction:
    """The Transaction protocol over one open SQLite transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._journal = conn if isinstance(conn, JournalConnection) else None
        self._guards: _GuardCache | None = None
        self._leases: _Leases | None = None
        self.planned_remediations = 0  # unfinished work this transaction added, for the backlog count

    def instances(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Instance]:
        cached = self._journal.instance_cache if self._journal is not None else {}
        found: dict[tuple[str, str], Instance] = {}
        missing = []
        for key in keys:  # one pass: a repeat finds every key cached, and this ran for each
            instance = cached.get(key)
            if instance is None:
                missing.append(key)
            else:
                found[key] = instance
        if not missing:
            return found
        pairs = ",".join("(?, ?)" for _ in missing)
        rows = self._conn.execute(
            f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE (fingerprint, starts_at) IN (VALUES {pairs})",
            [v for key in missing for v in key],
        ).fetchall()
        for row in rows:
            instance = self._remember(instance_from_row(row))
            found[(instance.fingerprint, instance.starts_at)] = instance
        return found

    def _remember(self, instance: Instance) -> Instance:
        if self._journal is not None:
            self._journal.remember(instance)
        return instance

    def insert_instance(self, alert: Alert, now: float) -> Instance:
        values = (
            alert.fingerprint,
            alert.starts_at,
            alert.status,
            alert.name,
            alert.severity,
            alert.action,
            dumps(alert.labels),
            dumps(alert.annotations),
        )
        cursor = self._conn.execute(
            "INSERT INTO instances (fingerprint, starts_at, status, alertname, severity, action,"
            " labels, annotations, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*values, now, now),
        )
        assert cursor.lastrowid is not None
        return self._remember(Instance(cursor.lastrowid, *values, now))

    def set_status(self, instance: Instance, status: str, now: float) -> Instance:
        self._conn.execute(
            "UPDATE instances SET status = ?, last_seen = ?, resolved_at = "
            "CASE WHEN ? = 'resolved' THEN ? ELSE resolved_at END WHERE id = ?",
            (status, now, status, now, instance.id),
        )
        return self._remember(replace(instance, status=status, last_seen=now))

    def touch(self, instance: Instance, now: float) -> Instance:
        self._conn.execute("UPDATE instances SET last_seen = ? WHERE id = ?", (now, instance.id))
        return self._remember(replace(instance, last_seen=now))

    def add_event(
        self,
        instance: Instance | None,
        notification_id: int | None,
        kind: str,
        detail: dict[str, Any],
        now: float,
    ) -> None:
        self._conn.execute(
            "INSERT INTO events (instance_id, notification_id, at, kind, detail) VALUES (?, ?, ?, ?, ?)",
            (instance.id if instance else None, notification_id, now, kind, dumps(detail)),
        )

    def add_steps(self, instance: Instance, steps: Sequence[PlannedStep], now: float, correlation_id: str) -> int:
        if not steps:
            return 0
        rows = [
            (
                instance.id,
                s.key,
                s.kind,
                s.name,
                s.target_key,
                dumps(s.params),
                PENDING,
                now + s.delay_seconds,
                now,
                now,
                correlation_id,
            )
            for s in steps
        ]
        if self._leases is None or all(s.delay_seconds > 0 for s in steps):
            added = self._conn.executemany(_INSERT_STEP, rows).rowcount
        else:
            added = sum(self._insert_step(instance, s, row, now) for s, row in zip(steps, rows, strict=True))
        if added:
            self.planned_remediations += sum(step.kind == "remediation" for step in steps)
        if self._guards is not None:
            if added != len(steps):  # some were already planned: count afresh next time
                self._guards = None
            else:
                for step in steps:
                    if step.kind == "remediation" and step.name in self._guards.mutating and step.target_key:
                        self._guards.count += 1
                        self._guards.last[step.target_key] = now
        return added

    def lease_new(self, room: Mapping[str, int], now: float, lease_seconds: float) -> None:
        """Steps this transaction adds from now on that are due now are inserted already leased,
        up to `room[kind]` of each kind, unless an older step of that kind is due: a claim serves
        the oldest first, so those are left pending for it. A claim would spend three statements
        (choose, lease, read back with the instance) on steps this transaction has just written."""
        self._leases = _Leases(dict(room), now + lease_seconds)

    def leased(self, kind: str) -> list[Step]:
        """The steps of `kind` that `lease_new` leased, in the order they were added."""
        return list(self._leases.leased.get(kind, ())) if self._leases is not None else []

    def _insert_step(self, instance: Instance, step: PlannedStep, row: tuple[Any, ...], now: float) -> int:
        leases = self._leases
        assert leases is not None
        if step.delay_seconds > 0 or leases.room.get(step.kind, 0) <= 0 or self._older_due(step.kind, now):
            return self._conn.execute(_INSERT_STEP, row).rowcount
        cursor = self._conn.execute(_INSERT_LEASED_STEP, (*row[:6], RUNNING, *row[7:], leases.until))
        if cursor.rowcount:
            assert cursor.lastrowid is not None
            params = orjson.loads(row[5])  # as a claim would read it back
            leases.leased.setdefault(step.kind, []).append(
                Step(cursor.lastrowid, instance, step.kind, step.name, params, 1, row[10])
            )
            leases.room[step.kind] -= 1
        return cursor.rowcount

    def _older_due(self, kind: str, now: float) -> bool:
        """Whether a step of `kind` is due that this transaction did not add: read before its own
        first due step of that kind, which is then either leased or left pending behind it."""
        assert self._leases is not None
        older = self._leases.older_due.get(kind)
        if older is None:
            kind = step_kind(kind)
            older = bool(
                self._conn.execute(
                    f"SELECT EXISTS (SELECT 1 FROM steps WHERE kind = '{kind}' AND status = '{StepStatus.PENDING}'"
                    " AND due_at <= ?) OR EXISTS (SELECT 1 FROM steps INDEXED BY steps_leased"
                    f" WHERE kind = '{kind}' AND status = '{StepStatus.RUNNING}' AND lease_until < ?)",
                    (now, now),
                ).fetchone()[0]
            )
            self._leases.older_due[kind] = older
        return older

    def guard_state(
        self, mutating: Sequence[str], targets: Sequence[str], window_seconds: float, now: float, cap: int
    ) -> GuardState:
        """Mutations in the window, counted up to `cap` (all the breaker needs to know): each
        mutating step planned in it counts the deployments it changed (the `changes` table), and
        at least one, so that a step not yet run, or one that changed nothing, counts as its
        planning always did; a cancelled step counts what it changed before it was cancelled.
        And the last mutation of each of `targets`: a step that named it, or, for a target
        naming one deployment, any step that changed that deployment (through a selector too).

        Read once per transaction, then kept current as steps are planned: the transaction holds
        the write lock, so nothing else can change them. The count reads at most `cap` steps of
        the window and their own changes; a target, its newest index entries."""
        key = (tuple(mutating), window_seconds, now, cap)
        names = ",".join("?" * len(mutating))
        if self._guards is None or self._guards.key != key:
            count = self._conn.execute(
                "SELECT TOTAL(MAX(1, (SELECT COUNT(*) FROM changes c WHERE c.step_id = w.id))) FROM"
                " (SELECT id FROM steps INDEXED BY steps_remediation_window"
                f" WHERE kind = 'remediation' AND created_at > ? AND name IN ({names})"
                " AND (status != ? OR EXISTS (SELECT 1 FROM changes c WHERE c.step_id = steps.id)) LIMIT ?) w",
                (now - window_seconds, *mutating, CANCELLED, cap),
            ).fetchone()[0]
            self._guards = _GuardCache(key, frozenset(mutating), int(count), {})
        cache = self._guards
        for target in targets:
            if target not in cache.last:
                row = self._conn.execute(
                    "SELECT MAX(at) FROM (SELECT MAX(created_at) AS at FROM steps INDEXED BY steps_remediation_target"
                    f" WHERE target_key = ? AND kind = 'remediation' AND name IN ({names}) AND status != ?"
                    " UNION ALL SELECT * FROM (SELECT at FROM changes INDEXED BY changes_deployment"
                    f" WHERE deployment = ? AND name IN ({names}) ORDER BY at DESC LIMIT 1))",
                    (target, *mutating, CANCELLED, target, *mutating),
                ).fetchone()
                cache.last[target] = row[0]
        last = {t: at for t in targets if (at := cache.last.get(t)) is not None}
        return GuardState(mutations_in_window=min(cache.count, cap), last_mutation_at=last)

    def stop_pending(self, instance: Instance, now: float) -> tuple[int, int]:
        """On resolve: cancel ladder rungs not yet due (what is due still goes out) and every
        remediation not yet run, so nothing acts after the resolve. Returns both counts.

        `+kind` and `+due_at` keep SQLite off steps_pending, which it otherwise chose: a resolve
        then read every pending step of the kind, every firing alert's later rungs included,
        instead of its own instance's few steps."""
        rungs = self._conn.execute(
            "UPDATE steps SET status = ?, updated_at = ?, outcome = 'ladder stopped'"
            f" WHERE instance_id = ? AND +kind = 'escalation' AND status = '{StepStatus.PENDING}' AND +due_at > ?"
            " AND json_extract(params, '$.event') = 'firing'",
            (CANCELLED, now, instance.id, now),
        ).rowcount
        remediations = self._conn.execute(
            "UPDATE steps SET status = ?, updated_at = ?, outcome = 'resolved before it ran'"
            f" WHERE instance_id = ? AND +kind = 'remediation' AND status = '{StepStatus.PENDING}'",
            (CANCELLED, now, instance.id),
        ).rowcount
        return rungs, remediations

    def acted_targets(self, instance: Instance, action: str) -> list[dict[str, str]]:
        """The targets `action` succeeded on for this instance (as planned, before selector resolution)."""
        rows = self._conn.execute(
            "SELECT json_extract(params, '$.target') FROM steps WHERE instance_id = ? AND kind = 'remediation'"
            " AND name = ? AND status = 'succeeded' ORDER BY id",
            (instance.id, action),
        ).fetchall()
        return [dict(orjson.loads(row[0])) for row in rows]

    def held(self, instance: Instance, state: str) -> list[tuple[str, str]]:
        """The (namespace, deployment) pairs this instance holds in `state`: what its resolve may lift."""
        rows = self._conn.execute(
            "SELECT namespace, deployment FROM holds WHERE state = ? AND holder = ? ORDER BY namespace, deployment",
            (state, instance.holder),
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def running(self, instance: Instance, name: str) -> bool:
        """Whether a remediation `name` of this instance is running (leased) now."""
        return bool(
            self._conn.execute(
                "SELECT EXISTS (SELECT 1 FROM steps WHERE instance_id = ? AND +kind = 'remediation' AND name = ?"
                f" AND status = '{StepStatus.RUNNING}')",
                (instance.id, name),
            ).fetchone()[0]
        )

    def notified_channels(self, instance: Instance) -> frozenset[str]:
        """Channels that were, or are about to be, told this instance fired; and `silence` when
        its acknowledgement silenced it in Alertmanager (what its resolve must expire)."""
        rows = self._conn.execute(
            "SELECT DISTINCT name FROM steps WHERE instance_id = ? AND kind = 'escalation'"
            " AND status != ? AND (json_extract(params, '$.event') = 'firing' OR name = 'silence')",
            (instance.id, CANCELLED),
        ).fetchall()
        return frozenset(r[0] for r in rows)

    def claim(self, kind: str, limit: int, now: float, lease_seconds: float) -> list[Step]:
        """Lease up to `limit` due steps of `kind` (oldest due first), also those whose lease ran out."""
        if limit <= 0:
            return []
        # Chosen, then leased: this transaction holds the write lock, so nothing comes between.
        # Each branch reads only what it may return, so that a claim costs the same whatever the
        # backlog: due steps in steps_pending order, cut to `limit`, and expired leases from
        # steps_leased. A plain UPDATE, then a read back: UPDATE ... RETURNING costs more.
        kind = step_kind(kind)
        rows = self._conn.execute(
            "SELECT id, expired FROM ("
            f"SELECT * FROM (SELECT id, due_at, 0 AS expired FROM steps WHERE kind = '{kind}'"
            f" AND status = '{StepStatus.PENDING}' AND due_at <= ? ORDER BY due_at, id LIMIT ?)"
            f" UNION ALL SELECT * FROM (SELECT id, due_at, 1 FROM steps INDEXED BY steps_leased WHERE kind = '{kind}'"
            f" AND status = '{StepStatus.RUNNING}' AND lease_until < ? ORDER BY due_at, id LIMIT ?)"
            ") ORDER BY due_at, id LIMIT ?",
            (now, limit, now, limit, limit),
        ).fetchall()
        if not rows:
            return []
        chosen = [row[0] for row in rows]
        if expired := [row[0] for row in rows if row[1]]:
            self._interrupted(expired, now)
        marks = ",".join("?" * len(chosen))
        self._conn.execute(
            "UPDATE steps SET status = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?"
            f" WHERE id IN ({marks})",
            (RUNNING, now + lease_seconds, now, *chosen),
        )
        rows = self._conn.execute(
            f"SELECT s.id, s.kind, s.name, s.params, s.attempts, s.correlation_id, s.outcome, {JOINED_INSTANCE_COLUMNS}"
            f" FROM steps s JOIN instances i ON i.id = s.instance_id WHERE s.id IN ({marks}) ORDER BY s.id",
            chosen,
        ).fetchall()
        return [
            Step(r[0], instance_from_row(r[7:]), r[1], r[2], orjson.loads(r[3]), r[4], r[5], r[6] == INTERRUPTED)
            for r in rows
        ]

    def release(self, steps: Sequence[Step]) -> int:
        """See `Transaction.release`: `attempts` tells the claim that leased the step from a later one."""
        return self._conn.executemany(
            "UPDATE steps SET status = ?, lease_until = NULL, attempts = attempts - 1"
            " WHERE id = ? AND status = ? AND attempts = ?",
            [(StepStatus.PENDING.value, s.id, StepStatus.RUNNING.value, s.attempts) for s in steps],
        ).rowcount

    def _interrupted(self, step_ids: list[int], now: float) -> None:
        """Steps whose lease ran out before their attempt ended (a runner hung, or its outcome
        could not be recorded): the attempt goes into the timeline as interrupted, and the
        claim that follows marks the step so (`outcome`), as a restart does (`recover`)."""
        marks = ",".join("?" * len(step_ids))
        self._conn.execute(
            "INSERT INTO attempts (step_id, started_at, finished_at, status, detail)"
            f" SELECT id, updated_at, ?, '{INTERRUPTED}', ? FROM steps WHERE id IN ({marks})",
            (now, _LEASE_EXPIRED, *step_ids),
        )
        self._conn.execute(f"UPDATE steps SET outcome = '{INTERRUPTED}' WHERE id IN ({marks})", step_ids)

    def mark_processed(self, notification_ids: Sequence[int], now: float) -> None:
        self._conn.executemany(
            "UPDATE notifications SET processed_at = ? WHERE id = ?", [(now, nid) for nid in notification_ids]
        )
