"""EMERGENCY_STOP and restore through the real kubernetes client against the fake API."""

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from responder.policy import Policy, PolicyError, describe
from responder.remediation.objects import STOPPED
from responder.service import build_responder
from responder.targets import Target
from responder.web.app import create_app
from tests.conftest import TOKEN, alert_payload, cost_alert, default_threads_held
from tests.fakes.kube import Cluster, Fault
from tests.unit.remediation.conftest import KUBE_TOKEN, Rig

NS, NAME = "autogen-council", "o3-audit-proxy"
MakeRig = Callable[..., Awaitable[Rig]]
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def record(cluster: Cluster) -> dict[str, object] | None:
    raw = cluster.fake.deployment(NS, NAME)["metadata"]["annotations"].get(STOPPED)
    return json.loads(raw) if raw else None


async def test_an_emergency_stop_records_the_replicas_on_the_object_then_scales_to_zero(
    rig: MakeRig, cluster: Cluster
) -> None:
    r = await rig()
    await r.deliver(alert_payload(cost_alert()))
    deployment = cluster.fake.deployment(NS, NAME)
    assert deployment["spec"]["replicas"] == 0
    assert record(cluster) == {
        "alert": "CostBudgetExceeded",
        "holder": "4f1c2a9e8d7b6c5a@2026-11-23T13:00:00.123456Z",
        "reason": "Daily cost budget exceeded",
        "replicas": 3,
        "since": "2027-01-15T08:00:00+00:00",
    }
    [stop] = await r.steps(kind="remediation")
    assert stop["status"] == "succeeded"
    assert stop["attempts"][0]["detail"]["targets"][0]["replicas"] == {"from": 3, "to": 0}
    assert [h["deployment"] for h in await r.responder.journal.holds("stopped")] == [NAME]


async def test_a_stop_does_not_wait_for_the_loops_shared_threads(rig: MakeRig, cluster: Cluster) -> None:
    r = await rig()
    async with default_threads_held():
        await asyncio.wait_for(r.deliver(alert_payload(cost_alert())), timeout=10)
    assert cluster.fake.deployment(NS, NAME)["spec"]["replicas"] == 0


@pytest.mark.parametrize(
    "order", sorted(set(itertools.permutations(["firing"] * 4 + ["resolved"]))), ids=lambda o: "-".join(o)
)
async def test_one_instance_delivered_five_times_in_any_order_scales_down_at_most_once(
    rig: MakeRig, cluster: Cluster, order: tuple[str, ...]
) -> None:
    r = await rig()
    await r.deliver(*(alert_payload(cost_alert(s), status=s) for s in order))
    scales = cluster.fake.patches("deployments/scale")
    assert len(scales) == (0 if order[0] == "resolved" else 1)
    assert cluster.fake.deployment(NS, NAME)["spec"]["replicas"] == (3 if order[0] == "resolved" else 0)


async def test_restore_scales_back_to_the_recorded_count_clears_the_record_and_refuses_a_second_time(
    rig: MakeRig, cluster: Cluster
) -> None:
    r = await rig()
    await r.deliver(alert_payload(cost_alert()), alert_payload(cost_alert("resolved"), status="resolved"))
    assert cluster.fake.deployment(NS, NAME)["spec"]["replicas"] == 0, "a resolve restores nothing by itself"
    restored = await r.responder.operator.restore(Target(NS, NAME), "cli:alice")
    assert restored.ok, restored.message
    assert cluster.fake.deployment(NS, NAME)["spec"]["replicas"] == 3
    assert record(cluster) is None
    assert await r.responder.journal.holds("stopped") == []
    again = await r.responder.operator.restore(Target(NS, NAME), "cli:alice")
    assert not again.ok and "no recorded replica count" in again.message
    operations = await r.responder.journal.operations(10)
    assert [(o["actor"], o["op"], o["ok"]) for o in operations] == [
        ("cli:alice", "RESTORE", False),
        ("cli:alice", "RESTORE", True),
    ]


async def test_a_deployment_already_at_zero_is_left_alone_and_is_not_an_error(rig: MakeRig, cluster: Cluster) -> None:
    cluster.fake.set_replicas(NS, NAME, 0)
    r = await rig()
    await r.deliver(alert_payload(cost_alert()))
    [stop] = await r.steps(kind="remediation")
    assert stop["status"] == "succeeded"
    assert "already at 0 replicas" in stop["attempts"][0]["detail"]["targets"][0]["note"]
    assert cluster.fake.writes == []


async def test_a_scale_by_someone_else_between_read_and_write_is_seen_and_its_count_recorded(
    rig: MakeRig, cluster: Cluster
) -> None:
    cluster.fake.race(NS, NAME, replicas=5)
    r = await rig()
    await r.deliver(alert_payload(cost_alert()))
    assert cluster.fake.deployment(NS, NAME)["spec"]["replicas"] == 0
    assert record(cluster)["replicas"] == 5  # type: ignore[index]
    [stop] = await r.steps(kind="remediation")
    assert len(stop["attempts"]) == 1, "a 409 is retried at once with a fresh read, inside one attempt"


async def test_a_server_error_is_retried_with_backoff_and_the_stop_completes_when_the_api_recovers(
    rig: MakeRig, cluster: Cluster
) -> None:
    cluster.fake.inject(Fault("PATCH", "/scale", status=503, times=2))
    r = await rig()
    await r.deliver(alert_payload(cost_alert()))
    for _ in range(3):
        await r.later(400)
    [stop] = await r.steps(kind="remediation")
    assert [a["status"] for a in stop["attempts"]] == ["retry", "retry", "succeeded"]
    assert "answered 503" in stop["attempts"][0]["detail"]["targets"][0]["error"]
    assert cluster.fake.deployment(NS, NAME)["spec"]["replicas"] == 0
    assert len(cluster.fake.patches("deployments/scale")) == 1


async def test_an_api_server_that_does_not_answer_in_time_is_retried(rig: MakeRig, cluster: Cluster) -> None:
    cluster.fake.inject(Fault("GET", f"/deployments/{NAME}", status=0, delay=3.0))
    r = await rig()
    await r.deliver(alert_payload(cost_alert()))
    await r.later(400)
    [stop] = await r.steps(kind="remediation")
    assert [a["status"] for a in stop["attempts"]] == ["retry", "succeeded"]
    assert "no answer from the API server" in stop["attempts"][0]["detail"]["targets"][0]["error"]


async def test_rbac_refusal_is_not_retried_and_pages_with_the_missing_permission(
    rig: MakeRig, cluster: Cluster
) -> None:
    cluster.fake.forbid(NS, "patch", "deployments/scale")
    r = await rig()
    await r.deliver(alert_payload(cost_alert()))
    await r.later(400)
    steps = await r.steps()
    [stop] = [s for s in steps if s["kind"] == "remediation"]
    assert [a["status"] for a in stop["attempts"]] == ["failed"]
    error = stop["attempts"][0]["detail"]["error"]
    assert "'patch' on 'deployments/scale' (API group 'apps') in namespace autogen-council" in error
    pages = [s for s in steps if s["params"].get("event") == "remediation_failed"]
    assert {p["name"] for p in pages} == {"slack", "pagerduty", "sms"}
    assert r.responder.metrics.registry.get_sample_value("responder_guard_refusals_total", {"reason": "rbac"}) == 1


async def test_a_missing_deployment_is_not_retried_and_the_page_names_it(rig: MakeRig, cluster: Cluster) -> None:
    r = await rig()
    await r.deliver(alert_payload(cost_alert(target_deployment="o3-gone")))
    [stop] = await r.steps(kind="remediation")
    assert [a["status"] for a in stop["attempts"]] == ["failed"]
    assert 'deployments.apps "o3-gone" not found' in stop["attempts"][0]["detail"]["error"]


async def test_server_dry_run_sends_every_write_with_dry_run_all_and_changes_nothing(
    rig: MakeRig, cluster: Cluster
) -> None:
    r = await rig(mode="server")
    await r.deliver(alert_payload(cost_alert()))
    [stop] = await r.steps(kind="remediation")
    assert stop["status"] == "succeeded"
    patches = [s for s in cluster.fake.seen if s.verb == "patch"]
    assert {(s.resource, s.dry_run) for s in patches} == {("deployments", True), ("deployments/scale", True)}
    assert cluster.fake.writes == [] and cluster.fake.deployment(NS, NAME)["spec"]["replicas"] == 3
    assert await r.responder.journal.holds() == []


async def test_plan_mode_never_calls_the_api(rig: MakeRig, cluster: Cluster) -> None:
    r = await rig(mode="plan")
    await r.deliver(alert_payload(cost_alert()))
    [stop] = await r.steps(kind="remediation")
    assert "scale it to 0" in stop["attempts"][0]["detail"]["would"]
    assert cluster.fake.seen == []


async def test_a_kubeconfig_file_reaches_the_cluster_as_well_as_an_explicit_host(
    rig: MakeRig, cluster: Cluster, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fake", "cluster": {"server": cluster.url}}],
                "users": [{"name": "responder", "user": {"token": KUBE_TOKEN}}],
                "contexts": [{"name": "test", "context": {"cluster": "fake", "user": "responder"}}],
                "current-context": "test",
            }
        )
    )
    r = await rig({"kubernetes": {"kubeconfig": str(kubeconfig), "context": "test"}})
    await r.deliver(alert_payload(cost_alert()))
    assert cluster.fake.deployment(NS, NAME)["spec"]["replicas"] == 0


def test_a_cluster_configuration_that_cannot_load_is_a_policy_error_that_says_where_to_look(
    live_policy: Callable[..., Policy], tmp_path: Path
) -> None:
    policy = live_policy({"kubernetes": {"kubeconfig": str(tmp_path / "missing")}})
    with pytest.raises(PolicyError) as raised:
        build_responder(policy)
    assert "cannot load the cluster configuration" in raised.value.problems[0]
    assert "check the kubeconfig path" in raised.value.problems[0]
    assert f"Cluster: kubeconfig {tmp_path / 'missing'}" in describe(policy)


async def test_a_stop_that_failed_while_its_alert_resolved_is_not_retried_after_the_resolve(
    rig: MakeRig, cluster: Cluster, aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]]
) -> None:
    """The resolve cancels every remediation not yet run, so nothing acts after it; a stop that
    was running then and failed transiently went back to pending and scaled down afterwards."""
    r = await rig(start=False)
    client = await aiohttp_client(create_app(r.responder))
    cluster.fake.inject(Fault("PATCH", "/scale", status=503, delay=0.5))
    for status in ("firing", "resolved"):
        answer = await client.post("/webhook", json=alert_payload(cost_alert(status), status=status), headers=AUTH)
        assert answer.status == 200, await answer.text()
    for _ in range(100):
        [stop] = await r.steps(kind="remediation")
        if stop["attempts"]:
            break
        await asyncio.sleep(0.05)
    assert [a["status"] for a in stop["attempts"]] == ["retry"]
    assert stop["status"] == "cancelled"
    await r.later(600)
    [stop] = await r.steps(kind="remediation")
    assert len(stop["attempts"]) == 1
    assert cluster.fake.deployment(NS, NAME)["spec"]["replicas"] == 3
