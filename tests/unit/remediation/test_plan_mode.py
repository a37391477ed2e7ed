"""Plan mode answers a human undo and the deploy gate as a live responder would have."""

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from responder.remediation.plan import PlanRemediator
from responder.targets import Target
from responder.web.app import create_app
from tests.conftest import alert_payload, cost_alert
from tests.unit.remediation.conftest import Rig
from tests.unit.remediation.test_freeze import AUTH, NAME, NS, freeze_alert

MakeRig = Callable[..., Awaitable[Rig]]
STOPPED = Target("autogen-council", "o3-audit-proxy")


async def test_a_restore_or_unfreeze_of_what_no_plan_named_is_refused_as_live_refuses_it(rig: MakeRig) -> None:
    r = await rig(mode="plan")
    plan = PlanRemediator(r.responder.journal)
    never = await plan.restore(STOPPED, "bob")
    assert not never.ok and never.detail["refused"] == "not_stopped"
    assert "a live responder would not have stopped it and would refuse to restore it" in never.message
    assert not (await plan.unfreeze(Target(NS, NAME), "bob")).ok

    await r.deliver(alert_payload(cost_alert(), freeze_alert()))
    restored = await plan.restore(STOPPED, "bob")
    assert restored.ok and restored.message.startswith("plan mode: would scale deployment o3-audit-proxy")
    assert (await plan.unfreeze(Target(NS, NAME), "bob")).ok
    assert not (await plan.restore(Target("autogen-council", "other"), "bob")).ok, "another deployment"


async def test_the_gate_in_plan_mode_says_a_live_responder_would_have_frozen_it(
    rig: MakeRig, aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]
) -> None:
    r = await rig(mode="plan", start=False)
    client = await aiohttp_client(create_app(r.responder))

    async def gate(path: str) -> str:
        answer = await client.get(f"/api/v1/freezes/{path}", headers=AUTH)
        assert answer.status == 200, "plan mode freezes nothing"
        detail: str = (await answer.json())["detail"]
        return detail

    assert await gate(f"{NS}/{NAME}") == f"deploys to {NS}/{NAME} may proceed"
    await r.deliver(alert_payload(freeze_alert()))
    would = "FREEZE_DEPLOYMENTS is not live, so nothing is frozen; a live responder would have frozen it for Canary"
    assert await gate(f"{NS}/{NAME}") == f"deploys to {NS}/{NAME} may proceed: {would}"
    assert (await gate(NS)).endswith(would)
    assert await gate(f"{NS}/cart") == f"deploys to {NS}/cart may proceed", "another deployment"
    await r.deliver(alert_payload(freeze_alert("resolved"), status="resolved"))
    assert await gate(f"{NS}/{NAME}") == f"deploys to {NS}/{NAME} may proceed", "the gate speaks of firing alerts"


async def test_the_operator_in_plan_mode_refuses_to_restore_what_was_never_stopped(rig: MakeRig) -> None:
    r = await rig(mode="plan")
    refused = await r.responder.operator.restore(STOPPED, "bob")
    assert not refused.ok and "would not have stopped it" in refused.message
    await r.deliver(alert_payload(cost_alert()))
    assert (await r.responder.operator.restore(STOPPED, "bob")).ok
