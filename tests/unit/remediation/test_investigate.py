"""INVESTIGATE: the evidence an engineer looks at first, bounded and redacted."""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from responder.remediation.investigate import redact
from tests.conftest import alert_payload, cost_alert
from tests.fakes.kube import Cluster
from tests.unit.remediation.conftest import Rig

MakeRig = Callable[..., Awaitable[Rig]]
NS, NAME = "shop", "checkout"


def crashlooping_checkout(cluster: Cluster, log_lines: int = 40) -> None:
    fake = cluster.fake
    uid = fake.deployment(NS, NAME)["metadata"]["uid"]
    for revision, image in ((1, "checkout:1"), (2, "checkout:2")):
        fake.add(
            "replicasets",
            {
                "metadata": {
                    "name": f"checkout-r{revision}",
                    "namespace": NS,
                    "labels": {"app": "checkout"},
                    "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                    "ownerReferences": [{"kind": "Deployment", "name": NAME, "uid": uid}],
                },
                "spec": {
                    "replicas": 2 if revision == 2 else 0,
                    "template": {"spec": {"containers": [{"image": image}]}},
                },
                "status": {"readyReplicas": 1 if revision == 2 else 0},
            },
        )
    fake.add("pods", pod("checkout-r2-healthy", ready=True, restarts=0))
    fake.add("pods", pod("checkout-r2-crashing", ready=False, restarts=7))
    fake.add(
        "pods",
        {
            **pod("other-app", ready=False, restarts=3),
            "metadata": {"name": "other-app", "namespace": NS, "labels": {"app": "other"}},
        },
    )
    lines = [f"line {i}: processing order {i}" for i in range(log_lines)]
    lines[-2] = "connecting with password=hunter2 and Authorization: Bearer abcdefghijklmnop"
    fake.logs[(NS, "checkout-r2-crashing", "main", True)] = "\n".join(lines) + "\n"
    fake.add(
        "events",
        {
            "metadata": {"name": "ev1", "namespace": NS},
            "type": "Warning",
            "reason": "BackOff",
            "message": "Back-off restarting failed container main",
            "involvedObject": {"kind": "Pod", "name": "checkout-r2-crashing"},
            "count": 7,
            "lastTimestamp": "2026-11-23T13:00:00Z",
        },
    )
    fake.add(
        "events",
        {
            "metadata": {"name": "ev2", "namespace": NS},
            "type": "Warning",
            "reason": "Unrelated",
            "message": "about another app",
            "involvedObject": {"kind": "Pod", "name": "other-app"},
        },
    )


def pod(name: str, ready: bool, restarts: int) -> dict[str, Any]:
    last = {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": "2026-11-23T12:59:00Z"}}
    return {
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "checkout"}},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [
                {
                    "name": "main",
                    "ready": ready,
                    "restartCount": restarts,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}} if not ready else {"running": {}},
                    "lastState": last if restarts else {},
                }
            ],
        },
    }


def investigate_alert() -> dict[str, Any]:
    return cost_alert(action="INVESTIGATE", target_namespace=NS, target_deployment=NAME)


async def findings_of(r: Rig) -> dict[str, Any]:
    [step] = await r.steps(kind="remediation")
    assert step["status"] == "succeeded", step
    [findings] = step["attempts"][-1]["detail"]["findings"]
    return dict(findings)


async def test_investigate_collects_rollout_replicasets_unhealthy_pods_events_and_previous_logs(
    rig: MakeRig, cluster: Cluster
) -> None:
    crashlooping_checkout(cluster)
    r = await rig()
    await r.deliver(alert_payload(investigate_alert()))
    found = await findings_of(r)
    assert found["rollout"]["replicas"] == 2 and found["rollout"]["paused"] is False
    assert [rs["revision"] for rs in found["replicasets"]] == ["2", "1"]
    [sick] = found["pods"]["unhealthy"]
    assert sick["pod"] == "checkout-r2-crashing"
    assert sick["containers"][0]["waiting"] == "CrashLoopBackOff"
    assert sick["containers"][0]["last_terminated"]["reason"] == "OOMKilled"
    assert [e["reason"] for e in found["events"]] == ["BackOff"], "only events about this deployment's objects"
    [log] = found["logs"]
    assert log["previous"] is True and len(log["lines"]) == 40
    assert "hunter2" not in json.dumps(found) and "abcdefghijklmnop" not in json.dumps(found)
    assert [s.verb for s in cluster.fake.seen if s.verb == "patch"] == [], "INVESTIGATE never writes"


async def test_investigate_findings_stay_within_the_byte_bound(rig: MakeRig, cluster: Cluster) -> None:
    crashlooping_checkout(cluster, log_lines=400)
    r = await rig({"actions.INVESTIGATE.log_lines": 400, "actions.INVESTIGATE.evidence_bytes": 4096})
    await r.deliver(alert_payload(investigate_alert()))
    found = await findings_of(r)
    assert len(json.dumps(found)) <= 4096
    assert found["truncated"] is True and found["logs"][0]["lines"], "the newest lines are kept"
    assert found["logs"][0]["lines"][-1].startswith("line 399")


async def test_logs_the_responder_may_not_read_become_a_note_not_a_failure(rig: MakeRig, cluster: Cluster) -> None:
    crashlooping_checkout(cluster)
    cluster.fake.forbid(NS, "get", "pods/log")
    r = await rig()
    await r.deliver(alert_payload(investigate_alert()))
    found = await findings_of(r)
    assert "RBAC refused get pods/log" in found["logs"][0]["note"]
    assert found["pods"]["unhealthy"]


def test_redaction_hides_values_that_look_like_credentials_and_keeps_the_rest() -> None:
    line = (
        'level=error msg="login failed" password=s3cret token: abc123 api_key="k-9" '
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig "
        "dsn=postgres://app:pw123@db:5432/x key AKIAABCDEFGHIJKLMNOP"
    )
    out = redact(line)
    for secret in ("s3cret", "abc123", "k-9", "eyJhbGciOiJIUzI1NiJ9", "pw123", "AKIAABCDEFGHIJKLMNOP"):
        assert secret not in out
    assert 'msg="login failed"' in out and "postgres://app:[REDACTED]@db:5432/x" in out


def test_redaction_covers_prefixed_environment_names_and_whole_private_keys() -> None:
    text = (
        "DB_PASSWORD=hunter2 GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwx AWS_SECRET_ACCESS_KEY=abc/def+ghi\n"
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nz9y8x7w6\n-----END RSA PRIVATE KEY-----\nstarted"
    )
    out = redact(text)
    for secret in ("hunter2", "ghp_abc", "abc/def+ghi", "MIIEowIBAAKCAQEA", "z9y8x7w6"):
        assert secret not in out
    assert out.endswith("[REDACTED PRIVATE KEY]\nstarted")


async def test_a_selector_with_match_expressions_reads_only_its_own_pods(rig: MakeRig, cluster: Cluster) -> None:
    crashlooping_checkout(cluster)
    cluster.fake.objects["deployments"][(NS, NAME)]["spec"]["selector"] = {
        "matchExpressions": [{"key": "app", "operator": "In", "values": ["checkout"]}]
    }
    r = await rig()
    await r.deliver(alert_payload(investigate_alert()))
    found = await findings_of(r)
    assert [p["pod"] for p in found["pods"]["unhealthy"]] == ["checkout-r2-crashing"], "not other-app's pods"
