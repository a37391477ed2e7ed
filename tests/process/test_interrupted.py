"""Each side effect, cut short by SIGKILL at the worst moment: the provider has acted and its
answer never reached the responder. After a restart the step runs again and the provider's
own request log shows the effect once (or, where only the provider can tell repeats apart,
the same idempotency key twice), and the timeline shows the interrupted attempt before the new.

Each case has a fake that holds its answer (or the request itself) open, so that the kill lands
exactly there: Kubernetes scaled the deployment, Slack posted, PagerDuty triggered, Twilio
created the message (or never saw it), the hook acted.
"""

import asyncio
import json
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests import journal_rows
from tests.conftest import TOKEN, alert_payload, cost_alert, write_policy
from tests.e2e.processes import Process, responder, wait_for
from tests.fakes import pagerduty, slack, twilio
from tests.fakes.channels import ONCALL, channel_policy
from tests.fakes.kube import FakeKube, Fault
from tests.fakes.server import Reply
from tests.fakes.thread import AppThread, free_port
from tests.fakes.tls import make_ca

NAMESPACE, DEPLOYMENT, REPLICAS = "autogen-council", "o3-audit-proxy", 3
KUBE_TOKEN = "kube-token-for-the-interruption-test"
FINGERPRINT = "4f1c2a9e8d7b6c5a"
HELD_SECONDS = 3600.0  # longer than the test: the kill comes first


class HookReceiver:
    """An emergency hook that acts on the first call and never answers it."""

    def __init__(self) -> None:
        self.keys: list[str | None] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/emergency_stop", self._call)
        return app

    async def _call(self, request: web.Request) -> web.Response:
        self.keys.append(request.headers.get("Idempotency-Key"))
        if len(self.keys) == 1:
            await asyncio.sleep(HELD_SECONDS)
        return web.json_response({"stopped": True})


@dataclass
class World:
    kube: FakeKube
    slack: slack.FakeSlack
    pagerduty: pagerduty.FakePagerDuty
    twilio: twilio.FakeTwilio
    hook: HookReceiver
    service: Process
    journal: Path
    port: int

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method="GET" if body is None else "POST",
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def attempts(self, name: str) -> list[dict[str, Any]]:
        [instance] = self.post(f"/api/v1/alerts/{FINGERPRINT}")["instances"]
        [step] = [s for s in instance["steps"] if s["name"] == name and s["params"].get("event") in (None, "firing")]
        return list(step["attempts"])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    ca = make_ca(tmp_path)
    kube = FakeKube(token=KUBE_TOKEN)
    kube.add_deployment(NAMESPACE, DEPLOYMENT, replicas=REPLICAS)
    fakes = (slack.FakeSlack(), pagerduty.FakePagerDuty(), twilio.FakeTwilio(), HookReceiver())
    with (
        AppThread(kube.app()) as kube_server,
        AppThread(fakes[0].app()) as slack_server,
        AppThread(fakes[1].app(), ca.server) as pagerduty_server,
        AppThread(fakes[2].app()) as twilio_server,
        AppThread(fakes[3].app()) as hook_server,
    ):
        urls = {"slack": slack_server.url, "pagerduty": pagerduty_server.url, "twilio": twilio_server.url}
        port = free_port()
        config = write_policy(
            tmp_path,
            {
                **channel_policy(urls, ca.ca_file),
                "server.listen": f"127.0.0.1:{port}",
                "kubernetes": {"host": kube_server.url, "token": KUBE_TOKEN, "timeout": "60s"},
                "workers.step_timeout": "60s",
                "actions.EMERGENCY_STOP.mode": "live",
                "actions.EMERGENCY_STOP.allowed_namespaces": [NAMESPACE],
                "actions.EMERGENCY_STOP.hook": {"url": f"{hook_server.url}/emergency_stop", "timeout": "60s"},
                "escalation.emergency_stop": [{"after": "0s", "channels": ["slack", "pagerduty", "sms"]}],
            },
        )
        service = responder(config, port, tmp_path / "responder.log")
        found = World(kube, *fakes, service, tmp_path / "journal.db", port)
        try:
            yield found
        finally:
            service.kill()


def kill_when(world: World, what: str, happened: Callable[[], object]) -> None:
    """Deliver the alert, SIGKILL the responder once `happened` is true, start it again and wait
    until every step has finished."""
    world.service.start()
    world.post("/webhook", alert_payload(cost_alert()))
    wait_for(what, happened, timeout=30, interval=0.02)
    world.service.kill()
    assert journal_rows.running_steps(world.journal) > 0, "no step was cut short: the test proves nothing"
    world.service.start()
    wait_for("every step to finish", lambda: journal_rows.unfinished_count(world.journal) == 0, timeout=60)


def assert_interrupted_then(world: World, name: str, *then: str) -> None:
    attempts = world.attempts(name)
    assert [a["status"] for a in attempts] == ["interrupted", *then], attempts
    assert "interrupted by restart" in attempts[0]["detail"]["error"]
    assert attempts[0]["started_at"] <= attempts[0]["finished_at"] <= attempts[1]["started_at"]


def test_a_stop_cut_short_after_the_scale_keeps_the_recorded_count_and_scales_once(world: World) -> None:
    world.kube.inject(Fault("PATCH", "/scale", status=0, delay=HELD_SECONDS, late=True))
    kill_when(world, "the scale to zero", lambda: world.kube.deployment(NAMESPACE, DEPLOYMENT)["spec"]["replicas"] == 0)
    assert len(world.kube.patches("deployments/scale")) == 1, "the re-run scaled again"
    assert_interrupted_then(world, "EMERGENCY_STOP", "succeeded")
    [held] = world.post("/api/v1/stops")["stops"]
    assert held["replicas"] == REPLICAS, "the re-run recorded 0 replicas: a restore would restore to 0"
    restored = world.post("/api/v1/restore", {"namespace": NAMESPACE, "deployment": DEPLOYMENT, "actor": "alice"})
    assert restored["ok"], restored
    assert world.kube.deployment(NAMESPACE, DEPLOYMENT)["spec"]["replicas"] == REPLICAS


def test_a_hook_call_cut_short_is_repeated_with_the_same_idempotency_key(world: World) -> None:
    kill_when(world, "the hook call", lambda: world.hook.keys)
    assert len(world.hook.keys) == 2 and world.hook.keys[0] == world.hook.keys[1] is not None, world.hook.keys
    assert_interrupted_then(world, "EMERGENCY_HOOK", "succeeded")


def test_a_slack_post_cut_short_is_not_posted_again(world: World) -> None:
    world.slack.stall_posts = 1
    kill_when(world, "the Slack post", lambda: world.slack.parents())
    assert len(world.slack.parents()) == 1, [m.text for m in world.slack.parents()]
    assert_interrupted_then(world, "slack", "succeeded")
    assert world.attempts("slack")[1]["detail"]["summary"] == "posted by an earlier attempt"


def test_a_page_cut_short_is_sent_again_with_the_same_dedup_key_so_pagerduty_keeps_one_incident(
    world: World,
) -> None:
    world.pagerduty.stall_events = 1
    kill_when(world, "the PagerDuty trigger", lambda: world.pagerduty.events)
    triggers = [e for e in world.pagerduty.events if e["event_action"] == "trigger"]
    assert len(triggers) == 2 and triggers[0]["dedup_key"] == triggers[1]["dedup_key"]
    assert list(world.pagerduty.incidents) == [triggers[0]["dedup_key"]], "one incident"
    assert_interrupted_then(world, "pagerduty", "succeeded")


@pytest.mark.parametrize("created", [True, False], ids=["after-twilio-created-it", "before-twilio-saw-it"])
def test_an_sms_cut_short_is_sent_exactly_once(world: World, created: bool) -> None:
    if created:
        world.twilio.script.append(Reply(201, {}, hang=True))  # created; the answer never comes
        kill_when(world, "the SMS", lambda: world.twilio.messages)
    else:
        world.twilio.stall_before = 1
        kill_when(world, "the SMS request", lambda: world.twilio.stalled)
    assert [m["to"] for m in world.twilio.messages] == [ONCALL]
    assert_interrupted_then(world, "sms", "succeeded")
