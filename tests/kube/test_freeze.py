"""FREEZE_DEPLOYMENTS and unfreeze against the real API server, with the deployment controller running."""

import json
import time
from typing import Any

import pytest

from responder.remediation.objects import FROZEN
from responder.targets import Target
from tests.kube.alerts import alert, writes
from tests.kube.cluster import RealCluster
from tests.kube.conftest import MakeRig
from tests.kube.objects import Admin, create_deployment, patch_deployment, read_deployment, replicasets, wait_for

pytestmark = pytest.mark.kube
UNFREEZE_ON_RESOLVE = {"actions.FREEZE_DEPLOYMENTS.unfreeze_on_resolve": True}
NO_COOLDOWN = {"actions.FREEZE_DEPLOYMENTS.cooldown": "0s"}  # a second alert may freeze the same deployment
NEW_IMAGE = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "registry.invalid/web:2"}]}}}}


def holders(deployment: dict[str, Any]) -> list[str]:
    raw = (deployment["metadata"].get("annotations") or {}).get(FROZEN)
    return [h["alert"] for h in json.loads(raw)["holders"]] if raw else []


def paused(deployment: dict[str, Any]) -> bool:
    return bool(deployment["spec"].get("paused"))


async def test_a_rollout_started_while_frozen_does_not_progress_until_a_person_unfreezes(
    rig: MakeRig, admin: Admin, namespace: str
) -> None:
    create_deployment(admin, namespace, "web", replicas=2)
    r = await rig()
    await r.deliver(alert("FREEZE_DEPLOYMENTS", namespace, "web", alertname="Canary"))
    frozen = read_deployment(admin, namespace, "web")
    assert (paused(frozen), holders(frozen)) == (True, ["Canary"])

    patch_deployment(admin, namespace, "web", NEW_IMAGE)
    time.sleep(2)  # the controller has seen the new template by now (it acts within milliseconds)
    assert len(replicasets(admin, namespace, "web")) == 1, "a paused deployment gets no new ReplicaSet"

    lifted = await r.responder.operator.unfreeze(Target(namespace, "web"), "cli:alice")
    assert lifted.ok, lifted.message
    after = read_deployment(admin, namespace, "web")
    assert (paused(after), holders(after)) == (False, [])
    wait_for("the rollout to resume with a new ReplicaSet", lambda: len(replicasets(admin, namespace, "web")) == 2)


async def test_a_resolve_lifts_only_its_own_alerts_hold(rig: MakeRig, admin: Admin, namespace: str) -> None:
    create_deployment(admin, namespace, "web")
    r = await rig(UNFREEZE_ON_RESOLVE | NO_COOLDOWN)
    first = {"fingerprint": "aa11bb22cc33dd44", "alertname": "Canary"}
    second = {"fingerprint": "ee55ff66aa77bb88", "alertname": "ErrorBudget"}
    await r.deliver(alert("FREEZE_DEPLOYMENTS", namespace, "web", **first))
    await r.deliver(alert("FREEZE_DEPLOYMENTS", namespace, "web", **second))
    assert holders(read_deployment(admin, namespace, "web")) == ["Canary", "ErrorBudget"]

    await r.deliver(alert("FREEZE_DEPLOYMENTS", namespace, "web", status="resolved", **first))
    held = read_deployment(admin, namespace, "web")
    assert (paused(held), holders(held)) == (True, ["ErrorBudget"])

    await r.deliver(alert("FREEZE_DEPLOYMENTS", namespace, "web", status="resolved", **second))
    free = read_deployment(admin, namespace, "web")
    assert (paused(free), holders(free)) == (False, [])


async def test_a_deployment_a_person_paused_stays_paused_when_the_freeze_lifts(
    rig: MakeRig, admin: Admin, namespace: str
) -> None:
    create_deployment(admin, namespace, "web")
    patch_deployment(admin, namespace, "web", {"spec": {"paused": True}})
    r = await rig(UNFREEZE_ON_RESOLVE)
    await r.deliver(alert("FREEZE_DEPLOYMENTS", namespace, "web"))
    assert holders(read_deployment(admin, namespace, "web")) == ["CostBudgetExceeded"]
    await r.deliver(alert("FREEZE_DEPLOYMENTS", namespace, "web", status="resolved"))
    after = read_deployment(admin, namespace, "web")
    assert (paused(after), holders(after)) == (True, [])


async def test_server_mode_freeze_is_admitted_as_a_dry_run_and_changes_nothing(
    rig: MakeRig, real_cluster: RealCluster, admin: Admin, namespace: str
) -> None:
    before = create_deployment(admin, namespace, "web")
    r = await rig(mode="server")
    await r.deliver(alert("FREEZE_DEPLOYMENTS", namespace, "web"))
    [step] = await r.steps(kind="remediation")
    assert step["status"] == "succeeded", step
    assert writes(real_cluster, namespace) == [("patch", "deployments", 200, True)]
    after = read_deployment(admin, namespace, "web")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert (paused(after), holders(after)) == (False, [])
