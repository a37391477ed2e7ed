"""EMERGENCY_STOP and restore against the real API server: the scale subresource, conditional writes, dry-run."""

import json

import pytest

from responder.remediation.objects import STOPPED
from responder.targets import Target
from tests.fakes.kube import FakeKube
from tests.kube.alerts import alert, settled_writes, writes
from tests.kube.cluster import RealCluster
from tests.kube.conftest import MakeRig
from tests.kube.objects import Admin, create_deployment, patch_deployment, read_deployment, settled
from tests.kube.proxy import proxied

pytestmark = pytest.mark.kube


def record(deployment: dict[str, object]) -> dict[str, object] | None:
    raw = (deployment["metadata"].get("annotations") or {}).get(STOPPED)  # type: ignore[attr-defined]
    return json.loads(raw) if raw else None


async def test_a_stop_records_the_count_then_scales_to_zero_through_the_scale_subresource_and_restore_undoes_it(
    rig: MakeRig, real_cluster: RealCluster, admin: Admin, namespace: str
) -> None:
    create_deployment(admin, namespace, "web", replicas=3)
    r = await rig()
    await r.deliver(alert("EMERGENCY_STOP", namespace, "web"))
    stopped = read_deployment(admin, namespace, "web")
    assert stopped["spec"]["replicas"] == 0
    assert (record(stopped) or {})["replicas"] == 3
    [step] = await r.steps(kind="remediation")
    assert (step["status"], len(step["attempts"])) == ("succeeded", 1), step
    stop_writes = writes(real_cluster, namespace)
    assert settled_writes(stop_writes) == [
        ("patch", "deployments", 200, False),
        ("patch", "deployments/scale", 200, False),
    ]

    settled(admin, namespace, "web")  # a person restores later, not while the controller scales down
    restored = await r.responder.operator.restore(Target(namespace, "web"), "cli:alice")
    assert restored.ok, restored.message
    back = read_deployment(admin, namespace, "web")
    assert (back["spec"]["replicas"], record(back)) == (3, None)
    undo = writes(real_cluster, namespace)[len(stop_writes) :]
    assert settled_writes(undo) == [("patch", "deployments/scale", 200, False), ("patch", "deployments", 200, False)]


async def test_a_change_between_read_and_write_meets_a_real_409_and_the_retry_records_the_new_count(
    rig: MakeRig, real_cluster: RealCluster, admin: Admin, namespace: str
) -> None:
    create_deployment(admin, namespace, "web", replicas=3)
    with proxied(real_cluster, FakeKube()) as proxy:
        path = f"/apis/apps/v1/namespaces/{namespace}/deployments/web"
        proxy.race(path, lambda: patch_deployment(admin, namespace, "web", {"spec": {"replicas": 5}}))
        r = await rig({"kubernetes.host": proxy.url})
        await r.deliver(alert("EMERGENCY_STOP", namespace, "web"))
    stopped = read_deployment(admin, namespace, "web")
    assert stopped["spec"]["replicas"] == 0
    assert (record(stopped) or {})["replicas"] == 5, "the record holds the count read after the conflict"
    seen = writes(real_cluster, namespace)
    assert seen[0] == ("patch", "deployments", 409, False), "the stale conditional write met the server's 409"
    assert settled_writes(seen) == [("patch", "deployments", 200, False), ("patch", "deployments/scale", 200, False)]
    [step] = await r.steps(kind="remediation")
    assert (step["status"], len(step["attempts"])) == ("succeeded", 1), step


async def test_a_deployment_already_at_zero_is_left_alone(
    rig: MakeRig, real_cluster: RealCluster, admin: Admin, namespace: str
) -> None:
    before = create_deployment(admin, namespace, "idle", replicas=0)
    r = await rig()
    await r.deliver(alert("EMERGENCY_STOP", namespace, "idle"))
    after = read_deployment(admin, namespace, "idle")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert writes(real_cluster, namespace) == []
    [step] = await r.steps(kind="remediation")
    assert "already at 0 replicas" in step["attempts"][-1]["detail"]["targets"][0]["note"]


async def test_server_mode_sends_both_writes_as_dry_runs_the_server_admits_and_changes_nothing(
    rig: MakeRig, real_cluster: RealCluster, admin: Admin, namespace: str
) -> None:
    before = create_deployment(admin, namespace, "web", replicas=3)
    r = await rig(mode="server")
    await r.deliver(alert("EMERGENCY_STOP", namespace, "web"))
    [step] = await r.steps(kind="remediation")
    assert step["status"] == "succeeded", step
    assert writes(real_cluster, namespace) == [
        ("patch", "deployments", 200, True),
        ("patch", "deployments/scale", 200, True),
    ]
    after = read_deployment(admin, namespace, "web")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert (after["spec"]["replicas"], record(after)) == (3, None)


async def test_a_restore_whose_last_write_meets_a_conflict_still_reports_the_count_it_scaled_from(
    rig: MakeRig, real_cluster: RealCluster, admin: Admin, namespace: str
) -> None:
    create_deployment(admin, namespace, "web", replicas=3)
    with proxied(real_cluster, FakeKube()) as proxy:
        r = await rig({"kubernetes.host": proxy.url})
        await r.deliver(alert("EMERGENCY_STOP", namespace, "web"))
        settled(admin, namespace, "web")
        # The deployment controller's status write after restore's scale, made certain: after restore's
        # read and scale, its re-read is followed by a write, and its clearing patch meets a 409.
        touch = {"metadata": {"labels": {"touched": "yes"}}}
        path = f"/apis/apps/v1/namespaces/{namespace}/deployments/web"
        proxy.race(path, lambda: patch_deployment(admin, namespace, "web", touch), after=1)
        restored = await r.responder.operator.restore(Target(namespace, "web"), "cli:alice")
    assert restored.ok, restored.message
    assert ("patch", "deployments", 409, False) in writes(real_cluster, namespace)
    assert restored.detail["targets"][0]["replicas"] == {"from": 0, "to": 3}
