"""Every guard, against the fake cluster: it refuses without a single API write and pages at once."""

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from responder.targets import Target
from responder.vocabulary import Undo
from tests.conftest import alert_payload, cost_alert
from tests.fakes.kube import Cluster, Fault
from tests.fakes.slack import TOKEN as SLACK_TOKEN
from tests.fakes.slack import FakeSlack
from tests.fakes.thread import AppThread
from tests.unit.remediation.conftest import Rig

MakeRig = Callable[..., Awaitable[Rig]]
FP = "4f1c2a9e8d7b6c5a"


async def pages(r: Rig, fingerprint: str = "4f1c2a9e8d7b6c5a") -> list[dict[str, Any]]:
    return [s for s in await r.steps(fingerprint, "escalation") if "refused" in s["params"].get("reason", "")]


@pytest.mark.parametrize(
    ("guard", "changes", "annotations"),
    [
        ("allow_list", {"actions.EMERGENCY_STOP.allowed_namespaces": ["shop"]}, {}),
        ("protected_namespace", {"protected_namespaces": ["autogen-council"]}, {}),
        ("disabled", {"actions.EMERGENCY_STOP.mode": "disabled"}, {}),
        ("no_target", {}, {"target_namespace": "", "target_deployment": ""}),
    ],
)
async def test_a_guard_refuses_before_any_api_call_and_the_page_says_why(
    rig: MakeRig, cluster: Cluster, guard: str, changes: dict[str, Any], annotations: dict[str, str]
) -> None:
    r = await rig(changes)
    await r.deliver(alert_payload(cost_alert(**annotations)))
    assert cluster.fake.seen == []
    told = await pages(r)
    assert {s["name"] for s in told} == {"slack", "pagerduty", "sms"}
    assert all(f"({guard})" in s["params"]["reason"] for s in told)
    assert r.responder.metrics.registry.get_sample_value("responder_guard_refusals_total", {"reason": guard}) == 1


async def test_the_cooldown_refuses_a_second_stop_of_the_same_target(rig: MakeRig, cluster: Cluster) -> None:
    r = await rig()
    await r.deliver(alert_payload(cost_alert()))
    cluster.fake.set_replicas("autogen-council", "o3-audit-proxy", 3)  # someone scaled it back by hand
    await r.later(60)
    await r.deliver(alert_payload(cost_alert(starts_at="2026-11-23T14:00:00Z")))
    assert len(cluster.fake.patches("deployments/scale")) == 1
    assert "(cooldown)" in (await pages(r))[0]["params"]["reason"]


async def test_the_circuit_breaker_opens_after_max_mutations_in_the_window(rig: MakeRig, cluster: Cluster) -> None:
    r = await rig({"circuit_breaker": {"max_mutations": 1, "window": "10m"}})
    first = cost_alert()
    second = cost_alert(fingerprint="9a9a9a9a9a9a9a9a", target_namespace="shop", target_deployment="cart")
    await r.deliver(alert_payload(first, second))
    assert len(cluster.fake.patches("deployments/scale")) == 1
    assert "(circuit_breaker)" in (await pages(r, "9a9a9a9a9a9a9a9a"))[0]["params"]["reason"]


WEB = {"target_namespace": "shop", "target_deployment": "", "target_selector": "tier=web"}


async def test_the_circuit_breaker_counts_every_deployment_a_selector_changes_as_it_changes_them(
    rig: MakeRig, cluster: Cluster
) -> None:
    """Planning counts a selector's step once; what it matches is known only as it runs, and the
    breaker stops it at the budget, not after it."""
    for name in ("search", "reviews", "images"):
        cluster.fake.add_deployment("shop", name, replicas=1, labels={"tier": "web"})
    r = await rig({"circuit_breaker": {"max_mutations": 4, "window": "10m"}})
    await r.deliver(alert_payload(cost_alert(**WEB)))
    assert len(cluster.fake.patches("deployments/scale")) == 4, "five deployments matched; the budget is four"
    [stop] = await r.steps(kind="remediation")
    assert stop["attempts"][-1]["detail"]["refused"]["guard"] == "circuit_breaker"
    metric = r.responder.metrics.registry.get_sample_value
    assert metric("responder_guard_refusals_total", {"reason": "circuit_breaker"}) == 1
    await r.later(60)
    await r.deliver(alert_payload(cost_alert(fingerprint="9a9a9a9a9a9a9a9a")))
    assert len(cluster.fake.patches("deployments/scale")) == 4, "four changes spent the budget"
    assert "(circuit_breaker)" in (await pages(r, "9a9a9a9a9a9a9a9a"))[0]["params"]["reason"]


async def test_a_deployment_changed_through_a_selector_is_in_cooldown_when_named_directly(
    rig: MakeRig, cluster: Cluster
) -> None:
    r = await rig()
    await r.deliver(alert_payload(cost_alert(**WEB)))
    cluster.fake.set_replicas("shop", "cart", 4)  # someone scaled it back by hand
    await r.later(60)
    direct = cost_alert(fingerprint="9a9a9a9a9a9a9a9a", target_namespace="shop", target_deployment="cart")
    await r.deliver(alert_payload(direct))
    assert [name for _, name, _ in cluster.fake.patches("deployments/scale")] == ["cart", "checkout"]
    assert "shop/cart was changed 60s ago" in (await pages(r, "9a9a9a9a9a9a9a9a"))[0]["params"]["reason"]


async def test_a_selector_leaves_alone_a_deployment_in_cooldown_and_says_so(rig: MakeRig, cluster: Cluster) -> None:
    r = await rig()
    await r.deliver(alert_payload(cost_alert(target_namespace="shop", target_deployment="cart")))
    cluster.fake.set_replicas("shop", "cart", 4)  # someone scaled it back by hand
    await r.later(60)
    await r.deliver(alert_payload(cost_alert(fingerprint="9a9a9a9a9a9a9a9a", **WEB)))
    assert [name for _, name, _ in cluster.fake.patches("deployments/scale")] == ["cart", "checkout"]
    [stop] = await r.steps("9a9a9a9a9a9a9a9a", kind="remediation")
    assert stop["status"] == "failed"
    assert "shop/cart was changed 60s ago" in stop["attempts"][0]["detail"]["refused"]["reason"]
    assert r.responder.metrics.registry.get_sample_value("responder_guard_refusals_total", {"reason": "cooldown"}) == 1
    rungs = await r.steps("9a9a9a9a9a9a9a9a", "escalation")
    assert {s["name"] for s in rungs if s["params"]["event"] == "remediation_failed"} == {"slack", "pagerduty", "sms"}


async def test_a_selector_is_resolved_and_the_resolved_list_recorded(rig: MakeRig, cluster: Cluster) -> None:
    r = await rig()
    alert = cost_alert(
        action="FREEZE_DEPLOYMENTS", target_namespace="shop", target_deployment="", target_selector="tier=web"
    )
    await r.deliver(alert_payload(alert))
    [freeze] = await r.steps(kind="remediation")
    assert freeze["attempts"][0]["detail"]["resolved"] == ["shop/cart", "shop/checkout"]
    assert all(cluster.fake.deployment("shop", n)["spec"]["paused"] for n in ("cart", "checkout"))


async def test_a_selector_that_suddenly_matches_too_many_deployments_is_refused_not_obeyed(
    rig: MakeRig, cluster: Cluster
) -> None:
    r = await rig({"actions.EMERGENCY_STOP.max_targets": 1})
    alert = cost_alert(target_namespace="shop", target_deployment="", target_selector="tier=web")
    await r.deliver(alert_payload(alert))
    [stop] = await r.steps(kind="remediation")
    assert stop["status"] == "failed"
    assert (
        "matches 2 deployments in shop, more than max_targets 1" in stop["attempts"][0]["detail"]["refused"]["reason"]
    )
    assert cluster.fake.writes == []
    assert (
        r.responder.metrics.registry.get_sample_value("responder_guard_refusals_total", {"reason": "max_targets"}) == 1
    )
    failed = [s for s in await r.steps(kind="escalation") if s["params"]["event"] == "remediation_failed"]
    assert {s["name"] for s in failed} == {"slack", "pagerduty", "sms"}


async def test_labels_name_a_target_only_where_the_policy_allows_label_targets(rig: MakeRig, cluster: Cluster) -> None:
    alert = cost_alert(target_namespace="", target_deployment="")
    alert["labels"].update({"namespace": "shop", "deployment": "cart"})
    r = await rig()
    await r.deliver(alert_payload(alert))
    assert cluster.fake.writes == [], "labels come from metric data: not trusted by default"
    assert "(no_target)" in (await pages(r))[0]["params"]["reason"]


async def test_label_targets_when_allowed_still_meet_the_allow_list(rig: MakeRig, cluster: Cluster) -> None:
    alert = cost_alert(target_namespace="", target_deployment="")
    alert["labels"].update({"namespace": "kube-system", "deployment": "coredns"})
    r = await rig({"actions.EMERGENCY_STOP.label_targets": True})
    await r.deliver(alert_payload(alert))
    assert cluster.fake.seen == []
    assert "(protected_namespace)" in (await pages(r))[0]["params"]["reason"]


async def test_the_emergency_hook_is_called_once_and_retried_on_a_server_error(rig: MakeRig, cluster: Cluster) -> None:
    calls: list[dict[str, Any]] = []
    keys: list[str | None] = []

    async def emergency_stop(request: web.Request) -> web.Response:
        calls.append(await request.json())
        keys.append(request.headers.get("Idempotency-Key"))
        if len(calls) == 1:
            return web.json_response({"error": "busy"}, status=503)
        return web.json_response({"stopped": True})

    app = web.Application()
    app.router.add_post("/emergency_stop", emergency_stop)
    with AppThread(app) as hook:
        r = await rig({"actions.EMERGENCY_STOP.hook": {"url": f"{hook.url}/emergency_stop", "timeout": "2s"}})
        await r.deliver(alert_payload(cost_alert()))
        await r.later(400)
    [hook_step] = [s for s in await r.steps(kind="remediation") if s["name"] == "EMERGENCY_HOOK"]
    assert [a["status"] for a in hook_step["attempts"]] == ["retry", "succeeded"]
    assert calls[0]["fingerprint"] == "4f1c2a9e8d7b6c5a"
    assert calls[0]["targets"] == [{"namespace": "autogen-council", "deployment": "o3-audit-proxy"}]
    assert keys[0] is not None and keys == [keys[0]] * 2, "every attempt of the step sends the same key"
    assert keys[0].startswith("alert-responder-") and keys[0].rsplit("-", 1)[1].isdigit(), keys[0]


async def test_a_retry_acts_only_on_the_deployments_the_failed_attempt_did_not_finish(
    rig: MakeRig, cluster: Cluster
) -> None:
    cluster.fake.inject(Fault("PATCH", "/checkout/scale", status=503))
    r = await rig()
    await r.deliver(
        alert_payload(cost_alert(target_namespace="shop", target_deployment="", target_selector="tier=web"))
    )
    assert cluster.fake.deployment("shop", "cart")["spec"]["replicas"] == 0
    assert (await r.responder.operator.restore(Target("shop", "cart"), "cli:alice")).ok
    await r.later(400)
    [stop] = await r.steps(kind="remediation")
    assert [a["status"] for a in stop["attempts"]] == ["retry", "succeeded"]
    scaled = [(name, patch["spec"]["replicas"]) for _, name, patch in cluster.fake.patches("deployments/scale")]
    assert scaled == [("cart", 0), ("cart", 4), ("checkout", 0)], "the restored deployment was not stopped again"


async def test_a_step_cut_short_after_changing_some_deployments_already_holds_them(
    rig: MakeRig, cluster: Cluster
) -> None:
    cluster.fake.inject(Fault("PATCH", "/checkout/scale", status=0, delay=3.0))
    r = await rig({"workers.step_timeout": "1s"})
    await r.deliver(alert_payload(cost_alert(**WEB)))
    [stop] = await r.steps(kind="remediation")
    assert [a["status"] for a in stop["attempts"]] == ["retry"], "the step timed out"
    held = [(h["deployment"], h["replicas"]) for h in await r.responder.journal.holds("stopped")]
    assert held == [("cart", 4)], "the deployment stopped before the timeout is on the stop list now"


async def test_giving_up_keeps_what_the_last_attempt_did_so_the_gate_still_says_frozen(
    rig: MakeRig, cluster: Cluster
) -> None:
    cluster.fake.inject(Fault("PATCH", "/deployments/checkout", status=503, times=100))
    r = await rig({"workers.max_attempts": 2})
    alert = cost_alert(
        action="FREEZE_DEPLOYMENTS", target_namespace="shop", target_deployment="", target_selector="tier=web"
    )
    await r.deliver(alert_payload(alert))
    await r.later(400)
    [freeze] = await r.steps(kind="remediation")
    assert freeze["status"] == "failed"
    assert [h["deployment"] for h in await r.responder.journal.holds("frozen")] == ["cart"]


async def test_the_emergency_hook_in_plan_mode_says_what_it_would_call(rig: MakeRig, cluster: Cluster) -> None:
    r = await rig({"actions.EMERGENCY_STOP.hook": {"url": "http://127.0.0.1:9/emergency_stop"}}, mode="plan")
    await r.deliver(alert_payload(cost_alert()))
    [hook] = [s for s in await r.steps(kind="remediation") if s["name"] == "EMERGENCY_HOOK"]
    assert hook["status"] == "succeeded"
    assert "call the emergency hook about deployment o3-audit-proxy" in hook["attempts"][0]["detail"]["would"]


async def test_a_human_undo_outside_the_policy_is_refused_without_touching_the_cluster(
    rig: MakeRig, cluster: Cluster
) -> None:
    r = await rig()
    result = await r.responder.operator.restore(Target("kube-system", "coredns"), "cli:mallory")
    assert not result.ok and "refused (protected_namespace)" in result.message
    assert cluster.fake.seen == []


async def test_unfreezing_a_deployment_that_is_gone_lifts_its_hold(rig: MakeRig, cluster: Cluster) -> None:
    r = await rig()
    alert = cost_alert(action="FREEZE_DEPLOYMENTS", target_namespace="shop", target_deployment="cart")
    await r.deliver(alert_payload(alert))
    assert await r.responder.journal.holds("frozen")
    del cluster.fake.objects["deployments"][("shop", "cart")]
    result = await r.responder.operator.unfreeze(Target("shop", "cart"), "cli:alice")
    assert not result.ok and "not found" in result.message
    assert await r.responder.journal.holds("frozen") == [], "otherwise the gate would answer 423 forever"


async def test_restore_from_slack_restores_what_the_alert_stopped_not_what_its_selector_matches_now(
    rig: MakeRig, cluster: Cluster
) -> None:
    """A selector resolved again at the button press could match a deployment another alert stopped."""
    with AppThread(FakeSlack().app()) as slack:
        settings = {"bot_token": SLACK_TOKEN, "base_url": slack.url + "/api/", "allowed_users": ["UALLOWED"]}
        r = await rig({"escalation.slack": settings})
        await r.deliver(alert_payload(cost_alert(**WEB)))
        cluster.fake.add_deployment("shop", "search", replicas=2, labels={"tier": "web"})
        other = cost_alert(fingerprint="9a9a9a9a9a9a9a9a", target_namespace="shop", target_deployment="search")
        await r.deliver(alert_payload(other))
        assert r.responder.escalation.slack is not None
        said = await r.responder.undo.from_slack(r.responder.escalation.slack, Undo.RESTORE, FP, "UALLOWED")
    assert "shop/cart" in said and "shop/checkout" in said and "search" not in said
    assert cluster.fake.deployment("shop", "search")["spec"]["replicas"] == 0, "the other alert's stop stands"
    assert cluster.fake.deployment("shop", "cart")["spec"]["replicas"] == 4
