"""Which deployments an action touches on the real server: selectors it resolves, guards that refuse."""

import pytest

from responder.targets import Target
from tests.kube.alerts import alert, writes
from tests.kube.cluster import RESPONDER, RealCluster
from tests.kube.conftest import MakeRig, allowed_in
from tests.kube.objects import Admin, create_deployment, read_deployment

pytestmark = pytest.mark.kube


def fleet(admin: Admin, namespace: str) -> None:
    create_deployment(admin, namespace, "web-a", labels={"app": "web-a", "tier": "web"})
    create_deployment(admin, namespace, "web-b", labels={"app": "web-b", "tier": "web"})
    create_deployment(admin, namespace, "worker", labels={"app": "worker", "tier": "batch"})


@pytest.mark.parametrize(
    ("selector", "matched"),
    [("tier=web", ["web-a", "web-b"]), ("tier in (web,batch),app!=web-b", ["web-a", "worker"]), ("!tier", [])],
)
async def test_a_selector_is_resolved_by_the_real_server_and_only_what_it_matches_is_frozen(
    rig: MakeRig, admin: Admin, namespace: str, selector: str, matched: list[str]
) -> None:
    fleet(admin, namespace)
    r = await rig()
    await r.deliver(alert("FREEZE_DEPLOYMENTS", namespace, selector=selector))
    [step] = await r.steps(kind="remediation")
    detail = step["attempts"][-1]["detail"]
    if matched:
        assert (step["status"], detail["resolved"]) == ("succeeded", [f"{namespace}/{name}" for name in matched])
    else:
        assert (step["status"], detail["refused"]["guard"]) == ("failed", "no_target")
    paused = [
        name for name in ("web-a", "web-b", "worker") if read_deployment(admin, namespace, name)["spec"].get("paused")
    ]
    assert paused == matched


async def test_a_selector_matching_more_than_max_targets_is_refused_and_nothing_is_written(
    rig: MakeRig, real_cluster: RealCluster, admin: Admin, namespace: str
) -> None:
    fleet(admin, namespace)
    r = await rig({"actions.EMERGENCY_STOP.max_targets": 1})
    await r.deliver(alert("EMERGENCY_STOP", namespace, selector="tier=web"))
    [step] = await r.steps(kind="remediation")
    refused = step["attempts"][-1]["detail"]["refused"]
    assert (step["status"], refused["guard"]) == ("failed", "max_targets")
    assert "matches 2 deployments" in refused["reason"]
    assert writes(real_cluster, namespace) == []
    assert [read_deployment(admin, namespace, n)["spec"]["replicas"] for n in ("web-a", "web-b")] == [3, 3]


async def test_a_protected_namespace_is_never_asked_anything_by_an_alert_or_a_person(
    rig: MakeRig, real_cluster: RealCluster, admin: Admin, namespace: str
) -> None:
    create_deployment(admin, "kube-system", "coredns-like", replicas=2)
    r = await rig(allowed_in(namespace, "kube-system"))
    await r.deliver(alert("EMERGENCY_STOP", "kube-system", "coredns-like"))
    undo = await r.responder.operator.restore(Target("kube-system", "coredns-like"), "cli:mallory")
    assert read_deployment(admin, "kube-system", "coredns-like")["spec"]["replicas"] == 2
    assert real_cluster.audit("kube-system", RESPONDER) == []
    assert await r.steps(kind="remediation") == []
    assert any("(protected_namespace)" in s["params"].get("reason", "") for s in await r.steps(kind="escalation"))
    assert not undo.ok and "refused (protected_namespace)" in undo.message
