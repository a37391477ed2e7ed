"""What one transaction of the PostgreSQL writer knows across the operations of its batch, so
that a batch's first firings ask the database once, not each: the instances and the guards its
notifications will read (told ahead, see `ReadAhead`), whether the guards' lock is held, and
which kinds have an older step due (see `PostgresTransaction.lease_new`).

A `BatchState` is made as each transaction begins (PostgresJournal), is told what its accepts
will read before any of them runs, and is shared by the transaction's operations; a rollback
begins a new transaction, and a new state with it.
"""

import math
from collections.abc import Sequence
from typing import Any

from psycopg import Cursor

from responder.journal import STEP_KINDS, GuardQuery, ReadAhead
from responder.journal.postgres_guards import Guards, guards_key
from responder.journal.postgres_replica import Replica
from responder.journal.postgres_schema import GUARD_LOCK
from responder.journal.postgres_writer import Connection
from responder.journal.sqlite_rows import INSTANCE_COLUMNS, instance_from_row
from responder.vocabulary import StepStatus

_PENDING, _RUNNING = StepStatus.PENDING.value, StepStatus.RUNNING.value
_OLDER_DUE = (
    f"SELECT k FROM unnest(%s::text[]) k WHERE EXISTS (SELECT 1 FROM steps WHERE kind = k AND status = '{_PENDING}'"
    f" AND due_at <= %s) OR EXISTS (SELECT 1 FROM steps WHERE kind = k AND status = '{_RUNNING}' AND lease_until < %s)"
)
# Binary parameters (%b): an array of bodies in text would be hex-escaped in Python, byte by byte.
_APPEND_NOTIFICATIONS = (
    "INSERT INTO notifications (id, received_at, correlation_id, body, processed_at)"
    " SELECT * FROM unnest(%b::bigint[], %b::float8[], %b::text[], %b::bytea[], %b::float8[])"
)
_INSTANCES = (
    f"SELECT {INSTANCE_COLUMNS} FROM instances WHERE (fingerprint, starts_at) IN"
    " (SELECT * FROM unnest(%s::text[], %s::text[]))"
)


def ask_instances(conn: Connection, keys: Sequence[tuple[str, str]]) -> Cursor[tuple[Any, ...]]:
    """Send the read of the instances of `keys`; `remember_instances` reads its answer."""
    return conn.execute(_INSTANCES, ([k[0] for k in keys], [k[1] for k in keys]))


def remember_instances(answer: Cursor[tuple[Any, ...]], replica: Replica) -> None:
    """The instances an `ask_instances` found, into the replica's cache."""
    for row in answer.fetchall():
        replica.remember(instance_from_row(row))


class BatchState:
    """What the transaction's operations found out already, or were told they will need.

    Which kinds have a step due that is older than what this transaction leases is asked once,
    when the transaction first leases, and kept current with the due steps it inserts unleased
    itself. Steps that come due, or leases that run out, while the transaction runs
    (milliseconds) are left to the next claim."""

    def __init__(self) -> None:
        self.guards: Guards | None = None
        self._guard_locked = False
        self._flushes = False
        self._question: Cursor[tuple[Any, ...]] | None = None
        self._older: frozenset[str] | None = None
        self._made_due: set[str] = set()  # by this transaction, after the question was sent
        self._foreseen: list[tuple[ReadAhead, float]] = []
        self._absent: set[tuple[str, str]] = set()  # keys read ahead and not found
        self._notifications: list[tuple[int, float, str, bytes, float | None]] = []

    def append_notification(self, row: tuple[int, float, str, bytes, float | None]) -> None:
        """A notification row (id, received_at, correlation_id, body, processed_at) to insert with
        the batch's others, in one statement (see `flush`)."""
        self._notifications.append(row)

    def flush(self, conn: Connection) -> None:
        """Send the notifications appended so far, in one statement: before the transaction
        commits, and before any statement of it that reads or deletes notifications. A batch
        of notifications then costs the writer's thread one statement, not one each."""
        if self._notifications:
            rows, self._notifications = self._notifications, []
            conn.execute(_APPEND_NOTIFICATIONS, [list(column) for column in zip(*rows, strict=True)])

    def foresee(self, ahead: ReadAhead, now: float) -> None:
        """An accept of this transaction, at `now`, will read what `ahead` says."""
        self._foreseen.append((ahead, now))

    def absent(self, key: tuple[str, str]) -> bool:
        """Whether the instance of `key` was read ahead and not found (this transaction's own
        inserts are in the replica's cache, which is asked first)."""
        return key in self._absent

    def read_ahead(self, conn: Connection, replica: Replica) -> None:
        """Read at once what the accepts told ahead will read, if not yet done: the instances of
        their keys that the replica has not cached and, for those that would fire first, the
        guards (under their lock, with which kinds have an older step due). One round trip for
        the batch; nothing when every key is cached (repeats, the common case)."""
        foreseen, self._foreseen = self._foreseen, []
        keys: dict[tuple[str, str], None] = {}
        targets: dict[str, None] = {}
        guards: Guards | None = None
        earliest = math.inf
        for ahead, now in foreseen:
            for index, key in enumerate(ahead.keys()):
                if key in replica.instances or key in keys:
                    continue
                keys[key] = None
                if (query := ahead.guards(index)) is not None:
                    guards = self.guards_for(query)
                    targets.update(dict.fromkeys(query.targets))
                    earliest = min(earliest, now)
        if not keys:
            return
        instances = ask_instances(conn, list(keys))
        answer = None
        if guards is not None:
            self.lock_guards(conn)
            self.ask_older(conn, earliest)
            answer = guards.ask(conn, targets, earliest)
        remember_instances(instances, replica)
        self._absent.update(key for key in keys if key not in replica.instances)
        if guards is not None and answer is not None:
            guards.take(answer)

    def guards_for(self, query: GuardQuery) -> Guards:
        """The transaction's guards for `query`'s mutating steps, window and cap: those read so
        far, or new ones (which replace them) if they were for others."""
        key = guards_key(*_key_of(query))
        if self.guards is None or self.guards.key != key:
            self.guards = Guards(*_key_of(query))
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
        """This transaction inserted a step of `kind` due now without leasing it."""
        self._made_due.add(kind)


def _key_of(query: GuardQuery) -> tuple[Sequence[str], float, int]:
    return query.mutating, query.window_seconds, query.cap
