"""What escalation keeps in the journal beside steps: per-channel state of an alert instance
(the Slack message, the PagerDuty dedup key), acknowledgements, delivery marks, and the ids of
the provider webhook events already handled.

A delivery mark is written, durably, before a message that must never repeat (SMS) is handed
to the provider; a retry that finds the mark without a provider id knows the outcome was
uncertain and asks the provider instead of sending again.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from responder.journal.records import Instance
from responder.planner import PlannedStep


@dataclass(frozen=True)
class Acknowledgement:
    actor: str
    via: str
    at: float


@dataclass(frozen=True)
class AckOutcome:
    """What one acknowledge request did across the firing instances of a fingerprint."""

    firing: int  # firing instances found
    acknowledged: list[str] = field(default_factory=list)  # starts_at of those acknowledged now
    already: Acknowledgement | None = None
    cancelled: list[str] = field(default_factory=list)  # ladder rungs that will not go out


class Callback(StrEnum):
    """What a provider's acknowledgement for one channel reference found."""

    ACTED = "acted"  # its instance is firing: the AckOutcome says whether it was acknowledged now
    REPLAY = "replay"  # this event id was handled before: nothing changed
    UNKNOWN = "unknown"  # no instance has that reference on that channel
    RESOLVED = "resolved"  # its instance has resolved: nothing to acknowledge


@dataclass(frozen=True)
class CallbackOutcome:
    """What a provider's acknowledgement did; `instance` is the one its reference names, when found."""

    found: Callback
    instance: Instance | None = None
    outcome: AckOutcome = field(default_factory=lambda: AckOutcome(0))  # ACTED: what it did


@dataclass(frozen=True)
class DeliveryMark:
    marked_at: float
    provider_id: str | None


# Plans the announcement of an acknowledgement: (instance, channels told it fired, rungs cancelled).
AckPlanner = Callable[[Instance, frozenset[str], Sequence[str]], Sequence[PlannedStep]]


class EscalationStore(Protocol):
    async def channel_state(self, instance_id: int, channel: str) -> dict[str, Any] | None: ...
    async def save_channel_state(self, instance_id: int, channel: str, ref: str, state: dict[str, Any]) -> None: ...
    async def acknowledge(
        self, fingerprint: str, actor: str, via: str, now: float, plan: AckPlanner, starts_at: str | None = None
    ) -> AckOutcome:
        """Acknowledge every firing instance of `fingerprint` (only the one that started at
        `starts_at`, when given) not yet acknowledged, cancel the
        ladder rungs not yet sent and plan the announcement (`plan`). Atomic: an instance is
        acknowledged with its rungs cancelled and its announcement planned, or not at all."""
        ...

    async def acknowledge_reference(
        self, channel: str, ref: str, event_id: str, actor: str, now: float, plan: AckPlanner
    ) -> CallbackOutcome:
        """A provider's acknowledgement of the one instance that has `ref` as its `channel`
        reference (`save_channel_state`), delivered as the webhook event `event_id`: never another
        instance of the same fingerprint. Atomic: the event id is recorded, and the instance
        acknowledged as `acknowledge` does (via `channel`), in one transaction, so an event
        either did all it does and is known, or did nothing and is not; an id already recorded
        is a REPLAY and changes nothing, nor does a reference unknown or an instance resolved.
        Event ids are kept as long as the journal's retention (`Journal.prune`)."""
        ...

    async def first_receipt(self, channel: str, event_id: str, now: float) -> bool:
        """Record, durably, that the provider's signed request `event_id` arrived on `channel`:
        True the first time, False for a replay (the same request again, which a signature with
        a time window does not refuse within its window). Kept as `acknowledge_reference`'s ids."""
        ...

    async def acknowledgement(self, instance_id: int) -> Acknowledgement | None: ...
    async def stopped_rungs(self, instance_id: int) -> list[str]: ...  # cancelled by the resolve
    async def begin_delivery(self, step_id: int, recipient: str, now: float) -> DeliveryMark | None: ...
    async def confirm_delivery(self, step_id: int, recipient: str, provider_id: str) -> None: ...
    async def acted_targets(
        self, fingerprint: str, action: str, starts_at: str | None = None
    ) -> tuple[Instance, list[dict[str, str]]] | None:
        """The latest instance of `fingerprint` (the one that started at `starts_at`, when given)
        and the targets its `action` acted on."""
        ...

    async def record_event(self, instance_id: int, kind: str, detail: dict[str, Any], now: float) -> None: ...
