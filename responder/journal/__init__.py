"""The journal: everything the responder has accepted, decided and done, durably.

Callers see two protocols. `Journal` is the async face the web layer and engine use; its
`transact` runs a function against a `Transaction` atomically, which is where alert identity
and planning happen. A backend (SQLite now, PostgreSQL later) implements both; claims on work
are atomic in each, so several engines may share one PostgreSQL journal.
"""

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import orjson

from responder.alerts import Alert
from responder.decision import GuardState, PlannedStep

if TYPE_CHECKING:  # the escalation store's types use Instance, defined here
    from responder.journal.escalation import EscalationStore

T = TypeVar("T")
# Told an operation's result, or None and its error, as the journal settles it: synchronously,
# and whether or not anyone still awaits its future (a client gone). None also when the writer
# was cancelled at shutdown, though its commit may have reached the disk: what it leased is
# handed back when the journal next starts.
Settled = Callable[[T | None, BaseException | None], None]

STEP_PENDING, STEP_RUNNING = "pending", "running"
STEP_SUCCEEDED, STEP_FAILED, STEP_CANCELLED = "succeeded", "failed", "cancelled"
UNFINISHED = (STEP_PENDING, STEP_RUNNING)
STEP_KINDS = ("remediation", "escalation")  # in the order a claim serves them


@dataclass(frozen=True)
class StoredNotification:
    id: int
    body: bytes
    correlation_id: str


@dataclass(frozen=True)
class Instance:
    """An alert instance as journaled. Labels and annotations are decoded on first use: the
    common case, a repeat, never reads them."""

    id: int
    fingerprint: str
    starts_at: str
    status: str
    alertname: str
    severity: str
    action: str
    labels_json: str
    annotations_json: str
    last_seen: float

    @property
    def holder(self) -> str:
        """How holds (freezes, stops) this instance put on deployments name it."""
        return f"{self.fingerprint}@{self.starts_at}"

    @cached_property
    def labels(self) -> dict[str, str]:
        return dict(orjson.loads(self.labels_json))

    @cached_property
    def annotations(self) -> dict[str, str]:
        return dict(orjson.loads(self.annotations_json))


@dataclass(frozen=True)
class Step:
    id: int
    instance: Instance
    kind: str
    name: str
    params: dict[str, Any]
    attempts: int
    correlation_id: str


@dataclass(frozen=True)
class Effect:
    """A hold put on or lifted from a deployment: what the deploy gate and the stop list read.

    `holder` is the alert instance that holds it; lifting with no holder (a human's `unfreeze`
    or `restore`) lifts every hold of that kind.
    """

    state: str  # "frozen" or "stopped"
    namespace: str
    deployment: str
    on: bool
    holder: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepResult:
    """How one attempt ended: succeeded, failed (for good), or retry (a transient failure).

    `retry_after` is the provider's own hint (Retry-After), honoured over our backoff.
    `effects` are recorded in the same transaction as the outcome. `done` names the parts of a
    step that finished (deployments of a selector); a retry is handed them in `params["done"]`
    and skips them, so a retry never repeats a change a human may have undone since.
    """

    status: str
    detail: dict[str, Any]
    retry_after: float | None = None
    effects: tuple[Effect, ...] = ()
    done: tuple[str, ...] = ()


class Transaction(Protocol):
    """Reads and writes inside one atomic unit of work."""

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
    ) -> GuardState: ...
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
    def mark_processed(self, notification_ids: Sequence[int], now: float) -> None: ...


class Journal(Protocol):
    @property
    def escalation(self) -> "EscalationStore": ...  # channel state, acknowledgements, delivery marks

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
    ) -> "asyncio.Future[tuple[int, T | None]]":
        """Append `body` and, in the same transaction, `apply` it, unless an older notification
        is still unapplied (ingest then applies both, in order) or `apply` raised (rolled back and
        logged; the notification stays for ingest). The append holds either way. The future gets
        its id and what `apply` returned, or None when it was not applied; so does `then`, as the
        commit settles, even if the caller has gone away: what `apply` claimed must be acted on.
        `then` gets None and the error when the transaction failed or the writer was cancelled."""
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

    async def next_due(self, kind: str) -> float | None: ...
    async def instances(self, filters: dict[str, str], limit: int) -> list[dict[str, Any]]: ...
    async def timeline(self, fingerprint: str) -> list[dict[str, Any]]: ...
    async def record_operation(
        self,
        actor: str,
        op: str,
        target: dict[str, str],
        ok: bool,
        detail: dict[str, Any],
        effects: Sequence[Effect],
        now: float,
    ) -> None: ...
    async def holds(self, state: str | None = None, namespace: str | None = None) -> list[dict[str, Any]]: ...
    async def operations(self, limit: int) -> list[dict[str, Any]]: ...
    async def prune(self, older_than: float) -> int: ...
    async def refresh_backlog(self) -> int: ...
    def backlog(self) -> int: ...
    def writable(self) -> bool: ...
