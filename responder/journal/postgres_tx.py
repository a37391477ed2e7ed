"""The Transaction protocol over one open PostgreSQL transaction.

Identity is the database's: UNIQUE (fingerprint, starts_at) on instances and UNIQUE (instance_id,
key) on steps hold across replicas; one that inserts what another has just committed meets the
key, is rolled back and runs again, finding it (see postgres_writer). Claims lock what they take
(FOR UPDATE SKIP LOCKED) and a lease names its replica. The guards are read under an advisory
lock, so first firings on different replicas plan mutations in turn and are counted fleet-wide.
Statements on `steps` name kind and status as literals, for its partial indexes (sqlite_rows).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from responder.alerts import Alert
from responder.decision import GuardState
from responder.journal import GuardQuery, Instance, Step
from responder.journal.postgres_batch import BatchState, ask_instances, remember_instances
from responder.journal.postgres_guards import Guards, guards_key
from responder.journal.postgres_replica import Replica
from responder.journal.postgres_writer import Connection
from responder.journal.sqlite_rows import (
    INTERRUPTED,
    JOINED_INSTANCE_COLUMNS,
    dumps,
    instance_from_row,
    step_kind,
)
from responder.planner import PlannedStep
from responder.vocabulary import StepStatus

_PENDING, _RUNNING, _CANCELLED = StepStatus.PENDING.value, StepStatus.RUNNING.value, StepStatus.CANCELLED.value
# Arrays as binary parameters (%b): in text, psycopg quotes every string element in Python.
_STEP_ARRAYS = (
    "%b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::float8[], %b::int[],"
    " %b::float8[], %b::text[]"
)
_STEP_COLUMNS = "correlation_id, instance_id, created_at, updated_at, key, kind, name, target_key, params, status,"
_STEP_COLUMNS += " due_at, attempts, lease_until, lease_holder"
# Steps of an instance that may have some already: those it has are skipped, and the rest read
# back (or not, for `add_unread`).
_INSERT_STEPS_UNREAD = (
    f"INSERT INTO steps ({_STEP_COLUMNS}) SELECT %s, %s, %s, %s, k, kd, n, tk, p::jsonb, st, d, a, lu, lh"
    f" FROM unnest({_STEP_ARRAYS}) AS u (k, kd, n, tk, p, st, d, a, lu, lh)"
    " ON CONFLICT (instance_id, key) DO NOTHING"
)
_INSERT_STEPS = _INSERT_STEPS_UNREAD + " RETURNING id, key"
# Steps of an instance this transaction inserted: none can be there, so their ids are this
# process's own (Replica.next_id) and nothing is read back.
_INSERT_NEW_STEPS = (
    f"INSERT INTO steps (id, {_STEP_COLUMNS}) SELECT i, %s, %s, %s, %s, k, kd, n, tk, p::jsonb, st, d, a, lu, lh"
    f" FROM unnest(%b::bigint[], {_STEP_ARRAYS}) AS u (i, k, kd, n, tk, p, st, d, a, lu, lh)"
)
# The detail of an attempt whose lease ran out (see `PostgresTransaction.claim`).
LEASE_EXPIRED = dumps(
    {
        "error": "interrupted: its lease ran out before the attempt ended; whether it took effect is found out"
        " by the next attempt before it acts again",
        "interrupted": "lease expired",
    }
)


def _unplanned(steps: Sequence[PlannedStep], planned: set[str]) -> list[PlannedStep]:
    """The steps whose keys are not in `planned` (the first of any key given twice), now added to it."""
    fresh = []
    for step in steps:
        if step.key not in planned:
            planned.add(step.key)
            fresh.append(step)
    return fresh


@dataclass
class _Leases:
    room: dict[str, int]
    until: float
    now: float
    leased: dict[str, list[Step]] = field(default_factory=dict)


class PostgresTransaction:
    """The Transaction protocol over one open PostgreSQL transaction, for `replica`; `batch`, what
    that transaction's other operations found out already, or deferred."""

    def __init__(self, conn: Connection, replica: Replica, batch: BatchState, shared_guards: bool = False) -> None:
        """`shared_guards`: read the guards with the batch's other accepts (an accept's), rather
        than afresh for this operation (any other's: the runtime breaker must see the changes
        other replicas recorded since, which they record without the guards' lock)."""
        self._conn, self._replica = conn, replica
        self._batch = batch
        self._shared = shared_guards
        self._own: Guards | None = None
        self._leases: _Leases | None = None
        self._new: dict[int, set[str]] = {}  # instances this transaction inserted: the step keys planned
        self.planned_remediations = 0  # unfinished work this transaction added, for the backlog count

    def instances(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Instance]:
        """Found in the replica's cache, else read with the batch's other accepts (see
        BatchState.read_ahead), else read now."""
        found: dict[tuple[str, str], Instance] = {}
        missing = self._cached(keys, found)
        if not missing:
            return found
        self._batch.read_ahead(self._conn, self._replica)
        missing = [key for key in self._cached(missing, found) if not self._batch.absent(key)]
        if missing:
            remember_instances(ask_instances(self._conn, missing), self._replica)
            self._cached(missing, found)
        return found

    def _cached(self, keys: Sequence[tuple[str, str]], found: dict[tuple[str, str], Instance]) -> list[tuple[str, str]]:
        """Into `found`, the instances of `keys` the replica has cached; the keys it has not."""
        cached = self._replica.instances
        missing = []
        for key in keys:  # one pass: a repeat finds every key cached
            instance = cached.get(key)
            if instance is None:
                missing.append(key)
            else:
                found[key] = instance
        return missing

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
        instance_id = self._replica.next_id(self._conn, "instances")
        self._conn.execute(
            "INSERT INTO instances (id, fingerprint, starts_at, status, alertname, severity, action,"
            " labels, annotations, first_seen, last_seen) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (instance_id, *values, now, now),
        )
        self._new[instance_id] = set()
        self._batch.inserted((alert.fingerprint, alert.starts_at))
        return self._replica.remember(Instance(instance_id, *values, now))

    def set_status(self, instance: Instance, status: str, now: float) -> Instance:
        self._conn.execute(
            "UPDATE instances SET status = %s, last_seen = %s, resolved_at ="
            " CASE WHEN %s = 'resolved' THEN %s ELSE resolved_at END WHERE id = %s",
            (status, now, status, now, instance.id),
        )
        return self._replica.remember(replace(instance, status=status, last_seen=now))

    def touch(self, instance: Instance, now: float) -> Instance:
        self._conn.execute("UPDATE instances SET last_seen = %s WHERE id = %s", (now, instance.id))
        return self._replica.remember(replace(instance, last_seen=now))

    def add_event(
        self,
        instance: Instance | None,
        notification_id: int | None,
        kind: str,
        detail: dict[str, Any],
        now: float,
    ) -> None:
        self._batch.append_event((instance.id if instance else None, notification_id, now, kind, dumps(detail)))

    def add_steps(self, instance: Instance, steps: Sequence[PlannedStep], now: float, correlation_id: str) -> int:
        """Add what is not planned yet. For an instance this transaction inserted, that is known
        here (its keys so far), and nothing is read back; else the database says."""
        planned = self._new.get(instance.id)
        if planned is not None:
            steps = _unplanned(steps, planned)
        if not steps:
            return 0
        leased = [self._leases_now(s, now) for s in steps]
        columns = self._columns(steps, leased, now)
        head = (correlation_id, instance.id, now, now)
        if planned is not None:
            added = {s.key: self._replica.next_id(self._conn, "steps") for s in steps}
            self._conn.execute(_INSERT_NEW_STEPS, (*head, list(added.values()), *columns))
        else:
            added = {key: step_id for step_id, key in self._conn.execute(_INSERT_STEPS, (*head, *columns)).fetchall()}
        for step, lease in zip(steps, leased, strict=True):
            if lease and self._leases is not None:
                if step.key in added:
                    self._leases.leased.setdefault(step.kind, []).append(
                        Step(added[step.key], instance, step.kind, step.name, step.params, 1, correlation_id)
                    )
                    self._replica.leasing.append((added[step.key], self._leases.until))
                else:  # planned before: it takes no room
                    self._leases.room[step.kind] += 1
        if added:
            self.planned_remediations += sum(s.kind == "remediation" and s.key in added for s in steps)
            for guards in self._guards_read():
                guards.planned(steps, added, now)
        return len(added)

    def add_unread(self, instance: Instance, steps: Sequence[PlannedStep], now: float, correlation_id: str) -> None:
        """Add what is not planned yet, as `add_steps` does, but read nothing back: for steps
        whose count nobody needs (a step's follow-ups, an acknowledgement's announcement), which
        then cost no round trip. Leasing and new instances go through `add_steps`, which needs to
        know what was added; the guards read so far forget the targets of mutating steps."""
        if self._leases is not None or instance.id in self._new:
            self.add_steps(instance, steps, now, correlation_id)
        elif steps:
            columns = self._columns(steps, [False] * len(steps), now)
            self._conn.execute(_INSERT_STEPS_UNREAD, (correlation_id, instance.id, now, now, *columns))
            for guards in self._guards_read():
                if touched := guards.touched_by(steps):
                    guards.forget(touched)

    def _columns(self, steps: Sequence[PlannedStep], leased: Sequence[bool], now: float) -> list[list[Any]]:
        """The arrays an insert of `steps` unnests, each leased or not."""
        until = self._leases.until if self._leases is not None else None
        for step, lease in zip(steps, leased, strict=True):
            if not lease and step.delay_seconds <= 0:
                self._batch.made_due(step.kind)
        return [
            [s.key for s in steps],
            [s.kind for s in steps],
            [s.name for s in steps],
            [s.target_key for s in steps],
            [dumps(s.params) for s in steps],
            [_RUNNING if lease else _PENDING for lease in leased],
            [now + s.delay_seconds for s in steps],
            [int(lease) for lease in leased],
            [until if lease else None for lease in leased],
            [self._replica.name if lease else None for lease in leased],
        ]

    def _guards_read(self) -> list[Guards]:
        """The guards read so far, which this transaction's writes keep current."""
        return [guards for guards in (self._batch.guards, self._own) if guards is not None]

    def _leases_now(self, step: PlannedStep, now: float) -> bool:
        """Whether `step` is inserted leased (see `lease_new`); takes its room if so."""
        leases = self._leases
        if leases is None or step.delay_seconds > 0 or leases.room.get(step.kind, 0) <= 0:
            return False
        if self._batch.older_due(self._conn, step.kind, leases.now):
            return False
        leases.room[step.kind] -= 1
        self._batch.flush_on_commit(self._conn)
        return True

    def lease_new(self, room: Mapping[str, int], now: float, lease_seconds: float) -> None:
        """Steps this transaction adds from now on that are due now are inserted already leased
        by this replica, up to `room[kind]` of each kind, unless an older step of that kind is
        due (a claim serves the oldest first). Which kinds have one is asked only when a step due
        now is planned, once per database transaction (BatchState): a repeat, the common case,
        asks nothing."""
        self._leases = _Leases(dict(room), now + lease_seconds, now)

    def leased(self, kind: str) -> list[Step]:
        return list(self._leases.leased.get(kind, ())) if self._leases is not None else []

    def guard_state(
        self, mutating: Sequence[str], targets: Sequence[str], window_seconds: float, now: float, cap: int
    ) -> GuardState:
        """As the SQLite journal counts them (see SqliteTransaction.guard_state), for the whole
        fleet: read under the guards' lock, taken by the transaction's first read and held until
        it ends, so no other replica plans a mutation between this count and this transaction's
        commit (see postgres_guards). An accept's are read with the batch's other accepts (what
        they told ahead was read with their instances) and shared with them; any other
        operation's are read for it alone. What is missing is one statement, sent with the lock
        and with which kinds have an older step due, in one round trip."""
        query = GuardQuery(mutating, targets, window_seconds, cap)
        if self._shared:
            self._batch.read_ahead(self._conn, self._replica)
            guards = self._batch.guards_for(query)
        else:
            if self._own is None or self._own.key != guards_key(query):
                self._own = Guards(query)
            guards = self._own
        if self._leases is not None:  # a first firing's steps are leased next: the answer rides with the guards'
            self._batch.ask_older(self._conn, self._leases.now)
        self._batch.lock_guards(self._conn)
        if (answer := guards.ask(self._conn, targets, now)) is not None:
            guards.take(answer)
        return guards.state(targets)

    def stop_pending(self, instance: Instance, now: float) -> tuple[int, int]:
        """On resolve: cancel ladder rungs not yet due and every remediation not yet run."""
        rungs = self._conn.execute(
            "UPDATE steps SET status = %s, updated_at = %s, outcome = 'ladder stopped'"
            f" WHERE instance_id = %s AND kind = 'escalation' AND status = '{_PENDING}' AND due_at > %s"
            " AND params ->> 'event' = 'firing' RETURNING 1",
            (_CANCELLED, now, instance.id, now),
        )
        remediations = self._conn.execute(
            "UPDATE steps SET status = %s, updated_at = %s, outcome = 'resolved before it ran'"
            f" WHERE instance_id = %s AND kind = 'remediation' AND status = '{_PENDING}' RETURNING target_key",
            (_CANCELLED, now, instance.id),
        ).fetchall()
        for guards in self._guards_read() if remediations else ():
            guards.forget([row[0] for row in remediations])
        return len(rungs.fetchall()), len(remediations)

    def acted_targets(self, instance: Instance, action: str) -> list[dict[str, str]]:
        """The targets `action` succeeded on for this instance (as planned, before selector resolution)."""
        rows = self._conn.execute(
            "SELECT params -> 'target' FROM steps WHERE instance_id = %s AND kind = 'remediation'"
            " AND name = %s AND status = 'succeeded' ORDER BY id",
            (instance.id, action),
        ).fetchall()
        return [dict(row[0]) for row in rows]

    def held(self, instance: Instance, state: str) -> list[tuple[str, str]]:
        rows = self._conn.execute(
            "SELECT namespace, deployment FROM holds WHERE state = %s AND holder = %s ORDER BY namespace, deployment",
            (state, instance.holder),
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def running(self, instance: Instance, name: str) -> bool:
        row = self._conn.execute(
            "SELECT EXISTS (SELECT 1 FROM steps WHERE instance_id = %s AND kind = 'remediation' AND name = %s"
            f" AND status = '{_RUNNING}')",
            (instance.id, name),
        ).fetchone()
        return bool(row and row[0])

    def notified_channels(self, instance: Instance) -> frozenset[str]:
        """Channels that were, or are about to be, told this instance fired; and `silence` when
        its acknowledgement silenced it in Alertmanager (what its resolve must expire)."""
        rows = self._conn.execute(
            "SELECT DISTINCT name FROM steps WHERE instance_id = %s AND kind = 'escalation'"
            " AND status != %s AND (params ->> 'event' = 'firing' OR name = 'silence')",
            (instance.id, _CANCELLED),
        ).fetchall()
        return frozenset(r[0] for r in rows)

    def claim(self, kind: str, limit: int, now: float, lease_seconds: float) -> list[Step]:
        """Lease up to `limit` due steps of `kind` (oldest due first), also those whose lease ran
        out, in one statement: rows another replica is claiming now are skipped, not waited for.
        A step whose lease ran out gets its cut-short attempt (`interrupted`) in the timeline."""
        if limit <= 0:
            return []
        kind = step_kind(kind)
        rows = self._conn.execute(
            "WITH chosen AS (SELECT id, status = 'running' AS expired FROM steps WHERE kind = %s AND"
            f" ((status = '{_PENDING}' AND due_at <= %s) OR (status = '{_RUNNING}' AND lease_until < %s))"
            " ORDER BY due_at, id LIMIT %s FOR UPDATE SKIP LOCKED),"
            " cut_short AS (INSERT INTO attempts (step_id, started_at, finished_at, status, detail)"
            f" SELECT s.id, s.updated_at, %s, '{INTERRUPTED}', %s::jsonb FROM steps s JOIN chosen c ON c.id = s.id"
            " WHERE c.expired)"
            " UPDATE steps s SET status = %s, lease_until = %s, lease_holder = %s, attempts = s.attempts + 1,"
            f" updated_at = %s, outcome = CASE WHEN c.expired THEN '{INTERRUPTED}' ELSE s.outcome END"
            " FROM chosen c, instances i WHERE s.id = c.id AND i.id = s.instance_id"
            f" RETURNING s.id, s.kind, s.name, s.params, s.attempts, s.correlation_id, s.outcome,"
            f" {JOINED_INSTANCE_COLUMNS}",
            (kind, now, now, limit, now, LEASE_EXPIRED, _RUNNING, now + lease_seconds, self._replica.name, now),
        ).fetchall()
        self._replica.leasing += [(r[0], now + lease_seconds) for r in rows]
        if rows:
            self._batch.flush_on_commit(self._conn)
        return sorted(
            (
                Step(r[0], instance_from_row(r[7:]), r[1], r[2], dict(r[3]), r[4], r[5], r[6] == INTERRUPTED)
                for r in rows
            ),
            key=lambda step: step.id,
        )

    def release(self, steps: Sequence[Step]) -> int:
        """See `Transaction.release`: only while this replica holds the lease, and `attempts`
        tells the claim that leased the step from a later one of its own."""
        rows = self._conn.execute(
            f"UPDATE steps s SET status = '{_PENDING}', lease_until = NULL, attempts = s.attempts - 1"
            " FROM unnest(%s::bigint[], %s::int[]) AS r (id, attempts) WHERE s.id = r.id AND s.attempts = r.attempts"
            f" AND s.status = '{_RUNNING}' AND s.lease_holder = %s RETURNING s.kind",
            ([s.id for s in steps], [s.attempts for s in steps], self._replica.name),
        ).fetchall()
        for (kind,) in rows:
            self._batch.made_due(kind)
        return len(rows)

    def mark_processed(self, notification_ids: Sequence[int], now: float) -> None:
        self._batch.flush(self._conn)
        self._conn.execute(
            "UPDATE notifications SET processed_at = %s WHERE id = ANY(%s)", (now, list(notification_ids))
        )
