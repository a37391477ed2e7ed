"""What the journal stores and hands out: notifications, alert instances, steps, their
outcomes, holds and operations, and the words for a step's kind and status. Plain values with no
behaviour beyond decoding, shared by the protocols in `responder.journal` and every backend."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

import orjson

from responder.vocabulary import StepKind

T = TypeVar("T")
# Told an operation's result, or None and its error, as the journal settles it: synchronously,
# and whether or not anyone still awaits its future (a client gone). None also when the writer
# was cancelled at shutdown, though its commit may have reached the disk: what it leased is
# handed back when the journal next starts.
Settled = Callable[[T | None, BaseException | None], None]

# In the order a claim serves them; a tuple, because iterating the enum class is dearer.
STEP_KINDS = tuple(StepKind)


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
    # The previous attempt was cut short (a restart, a lease that ran out): it may have acted
    # without recording it. Runners find out before acting again, or say that they repeat.
    interrupted: bool = False


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


@dataclass(frozen=True)
class Operation:
    """A human's restore or unfreeze, as the audit keeps it: who asked, what, on which target,
    whether it went through, what it said, and the holds it lifted (`effects`), at `at`."""

    actor: str
    op: str
    target: dict[str, str]
    ok: bool
    detail: dict[str, Any]
    effects: Sequence[Effect]
    at: float
