"""INVESTIGATE against the real API server: rollout, ReplicaSets, pods and Warning events as the server has them.

With no kubelet the real server cannot serve pod logs, so `pods/log` goes to the fake through the proxy
(`tests.kube.proxy`); every other read is the real server's answer. The logs themselves (tails, `previous`,
limits, redaction) are covered against the fake in tests/unit/remediation/test_investigate.py.
"""

import pytest

from tests.fakes.kube import FakeKube
from tests.kube.alerts import alert
from tests.kube.cluster import RESPONDER, RealCluster
from tests.kube.conftest import MakeRig
from tests.kube.objects import Admin, crash_looping, create_deployment, event, pod_names
from tests.kube.proxy import proxied

pytestmark = pytest.mark.kube


async def test_investigate_reads_the_rollout_replicasets_pods_and_warning_events_from_the_real_server(
    rig: MakeRig, real_cluster: RealCluster, admin: Admin, namespace: str
) -> None:
    create_deployment(admin, namespace, "web", replicas=2)
    crashing = pod_names(admin, namespace, "web")[0]
    crash_looping(admin, namespace, crashing)
    event(admin, namespace, crashing, "Warning", "BackOff", "Back-off restarting failed container, token=abc123xyz")
    event(admin, namespace, crashing, "Normal", "Pulled", "image pulled")
    logs = FakeKube()
    logs.add("pods", {"metadata": {"name": crashing, "namespace": namespace}})
    logs.logs[(namespace, crashing, "main", True)] = "starting\nDB_PASSWORD=hunter2\nout of memory\n"

    with proxied(real_cluster, logs) as proxy:
        r = await rig({"kubernetes.host": proxy.url})
        await r.deliver(alert("INVESTIGATE", namespace, "web"))
    [step] = await r.steps(kind="remediation")
    assert step["status"] == "succeeded", step
    [found] = step["attempts"][-1]["detail"]["findings"]

    assert (found["rollout"]["replicas"], found["rollout"]["paused"], found["rollout"]["up_to_date"]) == (
        2,
        False,
        True,
    )
    [replicaset] = found["replicasets"]
    assert (replicaset["revision"], replicaset["images"]) == ("1", ["registry.invalid/web:1"])
    assert found["pods"]["total"] == 2
    worst = found["pods"]["unhealthy"][0]
    assert (worst["pod"], worst["phase"]) == (crashing, "Running")
    assert worst["containers"][0]["restarts"] == 7
    assert worst["containers"][0]["last_terminated"]["reason"] == "OOMKilled"
    assert [(e["object"], e["reason"]) for e in found["events"]] == [(f"Pod/{crashing}", "BackOff")], "Warnings only"
    assert "abc123xyz" not in found["events"][0]["message"]
    [log] = found["logs"]
    assert (log["pod"], log["previous"]) == (crashing, True)
    assert log["lines"] == ["starting", "DB_PASSWORD=[REDACTED]", "out of memory"]

    asked = {(e["verb"], e["objectRef"]["resource"]) for e in real_cluster.audit(namespace, RESPONDER)}
    assert asked == {("get", "deployments"), ("list", "replicasets"), ("list", "pods"), ("list", "events")}
