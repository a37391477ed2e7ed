"""Acknowledging an alert: the functions the ack API, the Slack and PagerDuty callbacks, the
CLI (through the API) and the console call.

By fingerprint (the API, the CLI, Slack): an acknowledgement is recorded for every firing
instance of the fingerprint. By a provider's reference (PagerDuty's dedup key, which names one
instance): for that instance only, and once per webhook event. Either way the acknowledgement,
the ladder rungs it cancels and the announcement to the channels already told are one journal
transaction; then the escalation workers are woken to send that announcement at once.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from prometheus_client import Histogram

from responder.escalation.ladder import ack_steps
from responder.journal import Journal
from responder.journal.escalation import AckOutcome, CallbackOutcome
from responder.vocabulary import StepKind

log = logging.getLogger("responder.acknowledgement")


class Acknowledge(Protocol):
    """Acknowledge `fingerprint` (only its instance that started at `starts_at`, when given)."""

    def __call__(
        self, fingerprint: str, actor: str, via: str, starts_at: str | None = None
    ) -> Awaitable[AckOutcome]: ...


@dataclass(frozen=True)
class Acknowledger:
    """Acknowledge; `ack_seconds` observes the time from each instance's start, by `via`;
    `silence`: each acknowledgement also silences its alert in Alertmanager (silence_on_ack)."""

    journal: Journal
    wake: Callable[[str], None]  # Engine.wake
    ack_seconds: Histogram
    clock: Callable[[], float]
    silence: bool = False

    async def __call__(self, fingerprint: str, actor: str, via: str, starts_at: str | None = None) -> AckOutcome:
        """Every firing instance of `fingerprint`, or only the one that started at `starts_at`
        (what a Slack button names: an old message's button never touches a newer instance)."""
        outcome = await self.journal.escalation.acknowledge(
            fingerprint, actor, via, self.clock(), ack_steps(actor, via, self.silence), starts_at
        )
        self._acted(outcome, fingerprint, actor, via)
        return outcome

    async def reference(self, channel: str, ref: str, event_id: str, actor: str) -> CallbackOutcome:
        """Acknowledge, via `channel`, the one instance whose `channel` reference is `ref`, as
        the provider's webhook event `event_id`: an event seen before changes nothing."""
        found = await self.journal.escalation.acknowledge_reference(
            channel, ref, event_id, actor, self.clock(), ack_steps(actor, channel, self.silence)
        )
        if found.instance is not None:
            self._acted(found.outcome, found.instance.fingerprint, actor, channel)
        return found

    def _acted(self, outcome: AckOutcome, fingerprint: str, actor: str, via: str) -> None:
        if not outcome.acknowledged:
            return
        self.wake(StepKind.ESCALATION)
        now = self.clock()
        for starts_at in outcome.acknowledged:
            started = datetime.fromisoformat(starts_at).timestamp()
            self.ack_seconds.labels(via).observe(max(now - started, 0.0))
        log.info("acknowledged", extra={"fingerprint": fingerprint, "actor": actor, "via": via})
