"""What one transaction of the PostgreSQL writer knows across the operations of its batch, so
that the first firings of a batch ask the database once, not each: whether the guards' lock is
held already, and which kinds have an older step due (see `PostgresTransaction.lease_new`).

A `BatchState` is made as each transaction begins (PostgresJournal) and shared by the
transactions' operations; a rollback begins a new transaction, and a new state with it."""

from typing import Any

from psycopg import Cursor

from responder.journal import STEP_KINDS
from responder.journal.postgres_writer import Connection
from responder.vocabulary import StepStatus

_PENDING, _RUNNING = StepStatus.PENDING.value, StepStatus.RUNNING.value
_OLDER_DUE = (
    f"SELECT k FROM unnest(%s::text[]) k WHERE EXISTS (SELECT 1 FROM steps WHERE kind = k AND status = '{_PENDING}'"
    f" AND due_at <= %s) OR EXISTS (SELECT 1 FROM steps WHERE kind = k AND status = '{_RUNNING}' AND lease_until < %s)"
)


class BatchState:
    """The guards' lock taken, and the kinds with a step due that is older than what this
    transaction leases: asked once, when the transaction first leases, and kept current with
    the due steps it inserts unleased itself. Steps that come due, or leases that run out,
    while the transaction runs (milliseconds) are left to the next claim."""

    def __init__(self) -> None:
        self.guard_locked = False
        self._flushes = False
        self._question: Cursor[tuple[Any, ...]] | None = None
        self._older: frozenset[str] | None = None
        self._made_due: set[str] = set()  # by this transaction, after the question was sent

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
