"""FREEZE_DEPLOYMENTS, unfreeze and the deploy gate, through the real client and the real app."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from responder.targets import Target
from responder.web.app import create_app
from tests.conftest import TOKEN, alert_payload, cost_alert
from tests.fakes.kube import Cluster, Fault
from tests.unit.remediation.conftest import Rig

MakeRig = Callable[..., Awaitable[Rig]]
NS, NAME = "shop", "checkout"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def freeze_alert(status: str = "firing", fingerprint: str = "aa11bb22cc33dd44", alertname: str = "Canary") -> Any:
    alert = cost_alert(
        status,
        fingerprint=fingerprint,
        action="FREEZE_DEPLOYMENTS",
        target_namespace=NS,
        target_deployment=NAME,
        summary=f"{alertname} regressed",
    )
    alert["labels"]["alertname"] = alertname
    return alert


def paused(cluster: Cluster) -> bool:
    return bool(cluster.fake.deployment(NS, NAME)["spec"].get("paused"))


async def test_a_freeze_pauses_rollouts_and_the_gate_answers_423_until_unfreeze_then_200(
    rig: MakeRig, cluster: Cluster, aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]
) -> None:
    r = await rig(start=False)
    client = await aiohttp_client(create_app(r.responder))  # its engine runs steps beside the test's drain
    await r.deliver(alert_payload(freeze_alert()))
    for _ in range(100):
        if await r.responder.journal.holds("frozen"):
            break
        await asyncio.sleep(0.05)
    assert paused(cluster)
    gate = await client.get(f"/api/v1/freezes/{NS}/{NAME}", headers=AUTH)
    assert gate.status == 423
    body = await gate.json()
    assert "frozen (shop/checkout by Canary)" in body["detail"] and "responder unfreeze shop/checkout" in body["detail"]
    assert (await client.get(f"/api/v1/freezes/{NS}", headers=AUTH)).status == 423
    assert (await client.get(f"/api/v1/freezes/{NS}/cart", headers=AUTH)).status == 200
    assert (await client.get(f"/api/v1/freezes/{NS}/{NAME}")).status == 401
    [listed] = (await (await client.get("/api/v1/freezes", headers=AUTH)).json())["freezes"]
    assert (listed["deployment"], listed["alert"]) == (NAME, "Canary")

    lifted = await client.post(
        "/api/v1/unfreeze", json={"namespace": NS, "deployment": NAME, "actor": "bob"}, headers=AUTH
    )
    assert lifted.status == 200, await lifted.text()
    assert not paused(cluster)
    assert (await client.get(f"/api/v1/freezes/{NS}/{NAME}", headers=AUTH)).status == 200
    [operation] = (await (await client.get("/api/v1/operations", headers=AUTH)).json())["operations"]
    assert (operation["actor"], operation["op"], operation["ok"]) == ("bob", "UNFREEZE", True)


async def test_a_resolve_lifts_only_its_own_freeze_and_rollouts_resume_when_the_last_holder_resolves(
    rig: MakeRig, cluster: Cluster
) -> None:
    r = await rig({"actions.FREEZE_DEPLOYMENTS.unfreeze_on_resolve": True, "actions.FREEZE_DEPLOYMENTS.cooldown": "0s"})
    first, second = freeze_alert(alertname="Canary"), freeze_alert(fingerprint="ee55ff66aa77bb88", alertname="Accuracy")
    await r.deliver(alert_payload(first, second))
    assert paused(cluster)
    await r.deliver(alert_payload(freeze_alert("resolved", alertname="Canary"), status="resolved"))
    assert paused(cluster), "Accuracy still holds the freeze"
    [hold] = await r.responder.journal.holds("frozen")
    assert hold["alert"] == "Accuracy"
    unfreeze = [s for s in await r.steps("aa11bb22cc33dd44", "remediation") if s["name"] == "UNFREEZE"]
    assert unfreeze[0]["attempts"][0]["detail"]["targets"][0]["still_frozen_by"] == ["Accuracy"]
    await r.deliver(
        alert_payload(freeze_alert("resolved", fingerprint="ee55ff66aa77bb88", alertname="Accuracy"), status="resolved")
    )
    assert not paused(cluster)
    assert await r.responder.journal.holds("frozen") == []


async def test_without_unfreeze_on_resolve_the_freeze_stays_and_humans_are_told_it_is_safe(
    rig: MakeRig, cluster: Cluster
) -> None:
    r = await rig()
    await r.deliver(alert_payload(freeze_alert()), alert_payload(freeze_alert("resolved"), status="resolved"))
    assert paused(cluster)
    told = [s for s in await r.steps("aa11bb22cc33dd44", "escalation") if s["params"]["event"] == "resolved"]
    assert told and all("safe to run `responder unfreeze`" in s["params"]["follow_up"] for s in told)


async def test_a_deployment_paused_by_a_person_before_the_freeze_stays_paused_after_it(
    rig: MakeRig, cluster: Cluster
) -> None:
    cluster.fake.objects["deployments"][(NS, NAME)]["spec"]["paused"] = True
    r = await rig()
    await r.deliver(alert_payload(freeze_alert()))
    result = await r.responder.operator.unfreeze(Target(NS, NAME), "cli:carol")
    assert result.ok, result.message
    assert paused(cluster)
    assert await r.responder.journal.holds("frozen") == []


async def test_unfreezing_something_the_responder_never_froze_changes_nothing(rig: MakeRig, cluster: Cluster) -> None:
    r = await rig()
    result = await r.responder.operator.unfreeze(Target(NS, "cart"), "cli:carol")
    assert result.ok
    assert "not frozen by the responder" in result.detail["targets"][0]["note"]
    assert cluster.fake.writes == []


async def test_a_freeze_still_running_when_its_alert_resolves_is_lifted_once_it_finishes(
    rig: MakeRig, cluster: Cluster, aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]
) -> None:
    """The resolve finds nothing frozen yet, so it plans no unfreeze; without the freeze's own
    outcome planning it, the deployment stayed frozen after the alert had resolved."""
    r = await rig({"actions.FREEZE_DEPLOYMENTS.unfreeze_on_resolve": True}, start=False)
    client = await aiohttp_client(create_app(r.responder))
    cluster.fake.inject(Fault("PATCH", f"/deployments/{NAME}", status=0, delay=0.5, late=True))
    for status in ("firing", "resolved"):
        answer = await client.post("/webhook", json=alert_payload(freeze_alert(status), status=status), headers=AUTH)
        assert answer.status == 200, await answer.text()
    assert not await r.responder.journal.holds("frozen"), "the resolve came while the freeze was running"
    for _ in range(100):
        steps = await r.steps("aa11bb22cc33dd44", "remediation")
        if any(s["name"] == "UNFREEZE" and s["status"] == "succeeded" for s in steps):
            break
        await asyncio.sleep(0.05)
    assert [(s["name"], s["status"]) for s in steps] == [
        ("FREEZE_DEPLOYMENTS", "succeeded"),
        ("UNFREEZE", "succeeded"),
    ]
    assert not paused(cluster)
    assert await r.responder.journal.holds("frozen") == []
    [instance] = await r.responder.journal.timeline("aa11bb22cc33dd44")
    assert "freeze_deployments_finished_after_resolve" in [e["kind"] for e in instance["events"]]
    told = [s for s in await r.steps("aa11bb22cc33dd44", "escalation") if s["params"]["event"] == "resolved"]
    assert told and {s["params"]["follow_up"] for s in told} == {
        "deployments are being unfrozen, as the policy says; the freeze still running is lifted once it finishes"
    }


async def test_an_unfreeze_that_fails_transiently_is_retried_although_its_alert_has_resolved(
    rig: MakeRig, cluster: Cluster
) -> None:
    """Retries of the firing's remediations stop at the resolve; the resolve's own unfreeze is
    what the resolve asked for and keeps them."""
    r = await rig({"actions.FREEZE_DEPLOYMENTS.unfreeze_on_resolve": True})
    await r.deliver(alert_payload(freeze_alert()))
    assert paused(cluster)
    cluster.fake.inject(Fault("PATCH", f"/deployments/{NAME}", status=503))
    await r.deliver(alert_payload(freeze_alert("resolved"), status="resolved"))
    await r.later(600)
    [unfreeze] = [s for s in await r.steps("aa11bb22cc33dd44", "remediation") if s["name"] == "UNFREEZE"]
    assert [a["status"] for a in unfreeze["attempts"]] == ["retry", "succeeded"]
    assert not paused(cluster)
