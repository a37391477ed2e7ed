"""What escalation keeps in the journal beside steps: per-channel state of an alert instance
(the Slack message, the PagerDuty dedup key), acknowledgements, and delivery marks.

A delivery mark is written, durably, before a message that must never repeat (SMS) is handed
to the provider; a retry that finds the mark without a provider id knows the outcome was
uncertain and asks the provider instead of sending again.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class DeliveryMark:
    marked_at: float
    provider_id: str | None


# Plans the announcement of an acknowledgement: (instance, channels told it fired, rungs cancelled).
AckPlanner = Callable[[Instance, frozenset[str], Sequence[str]], Sequence[PlannedStep]]


class EscalationStore(Protocol):
    async def channel_state(self, instance_id: int, channel: str) -> dict[str, Any] | None: ...
    async def save_channel_state(self, instance_id: int, channel: str, ref: str, state: dict[str, Any]) -> None: ...
    async def fingerprint_for(self, channel: str, ref: str) -> str | None: ...
    async def acknowledge(self, fingerprint: str, actor: str, via: str, now: float, plan: AckPlanner) -> AckOutcome: ...
    async def acknowledgement(self, instance_id: int) -> Acknowledgement | None: ...
    async def stopped_rungs(self, instance_id: int) -> list[str]: ...  # cancelled by the resolve
    async def begin_delivery(self, step_id: int, recipient: str, now: float) -> DeliveryMark | None: ...
    async def confirm_delivery(self, step_id: int, recipient: str, provider_id: str) -> None: ...
    async def acted_targets(self, fingerprint: str, action: str) -> tuple[Instance, list[dict[str, str]]] | None: ...
    async def record_event(self, instance_id: int, kind: str, detail: dict[str, Any], now: float) -> None: ...
