"""The generated RBAC grants exactly what the code uses: observed on the fake API, per action."""

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from responder import generated, manifests
from responder.policy import Policy, load_policy
from responder.remediation.kube import ACTION_PERMISSIONS, permissions
from tests.conftest import REPO, alert_payload, cost_alert
from tests.fakes.kube import Cluster
from tests.unit.remediation.conftest import Rig
from tests.unit.remediation.test_investigate import crashlooping_checkout

MakeRig = Callable[..., Awaitable[Rig]]


def observed(cluster: Cluster) -> dict[tuple[str, str], tuple[str, ...]]:
    groups = {"deployments": "apps", "deployments/scale": "apps", "replicasets": "apps"}
    found: dict[tuple[str, str], set[str]] = {}
    for seen in cluster.fake.seen:
        found.setdefault((groups.get(seen.resource, ""), seen.resource), set()).add(seen.verb)
    return {key: tuple(sorted(verbs)) for key, verbs in sorted(found.items())}


@pytest.mark.parametrize("action", sorted(ACTION_PERMISSIONS))
async def test_each_action_uses_exactly_the_permissions_its_role_grants(
    rig: MakeRig, cluster: Cluster, action: str
) -> None:
    crashlooping_checkout(cluster)
    r = await rig()
    by_name = cost_alert(action=action, target_namespace="shop", target_deployment="checkout")
    by_selector = cost_alert(
        fingerprint="5e5e5e5e5e5e5e5e",
        action=action,
        target_namespace="shop",
        target_deployment="",
        target_selector="app=cart",
    )
    await r.deliver(alert_payload(by_name, by_selector))
    assert all(s["status"] == "succeeded" for s in await r.steps(kind="remediation"))
    assert observed(cluster) == permissions([action])


def test_the_committed_manifests_match_their_policy() -> None:
    policy = load_policy(REPO / manifests.POLICY, env=manifests.PLACEHOLDERS)
    files = manifests.generate(policy, manifests.POLICY, (REPO / manifests.POLICY).read_text())
    assert generated.drift(REPO, manifests.output(manifests.POLICY), files) == []


def roles(documents: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {d["metadata"]["namespace"]: d["rules"] for d in documents if d and d["kind"] == "Role"}


def test_each_namespace_gets_only_the_verbs_of_the_actions_allowed_there() -> None:
    documents = list(yaml.safe_load_all((REPO / "deploy/kubernetes/rbac.yaml").read_text()))
    granted = roles(documents)
    policy = load_policy(REPO / manifests.POLICY, env=manifests.PLACEHOLDERS)
    assert set(granted) == set(manifests.namespace_actions(policy))
    for namespace, rules in granted.items():
        actions = [a for a, p in policy.actions.items() if namespace in p.allowed_namespaces]
        flat = {(r["apiGroups"][0], r["resources"][0]): tuple(r["verbs"]) for r in rules}
        assert flat == permissions(actions), namespace
    assert "patch" not in str(granted["acgs-production"]), "INVESTIGATE only reads"
    assert all(d["kind"] != "ClusterRole" for d in documents)


def test_plan_mode_and_protected_namespaces_get_no_role(make_policy: Callable[..., Policy]) -> None:
    policy = make_policy(
        {
            "kubernetes": {"in_cluster": True},
            "actions.EMERGENCY_STOP": {"mode": "live", "allowed_namespaces": ["shop", "kube-system"]},
            "actions.FREEZE_DEPLOYMENTS": {"mode": "plan", "allowed_namespaces": ["web"]},
        }
    )
    assert manifests.namespace_actions(policy) == {"shop": ["EMERGENCY_STOP"]}


def test_a_wildcard_namespace_is_refused_with_what_to_do(make_policy: Callable[..., Policy], tmp_path: Path) -> None:
    policy = make_policy({"kubernetes": {"in_cluster": True}, "actions.INVESTIGATE.mode": "server"})
    with pytest.raises(manifests.ManifestError, match="cannot be granted by namespace-scoped Roles; list the"):
        manifests.namespace_actions(policy)
