"""The guards' reads on PostgreSQL (see `Transaction.guard_state`), kept for a whole database
transaction by its accepts (or for one other operation): the count of mutations in the circuit
breaker's window, and each target's last mutation.

They are read under the guards' advisory lock, which the transaction takes before its first
read and holds until it ends (postgres_batch), so no other replica plans a mutation meanwhile:
only what this transaction plans or records can change them, and it keeps them current as it
writes (`planned`, `changed`), or forgets what it cannot follow (`forget`), which is read again
when next asked. The count is read for the earliest time a batch's accepts are at (their
notifications arrived at different times), and again only if asked for an earlier one: a
mutation that leaves the window while the transaction runs is still counted, which errs
towards refusing.
"""

from collections.abc import Collection, Sequence
from typing import Any

from responder.decision import GuardState
from responder.journal import GuardQuery
from responder.journal.postgres_loop import LoopCursor
from responder.journal.postgres_writer import Connection
from responder.planner import PlannedStep
from responder.vocabulary import StepStatus

_CANCELLED = StepStatus.CANCELLED.value
# As rows (target, time): the count of mutations in the window, capped, with no target; and
# each target's last mutation.
_COUNT_MUTATIONS = (
    "SELECT NULL::text, COALESCE(SUM(GREATEST(1, (SELECT COUNT(*) FROM changes c WHERE c.step_id = w.id))), 0)::float8"
    " FROM (SELECT id FROM steps WHERE kind = 'remediation' AND created_at > %s AND name = ANY(%b)"
    f" AND (status != '{_CANCELLED}' OR EXISTS (SELECT 1 FROM changes c WHERE c.step_id = steps.id)) LIMIT %s) w"
)
_LAST_MUTATIONS = (
    "SELECT t, GREATEST((SELECT MAX(created_at) FROM steps WHERE target_key = t AND kind = 'remediation'"
    f" AND name = ANY(%b) AND status != '{_CANCELLED}'),"
    " (SELECT MAX(at) FROM changes WHERE deployment = t AND name = ANY(%b))) FROM unnest(%b::text[]) t"
)
Answer = LoopCursor


class Guards:
    """What the guards of steps named in `mutating` read, as far as this transaction knows it:
    the count (None until read, or once forgotten) and the targets' last mutations (a target
    absent is not known; one mapped to None has none)."""

    def __init__(self, query: GuardQuery) -> None:
        self.key = guards_key(query)
        self._names, self._mutating = list(query.mutating), frozenset(query.mutating)
        self._window, self._cap = query.window_seconds, query.cap
        self._count: int | None = None
        self._counted_at = 0.0  # the end of the window the count was read for
        self._last: dict[str, float | None] = {}

    def ask(self, conn: Connection, targets: Collection[str], now: float) -> Answer | None:
        """Send, in one statement, the reads of what is not known yet: the count, in the window
        ending `now` (again if it was read for a later end, which would miss mutations), and the
        targets not read. Nothing is waited for: `take` the answer."""
        parts: list[str] = []
        params: list[Any] = []
        if self._count is None or now < self._counted_at:
            parts.append(_COUNT_MUTATIONS)
            params += [now - self._window, self._names, self._cap]
            self._counted_at = now
        if missing := [t for t in targets if t not in self._last]:
            parts.append(_LAST_MUTATIONS)
            params += [self._names, self._names, missing]
        return conn.execute(" UNION ALL ".join(parts), params) if parts else None

    def take(self, answer: Answer) -> None:
        for target, at in answer.fetchall():
            if target is None:
                self._count = int(at)
            else:
                self._last[target] = at

    def state(self, targets: Sequence[str]) -> GuardState:
        """The guards' state for `targets`, all of them read (see `ask`)."""
        assert self._count is not None, "ask and take before state"
        last = {t: at for t in targets if (at := self._last.get(t)) is not None}
        return GuardState(mutations_in_window=min(self._count, self._cap), last_mutation_at=last)

    def planned(self, steps: Sequence[PlannedStep], added: Collection[str], now: float) -> None:
        """This transaction inserted the steps of `steps` whose keys are in `added`, at `now`:
        each mutating one is one more mutation in the window, and its target's last."""
        for step in steps:
            if step.kind == "remediation" and step.name in self._mutating and step.key in added:
                if self._count is not None:
                    self._count += 1
                if step.target_key and step.target_key in self._last:
                    self._last[step.target_key] = now

    def changed(self, name: str, deployments: Sequence[str], now: float) -> None:
        """A step named `name` recorded that it changed `deployments` at `now`. How much that adds
        to the count depends on what the step recorded before: the count is read again."""
        if name in self._mutating and deployments:
            self._count = None
            for deployment in deployments:
                if deployment in self._last:
                    self._last[deployment] = now

    def forget(self, targets: Sequence[str | None]) -> None:
        """Mutations on `targets` were added or cancelled in a way not followed here."""
        self._count = None
        for target in targets:
            if target is not None:
                self._last.pop(target, None)

    def touched_by(self, steps: Sequence[PlannedStep]) -> list[str | None]:
        """The targets of the mutating steps among `steps` (None for one without a target)."""
        return [s.target_key for s in steps if s.kind == "remediation" and s.name in self._mutating]


def guards_key(query: GuardQuery) -> tuple[Any, ...]:
    """Which guards `query` reads: the same mutating steps, window and cap (its targets aside)."""
    return (tuple(query.mutating), query.window_seconds, query.cap)
