"""The journal: everything the responder has accepted, decided and done, durably.

Callers see two protocols. `Journal` is the async face the web layer, the engine and the CLI
use; its `transact` runs a function against a `Transaction` atomically, which is where alert
identity and planning happen. A backend (SQLite now, PostgreSQL next) implements both, and the
escalation store (`responder.journal.escalation`); nothing outside `responder.journal` knows
which backend it talks to, or any of its SQL. What each method promises is written on it; what
holds for all of them is written on `Journal`.
"""

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, TypeVar

from responder.alerts import Alert
from responder.decision import GuardState
from responder.journal.escalation import EscalationStore
from responder.journal.records import (
    STEP_KINDS,
    Effect,
    Instance,
    Operation,
    Settled,
    Step,
    StepResult,
    StoredNotification,
)
from responder.planner import PlannedStep

__all__ = [
    "STEP_KINDS",
    "Effect",
    "EscalationStore",
    "GuardQuery",
    "Instance",
    "Journal",
    "JournalFullError",
    "Listing",
    "Operation",
    "ReadAhead",
    "Settled",
    "Step",
    "StepResult",
    "StoredNotification",
    "Transaction",
]

T = TypeVar("T")


class JournalFullError(RuntimeError):
    """The journal refuses a new notification: its disk is below the free-space reserve. The
    message names the disk, its free space, the reserve and the journal's size."""


@dataclass(frozen=True)
class Listing:
    """Which alert instances a console page lists: those whose columns equal the values given,
    whose labels equal `labels`, and whose alertname or labels contain `search` (ASCII letters
    compared without case); `limit` of them from `offset` on."""

    status: str | None = None
    severity: str | None = None
    action: str | None = None
    fingerprint: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    search: str = ""
    limit: int = 50
    offset: int = 0


class GuardQuery(NamedTuple):
    """What `Transaction.guard_state` is asked for one first firing, but the time."""

    mutating: Sequence[str]
    targets: Sequence[str]
    window_seconds: float
    cap: int


class ReadAhead(Protocol):
    """What applying one notification will read, told before it is applied, so that a backend
    whose every read costs a round trip (PostgreSQL) can read a whole batch's at once. A hint:
    a backend may ignore it, and must still answer what it was not told. Its methods are called
    where the apply runs, and only if needed (never for a notification whose instances the
    backend holds in its cache)."""

    def keys(self) -> Sequence[tuple[str, str]]:
        """The keys `Transaction.instances` will be asked for."""
        ...

    def guards(self, index: int) -> GuardQuery | None:
        """What `guard_state` will be asked if the instance of `keys()[index]` is not found (its
        first firing); None if it will not be asked."""
        ...


class Transaction(Protocol):
    """Reads and writes inside one atomic unit of work: all of them are committed together or
    none is. Its methods are synchronous; they block on the database, never on the event loop.

    Identity is the backend's to enforce, not only the caller's to check: an alert instance is
    unique by (fingerprint, starts_at), and a step by (instance, key), so that `add_steps` adds a
    step at most once however often, and from however many replicas, it is planned. `add_steps`
    returns how many it added. A `Step`'s kind is a `StepKind` and its status a `StepStatus`;
    `claim` and `lease_new` lease steps as `Journal` describes.
    """

    def instances(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Instance]: ...
    def insert_instance(self, alert: Alert, now: float) -> Instance: ...
    def set_status(self, instance: Instance, status: str, now: float) -> Instance: ...
    def touch(self, instance: Instance, now: float) -> Instance: ...
    def add_event(
        self,
        instance: Instance | None,
        notification_id: int | None,
        kind: str,
        detail: dict[str, Any],
        now: float,
    ) -> None: ...
    def add_steps(self, instance: Instance, steps: Sequence[PlannedStep], now: float, correlation_id: str) -> int: ...
    def guard_state(
        self, mutating: Sequence[str], targets: Sequence[str], window_seconds: float, now: float, cap: int
    ) -> GuardState:
        """What the circuit breaker and the cooldowns need, for steps named in `mutating`: the
        mutations in the last `window_seconds` (up to `cap`), counting each deployment a step
        changed (every `"changed": true` entry of its outcome's `targets`) and each step that
        changed none, or has not run, as one; and for each target key in `targets`, the last
        time a step named it, or, for a key naming one deployment, changed it through a selector.
        On the webhook's path for a first firing: its cost must not grow with the journal."""
        ...

    def stop_pending(self, instance: Instance, now: float) -> tuple[int, int]: ...
    def held(self, instance: Instance, state: str) -> list[tuple[str, str]]: ...
    def running(self, instance: Instance, name: str) -> bool: ...
    def notified_channels(self, instance: Instance) -> frozenset[str]: ...
    def claim(self, kind: str, limit: int, now: float, lease_seconds: float) -> list[Step]: ...
    def lease_new(self, room: Mapping[str, int], now: float, lease_seconds: float) -> None:
        """Lease the due-now steps this transaction adds from here on, up to `room[kind]` per
        kind, unless older steps of that kind are due (a claim serves those first)."""
        ...

    def leased(self, kind: str) -> list[Step]: ...
    def release(self, steps: Sequence[Step]) -> int:
        """Hand back steps this process claimed or leased and never started: pending again, due
        as before, their attempt not counted. A step that moved on since (claimed again after
        its lease ran out, finished, or leased by another replica) is left as it is. Returns how
        many were handed back."""
        ...

    def mark_processed(self, notification_ids: Sequence[int], now: float) -> None: ...


class Journal(Protocol):
    """The journal as the engine, the web layer and the CLI use it. Every backend must provide:

    Atomicity. `transact(fn)` runs `fn` against one `Transaction`: what it writes is committed
    together, or not at all when `fn` raises (the error is re-raised to the caller) or the
    database fails. `fn` may be called more than once for one call (a backend may run it again
    after a failed batch or a serialisation conflict), so what it does outside the transaction
    must be undone or repeated harmlessly by its next call; only the last call's result counts.
    `fn` may be called on a thread of the backend's own while the loop runs (PostgreSQL), never
    two at once and never while an earlier call's outcome is being delivered: what it shares
    with the loop must be thread-safe (the engine's worker counts change under a lock, and only
    a claim takes them).

    Durability. `append_notification`, `accept` and `record_operation`, and the escalation
    store's `begin_delivery`, have their write on disk (fsync'd, or replicated as the backend
    promises a committed write) when they return or their future resolves: the webhook's 200,
    and an SMS's at-most-once, rest on it. Other writes are committed when they return and
    survive a crash of the process; a power loss may lose the last of them, which only redoes
    work that is safe to redo (a step runs again, see DESIGN.md invariant 7).

    Order. Notifications are applied in the order they were appended: `accept` applies its own
    only when no older one is left unapplied, else leaves it for ingest (`unprocessed`, then
    `Transaction.mark_processed`), which applies them in id order.

    Claims and leases. A step is `pending` until claimed; `Transaction.claim` moves up to `limit`
    due steps of a kind (oldest due first) to `running` with a lease until now + lease_seconds,
    and counts an attempt. A claim is atomic across every process that shares the journal: no
    two claims hand out the same step while its lease runs. A step whose lease ran out (its
    runner crashed or hung) is due again and may be claimed again; `finish_step` ends the
    attempt only if the step is still `running`. `Transaction.lease_new` leases the steps a
    transaction adds as it adds them, as a claim would, but never ahead of an older due step of
    the same kind. At `start` a backend hands back what was left running by a crash of a
    process it knows to be gone (the SQLite backend: every `running` step, as it is the only
    process); a backend shared by several processes leaves those to their leases.

    Interrupted attempts. A step handed back at start, or claimed after its lease ran out, gets
    its cut-short attempt in its history (status `interrupted`, from when it was claimed) and is
    handed out with `Step.interrupted` set, so that its runner can find out what the cut-short
    attempt did before acting again.

    Outcomes. `finish_step` records an attempt and its effects (holds put on or lifted), moves
    the step on (to its final status, or back to `pending` at `retry_at`), and plans its
    follow-ups, in one transaction: a crash leaves either all of it or none.

    Free space. Below its free-space reserve a backend refuses new notifications quickly
    (`accept` and `append_notification` fail with `JournalFullError`, before any write) and
    keeps the rest for the work already accepted; `write_problem` says so.

    Several processes. A backend shared by several replicas (PostgreSQL) must make the
    identities above unique and the claims exclusive in the database itself (unique keys, row
    locks or `SELECT ... FOR UPDATE SKIP LOCKED`), count the guards' mutations across every
    replica, and leave `backlog` an estimate of this process's view. The SQLite backend holds a
    file lock instead: a second process on the same file is refused at `start`.
    """

    @property
    def escalation(self) -> EscalationStore: ...  # channel state, acknowledgements, delivery marks

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def append_notification(self, body: bytes, correlation_id: str, now: float) -> int: ...
    def accept(
        self,
        body: bytes,
        correlation_id: str,
        now: float,
        apply: Callable[[Transaction, StoredNotification], T],
        then: Settled[tuple[int, T | None]] | None = None,
        ahead: ReadAhead | None = None,
    ) -> "asyncio.Future[tuple[int, T | None]]":
        """Append `body` and, in the same transaction, `apply` it, unless an older notification
        is still unapplied (ingest then applies both, in order) or `apply` raised (its writes are
        rolled back and the error logged; the notification stays for ingest). The append holds
        either way.

        When the future resolves, the notification is durable (see `Journal`): it gets the
        notification's id and what `apply` returned, or None when it was not applied. It fails
        with the database's error when nothing was stored. `then` is told the same, synchronously
        as the commit settles and before the future's awaiters run, even if nobody awaits the
        future any more (a client gone): what `apply` leased must be acted on or given back.
        `then` gets None and the error when the transaction failed, or when the journal was shut
        down while committing (the commit may have reached the disk: what it leased is handed
        back when the journal next starts). `apply`, like `transact`'s `fn`, may be called more
        than once. `ahead`, what `apply` will read (see `ReadAhead`). Not a coroutine: the
        webhook's path pays no task and no extra loop turn."""
        ...

    async def unprocessed(self, limit: int) -> list[StoredNotification]: ...
    async def transact(self, fn: Callable[[Transaction], T]) -> T: ...
    async def finish_step(
        self,
        step: Step,
        result: StepResult,
        started: float,
        now: float,
        retry_at: float | None,
        then: Sequence[PlannedStep] = (),
        if_resolved: Sequence[PlannedStep] = (),
    ) -> None:
        """Record one attempt's outcome and, in the same transaction, plan the steps in `then`,
        and those in `if_resolved` if the step's alert instance has resolved by then."""
        ...

    async def record_effects(self, step: Step, effects: Sequence[Effect], changed: Sequence[str], now: float) -> None:
        """While `step` runs, record what it has just done to one deployment: the holds put on or
        lifted (`effects`) and the deployments changed (`namespace/name`, as the guards count
        them). Committed when it returns, so that a step interrupted or timed out after changing
        some deployments leaves them in the stop list, the deploy gate and the circuit breaker's
        count. `finish_step` records the same again without effect."""
        ...

    async def next_due(self, kind: str) -> float | None: ...
    async def instances(self, filters: dict[str, str], limit: int) -> list[dict[str, Any]]: ...
    async def timeline(self, fingerprint: str) -> list[dict[str, Any]]: ...
    async def listing(self, query: Listing) -> list[dict[str, Any]]:
        """A page of alert instances, most severe first (critical, warning, info, any other), then
        the latest started: each with the keys of `instances`, its `labels`, `annotations`,
        `acknowledged` ({actor, via, at} or None) and `steps` (kind, name, params, status, due_at
        and `last`: its latest attempt's {status, detail}, or None), without attempt history, and
        `decision`: the detail of its first `firing` event (what was planned, what guards refused).
        Its cost grows with the page and the instances matched, never with their history."""
        ...

    async def acknowledgements(self, limit: int) -> list[dict[str, Any]]:
        """The latest `limit` acknowledgements, newest first: {at, actor, via, fingerprint,
        starts_at, alertname} each (the console's operations log shows them beside `operations`)."""
        ...

    async def record_operation(self, operation: Operation) -> None:
        """Record a human's operation and lift or put on the holds it changed, in one durable
        transaction: the audit never shows a hold lifted without the operation that lifted it."""
        ...

    async def holds(self, state: str | None = None, namespace: str | None = None) -> list[dict[str, Any]]: ...
    async def operations(self, limit: int) -> list[dict[str, Any]]: ...
    async def prune(self, older_than: float) -> int:
        """Forget finished history older than `older_than`; returns how many alert instances went.
        Never unfinished work, nor a firing instance (its next repeat would look new), nor holds."""
        ...

    async def refresh_backlog(self) -> int:
        """Count unapplied notifications and unfinished remediations afresh; `backlog` returns it."""
        ...

    def backlog(self) -> int:
        """The backlog as last counted, kept current by this process's own writes: no I/O, so the
        webhook's overload check can ask it on every request."""
        ...

    def write_problem(self) -> str | None:
        """None when a write would succeed now, as far as the journal can tell without writing
        (readiness): started, its last write did not fail on the database itself (a read that
        succeeded since does not count), and its disk's free space is above the reserve. Else
        why not, and what to do. No I/O: it reads what the last write and the last free-space
        measurement found."""
        ...
