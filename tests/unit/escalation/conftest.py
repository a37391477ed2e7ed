"""A responder wired to the Slack, PagerDuty (TLS) and Twilio fakes, with a clock the test moves."""

import hashlib
import hmac
import io
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from responder.policy import Policy
from responder.service import Responder, build_responder
from tests.conftest import alert_payload, cost_alert
from tests.fakes import pagerduty, slack, twilio
from tests.fakes.channels import SIGNING_SECRET, WEBHOOK_SECRET, channel_policy
from tests.fakes.server import serving
from tests.fakes.tls import make_ca


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Fakes:
    slack: slack.FakeSlack
    pagerduty: pagerduty.FakePagerDuty
    twilio: twilio.FakeTwilio
    urls: dict[str, str]
    ca_file: Path

    def policy(self, **changes: Any) -> dict[str, Any]:
        """Policy changes that point every channel at its fake."""
        return {**channel_policy(self.urls, self.ca_file), **changes}


@pytest.fixture
async def fakes(tmp_path: Path) -> AsyncIterator[Fakes]:
    ca = make_ca(tmp_path)
    found = Fakes(slack.FakeSlack(), pagerduty.FakePagerDuty(), twilio.FakeTwilio(), {}, ca.ca_file)
    async with AsyncExitStack() as stack:
        found.urls["slack"] = await stack.enter_async_context(serving(found.slack.app()))
        found.urls["pagerduty"] = await stack.enter_async_context(serving(found.pagerduty.app(), ca.server))
        found.urls["twilio"] = await stack.enter_async_context(serving(found.twilio.app()))
        yield found


@dataclass
class Harness:
    responder: Responder
    clock: Clock
    console: io.StringIO = field(default_factory=io.StringIO)

    async def deliver(self, *alerts: dict[str, Any], status: str = "firing") -> None:
        body = json.dumps(alert_payload(*alerts, status=status)).encode()
        await self.responder.journal.append_notification(body, "test", self.clock())
        await self.drain()

    async def drain(self) -> None:
        await self.responder.engine.drain()

    async def later(self, seconds: float) -> None:
        self.clock.now += seconds
        await self.drain()

    async def steps(self, fingerprint: str = "4f1c2a9e8d7b6c5a") -> list[dict[str, Any]]:
        return [s for inst in await self.responder.journal.timeline(fingerprint) for s in inst["steps"]]

    async def events(self, fingerprint: str = "4f1c2a9e8d7b6c5a") -> list[dict[str, Any]]:
        return [e for inst in await self.responder.journal.timeline(fingerprint) for e in inst["events"]]


@pytest.fixture
async def start(make_policy: Callable[..., Policy]) -> AsyncIterator[Callable[..., Any]]:
    """Start a responder (journal and channels, no dispatchers) on a policy; closed at the end."""
    started: list[Harness] = []

    async def make(changes: dict[str, Any], clock: Clock | None = None) -> Harness:
        console = io.StringIO()
        clock = clock or Clock()
        responder = build_responder(make_policy(changes), clock=clock, console=console)
        await responder.journal.start()
        started.append(Harness(responder, clock, console))
        return started[-1]

    yield make
    for harness in started:
        await harness.responder.escalation.close()
        await harness.responder.journal.close()


def critical(action: str = "INVESTIGATE", **annotations: str) -> dict[str, Any]:
    """CostBudgetExceeded with another action: the critical ladder instead of all-at-once."""
    return cost_alert(action=action, **annotations)


def slack_signed(body: bytes, timestamp: int, secret: str = SIGNING_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def pagerduty_signed(body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-PagerDuty-Signature": f"v1=0000,v1={digest}", "Content-Type": "application/json"}
