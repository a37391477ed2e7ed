"""A responder wired to a fake Kubernetes API that the real `kubernetes` client talks to."""

import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from responder.policy import Policy
from responder.service import Responder, build_responder
from tests.fakes.kube import Cluster, FakeKube, serve

KUBE_TOKEN = "kube-token-for-tests"
NAMESPACES = ["autogen-council", "shop"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    fake = FakeKube(token=KUBE_TOKEN)
    fake.add_deployment("autogen-council", "o3-audit-proxy", replicas=3)
    fake.add_deployment("shop", "checkout", replicas=2, labels={"app": "checkout", "tier": "web"})
    fake.add_deployment("shop", "cart", replicas=4, labels={"app": "cart", "tier": "web"})
    with serve(fake) as running:
        yield running


@pytest.fixture
def live_policy(cluster: Cluster, make_policy: Callable[..., Policy]) -> Callable[..., Policy]:
    """The default policy with every action live (or `mode`) against the fake cluster."""

    def make(changes: dict[str, Any] | None = None, mode: str = "live") -> Policy:
        base: dict[str, Any] = {"kubernetes": {"host": cluster.url, "token": KUBE_TOKEN, "timeout": "2s"}}
        for action in ("EMERGENCY_STOP", "FREEZE_DEPLOYMENTS", "INVESTIGATE"):
            base[f"actions.{action}.mode"] = mode
            base[f"actions.{action}.allowed_namespaces"] = NAMESPACES
        return make_policy({**base, **(changes or {})})

    return make


class Rig:
    """The responder's journal, engine and operator, driven step by step with a fake clock."""

    def __init__(self, responder: Responder, clock: Clock) -> None:
        self.responder = responder
        self.clock = clock

    async def deliver(self, *payloads: dict[str, Any]) -> None:
        for payload in payloads:
            await self.responder.journal.append_notification(json.dumps(payload).encode(), "test", self.clock())
            await self.responder.engine.drain()

    async def later(self, seconds: float) -> None:
        """Let time pass and run whatever became due (retries, ladder rungs)."""
        self.clock.now += seconds
        await self.responder.engine.drain()

    async def steps(self, fingerprint: str = "4f1c2a9e8d7b6c5a", kind: str | None = None) -> list[dict[str, Any]]:
        timeline = await self.responder.journal.timeline(fingerprint)
        return [s for inst in timeline for s in inst["steps"] if kind in (None, s["kind"])]


@pytest.fixture
async def rig(live_policy: Callable[..., Policy]) -> AsyncIterator[Callable[..., Awaitable[Rig]]]:
    started: list[Responder] = []

    async def make(changes: dict[str, Any] | None = None, mode: str = "live", start: bool = True) -> Rig:
        """`start=False` leaves starting the journal to the app's own lifecycle."""
        clock = Clock()
        responder = build_responder(live_policy(changes, mode), clock, console=io.StringIO())
        if start:
            await responder.journal.start()
            started.append(responder)
        return Rig(responder, clock)

    yield make
    for responder in started:
        responder.operator.close()
        await responder.journal.close()
