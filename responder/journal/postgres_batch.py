"""What one transaction of the PostgreSQL writer knows across the operations of its batch, so
that a batch's first firings ask the database once, not each: the instances and the guards its
notifications will read (told ahead, see `ReadAhead`), whether the guards' lock is held, and
which kinds have an older step due (see `PostgresTransaction.lease_new`).

A `BatchState` is made as each transaction begins (PostgresJournal), is told what its accepts
will read before any of them runs, and is shared by the transaction's operations; a rollback
begins a new transaction, and a new state with it.
"""

import logging
from collections.abc import Sequence
from typing import Any, NamedTuple

from responder.journal import STEP_KINDS, GuardQuery, ReadAhead
from responder.journal.postgres_guards import Guards, guards_key
from responder.journal.postgres_loop import LoopCursor
from responder.journal.postgres_replica import Replica
from responder.journal.postgres_schema import GUARD_LOCK
from responder.journal.postgres_writer import Connection
from responder.journal.sqlite_rows import INSTANCE_COLUMNS, instance_from_row
from responder.vocabulary import StepStatus

log = logging.getLogger("responder.journal")
_PENDING, _RUNNING = StepStatus.PENDING.value, StepStatus.RUNNING.value
_OLDER_DUE = (
    f"SELECT k FROM unnest(%b::text[]) k WHERE EXISTS (SELECT 1 FROM steps WHERE kind = k AND status = '{_PENDING}'"
    f" AND due_at <= %s) OR EXISTS (SELECT 1 FROM steps WHERE kind = k AND status = '{_RUNNING}' AND lease_until < %s)"
)
APPEND_BYTES = 8 * 1024 * 1024  # notification bodies sent in one statement, at most (about)
# Binary parameters (%b): an array of bodies in text would be hex-escaped in Python, byte by byte.
_APPEND_NOTIFICATIONS = (
    "INSERT INTO notifications (id, received_at, correlation_id, body, processed_at)"
    " SELECT * FROM unnest(%b::bigint[], %b::float8[], %b::text[], %b::bytea[], %b::float8[])"
)
_APPEND_EVENTS = (
    "INSERT INTO events (instance_id, notification_id, at, kind, detail) SELECT i, n, a, k, d::jsonb"
    " FROM unnest(%b::bigint[], %b::bigint[], %b::float8[], %b::text[], %b::text[]) WITH ORDINALITY"
    " AS u (i, n, a, k, d, o) ORDER BY o"
)
# Step outcomes, deferred by finish_step: each attempt, and its step moved on (to its final
# status, back to pending at its retry, or cancelled) while this replica still holds its lease,
# by the first of its outcomes (an attempt cut short and its successor may end in one batch:
# the first ends the lease, as when each was a statement of its own).
_RECORD_OUTCOMES = (
    "WITH u AS (SELECT * FROM unnest(%b::bigint[], %b::float8[], %b::float8[], %b::text[], %b::text[], %b::text[],"
    " %b::float8[], %b::text[]) WITH ORDINALITY AS u (id, started, finished, result, detail, status, due, outcome, o)),"
    " attempt AS (INSERT INTO attempts (step_id, started_at, finished_at, status, detail)"
    " SELECT id, started, finished, result, detail::jsonb FROM u ORDER BY o)"
    " UPDATE steps s SET status = f.status, due_at = COALESCE(f.due, s.due_at), lease_until = NULL,"
    " updated_at = f.finished, outcome = f.outcome FROM (SELECT DISTINCT ON (id) * FROM u ORDER BY id, o) f"
    f" WHERE s.id = f.id AND s.status = '{_RUNNING}' AND s.lease_holder = %b"
)
_INSTANCES = (
    f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE (fingerprint, starts_at) IN"
    " (SELECT * FROM unnest(%b::text[], %b::text[]))"
)


def ask_instances(conn: Connection, keys: Sequence[tuple[str, str]]) -> LoopCursor:
    """Send the read of the instances of `keys`; `remember_instances` reads its answer."""
    return conn.execute(_INSTANCES, ([k[0] for k in keys], [k[1] for k in keys]))


def remember_instances(answer: LoopCursor, replica: Replica) -> set[tuple[str, str]]:
    """The instances an `ask_instances` found, into the replica's cache; their keys."""
    found = set()
    for row in answer.fetchall():
        instance = replica.remember(instance_from_row(row))
        found.add((instance.fingerprint, instance.starts_at))
    return found


class Outcome(NamedTuple):
    """One attempt of a step, and what becomes of the step (see _RECORD_OUTCOMES)."""

    step_id: int
    started: float
    finished: float
    result: str  # the attempt's status
    detail: str  # JSON
    status: str  # the step's
    due: float | None  # its retry, when it goes back to pending
    outcome: str


class BatchState:
    """What the transaction's operations found out already, or were told they will need.

    Which kinds have a step due that is older than what this transaction leases is asked once,
    when the transaction first leases, and kept current with the due steps it inserts unleased
    itself. Steps that come due, or leases that run out, while the transaction runs
    (milliseconds) are left to the next claim."""

    def __init__(self, replica_name: str) -> None:
        self._replica_name = replica_name  # whose leases its outcomes end
        self.guards: Guards | None = None
        self._guard_locked = False
        self._flushes = False
        self._question: LoopCursor | None = None
        self._older: frozenset[str] | None = None
        self._made_due: set[str] = set()  # by this transaction, after the question was sent
        self._foreseen: list[tuple[ReadAhead, float]] = []
        self._absent: set[tuple[str, str]] = set()  # keys read ahead and not found
        self._notifications: list[tuple[int, float, str, bytes, float | None]] = []
        self._appended_bytes = 0
        self._events: list[tuple[int | None, int | None, float, str, str]] = []
        self._outcomes: list[Outcome] = []

    def append_notification(self, conn: Connection, row: tuple[int, float, str, bytes, float | None]) -> None:
        """A notification row (id, received_at, correlation_id, body, processed_at) to insert with
        the batch's others, in one statement (see `flush`); sent at once when the bodies waiting
        pass APPEND_BYTES, so that no statement grows with the batch beyond it."""
        self._notifications.append(row)
        self._appended_bytes += len(row[3])
        if self._appended_bytes >= APPEND_BYTES:
            self._send_notifications(conn)

    def _send_notifications(self, conn: Connection) -> None:
        if self._notifications:
            rows, self._notifications = self._notifications, []
            self._appended_bytes = 0
            conn.execute(_APPEND_NOTIFICATIONS, _columns(rows))

    def append_event(self, row: tuple[int | None, int | None, float, str, str]) -> None:
        """A timeline event (instance id, notification id, at, kind, detail as JSON) to insert with
        the batch's others, in their order, in one statement (see `flush`). Nothing the writer
        runs reads events."""
        self._events.append(row)

    def defer_outcome(self, outcome: Outcome) -> None:
        """A step's outcome, to record with the others of the operations that follow each other
        (finish_step's), in one statement (see `send_outcomes`)."""
        self._outcomes.append(outcome)

    def send_outcomes(self, conn: Connection) -> None:
        """Send the outcomes deferred so far, in one statement: before the transaction commits,
        and before any other operation of it (which might read the steps they move on)."""
        if self._outcomes:
            rows, self._outcomes = self._outcomes, []
            conn.execute(_RECORD_OUTCOMES, [*_columns(rows), self._replica_name])

    def flush(self, conn: Connection) -> None:
        """Send what was deferred so far, a statement per table: before the transaction commits,
        before any statement of it that reads or deletes notifications, and before any operation
        other than an accept or a step's outcome (PostgresJournal.run). A batch's notifications,
        events or outcomes then cost the writer one statement, not one each."""
        self._send_notifications(conn)
        if self._events:
            events, self._events = self._events, []
            conn.execute(_APPEND_EVENTS, _columns(events))
        self.send_outcomes(conn)

    def foresee(self, ahead: ReadAhead, now: float) -> None:
        """An accept of this transaction, at `now`, will read what `ahead` says."""
        self._foreseen.append((ahead, now))

    def absent(self, key: tuple[str, str]) -> bool:
        """Whether the instance of `key` was read ahead and not found, and not inserted since."""
        return key in self._absent

    def inserted(self, key: tuple[str, str]) -> None:
        """This transaction inserted the instance of `key` (the replica's cache, which has it,
        may be emptied before the key is asked again)."""
        self._absent.discard(key)

    def read_ahead(self, conn: Connection, replica: Replica) -> None:
        """Read at once what the accepts told ahead will read, if not yet done: the instances of
        their keys that the replica has not cached and, for those that would fire first, the
        guards (under their lock, with which kinds have an older step due). One round trip for
        the batch; nothing when every key is cached (repeats, the common case)."""
        foreseen, self._foreseen = self._foreseen, []
        keys: dict[tuple[str, str], None] = {}
        queries: list[tuple[GuardQuery, float]] = []
        for ahead, now in foreseen:
            try:  # a hint: one that fails is dropped, and its own apply meets the error
                told = ahead.keys()
                for index, key in enumerate(told):
                    if key not in replica.instances and key not in keys:
                        keys[key] = None
                        if (query := ahead.guards(index)) is not None:
                            queries.append((query, now))
            except Exception:
                log.debug("a read-ahead hint failed; its notification reads as it applies", exc_info=True)
        if not keys:
            return
        guards: Guards | None = None
        targets: dict[str, None] = {}
        for query, _ in queries:
            guards = self.guards_for(query)
            targets.update(dict.fromkeys(query.targets))
        instances = ask_instances(conn, list(keys))
        answer = None
        if guards is not None:
            earliest = min(now for _, now in queries)
            self.lock_guards(conn)
            self.ask_older(conn, earliest)
            answer = guards.ask(conn, targets, earliest)
        found = remember_instances(instances, replica)
        self._absent.update(key for key in keys if key not in found)
        if guards is not None and answer is not None:
            guards.take(answer)

    def guards_for(self, query: GuardQuery) -> Guards:
        """The transaction's guards for `query`'s mutating steps, window and cap: those read so
        far, or new ones (which replace them) if they were for others."""
        if self.guards is None or self.guards.key != guards_key(query):
            self.guards = Guards(query)
        return self.guards

    def lock_guards(self, conn: Connection) -> None:
        """Take the guards' lock for the rest of the transaction, if not yet taken: sent, not
        waited for (the next read waits for it)."""
        if not self._guard_locked:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (GUARD_LOCK,))
            self._guard_locked = True

    def ask_older(self, conn: Connection, now: float) -> None:
        """Send the question, if not yet asked: its answer comes with the next result read, at
        no round trip of its own."""
        if self._question is None and self._older is None:
            self._question = conn.execute(_OLDER_DUE, (list(STEP_KINDS), now, now))

    def older_due(self, conn: Connection, kind: str, now: float) -> bool:
        if self._older is None:
            self.ask_older(conn, now)
            assert self._question is not None
            self._older = frozenset(row[0] for row in self._question.fetchall())
            self._question = None
        return kind in self._older or kind in self._made_due

    def flush_on_commit(self, conn: Connection) -> None:
        """Have this transaction's commit wait for its flush, whatever its batch asked: a lease it
        takes must not be lost in a crash of the server while its replica runs the step, or
        another replica would claim the step and run it too. Sent once, read never: no round
        trip (the setting in force at commit is the one that counts)."""
        if not self._flushes:
            conn.execute("SET LOCAL synchronous_commit = on")
            self._flushes = True

    def made_due(self, kind: str) -> None:
        """This transaction made a step of `kind` due now without leasing it (inserted it so, or
        handed it back)."""
        self._made_due.add(kind)


def _columns(rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows as the columns an `unnest` of arrays takes."""
    return [list(column) for column in zip(*rows, strict=True)]
