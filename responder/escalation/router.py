"""The escalation Notifier the engine runs: each step to its channel, and every channel without
credentials to the console, with the reason logged once at start."""

import ssl
import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from responder.escalation import Notifier
from responder.escalation.console import ConsoleNotifier
from responder.escalation.pagerduty import PagerDutyNotifier
from responder.escalation.silence import SilenceNotifier
from responder.escalation.slack import SlackNotifier, client_for
from responder.escalation.sms import SmsNotifier
from responder.journal import Step, StepResult
from responder.journal.escalation import EscalationStore
from responder.policy import Policy
from responder.vocabulary import Channel


class Router:
    def __init__(
        self,
        notifiers: Mapping[str, Notifier],
        console: Notifier,
        slack: SlackNotifier | None = None,
        sms: SmsNotifier | None = None,
        pagerduty: PagerDutyNotifier | None = None,
        silence: SilenceNotifier | None = None,
    ) -> None:
        self._notifiers = dict(notifiers)
        self._console = console
        self.slack = slack  # the Slack interactivity endpoint talks back through it
        self._sms = sms
        self._pagerduty = pagerduty
        self._silence = silence

    def channel(self, name: str) -> Notifier:
        return self._notifiers.get(name, self._console)

    async def notify(self, step: Step) -> StepResult:
        return await self.channel(step.name).notify(step)

    async def close(self) -> None:
        try:
            if self._sms is not None:
                await self._sms.close()
            if self._silence is not None:
                await self._silence.close()
        finally:
            if self._pagerduty is not None:
                self._pagerduty.close()


def build_router(
    policy: Policy, store: EscalationStore, console: TextIO = sys.stdout, clock: Callable[[], float] = time.time
) -> Router:
    """The notifiers the policy's credentials allow; a channel without them goes to the console
    (`policy.channels.warnings` says which: `serve` logs them, `check-config` prints them)."""
    channels = policy.channels
    notifiers: dict[str, Notifier] = {}
    slack = sms = pagerduty = None
    if channels.slack.enabled:
        slack = notifiers["slack"] = SlackNotifier(channels.slack, store, client_for(channels.slack))
    if channels.pagerduty.enabled:
        ca = ssl.create_default_context(cafile=channels.pagerduty.ca_file) if channels.pagerduty.ca_file else None
        pagerduty = notifiers["pagerduty"] = PagerDutyNotifier(channels.pagerduty, store, policy.escalation_workers, ca)
    if channels.sms.enabled:
        sms = notifiers["sms"] = SmsNotifier(channels.sms, store, clock)
    silence = None
    if policy.alertmanager is not None and policy.alertmanager.silence_on_ack_seconds:
        silence = notifiers[Channel.SILENCE] = SilenceNotifier(policy.alertmanager, store, clock)
    return Router(notifiers, ConsoleNotifier(console), slack, sms, pagerduty, silence)
