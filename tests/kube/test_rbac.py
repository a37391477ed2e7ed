"""Least privilege, proven on the real RBAC authorizer: the generated Roles are enough, and every verb is needed.

deploy/kubernetes/rbac.yaml (what `responder manifests build` generates, kept in step by `responder manifests
check`) is applied as is, and the responder runs as its ServiceAccount with a token minted by the TokenRequest
API. Every action succeeds; with any one verb taken out of the Role, the action that uses it fails (or, for the
best-effort reads of INVESTIGATE, notes it) with the server's 403 and the responder's words naming exactly
that verb, resource, API group and namespace.
"""

import copy
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from kubernetes import client, utils

from responder.targets import Target
from tests.conftest import REPO
from tests.kube.alerts import alert
from tests.kube.conftest import MakeRig
from tests.unit.remediation.conftest import Rig
from tests.kube.objects import create_deployment, crash_looping, ensure_namespace, wait_for

pytestmark = pytest.mark.kube
NS = "autogen-council"  # the Role there grants all three actions
ACCOUNT = ("alert-responder", "alert-responder")
USER = f"system:serviceaccount:{ACCOUNT[0]}:{ACCOUNT[1]}"


def documents() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((REPO / "deploy/kubernetes/rbac.yaml").read_text()) if d]


@pytest.fixture(scope="session")
def responder_token(admin: client.ApiClient) -> str:
    """The generated RBAC applied; a token for its ServiceAccount from the TokenRequest API."""
    core = client.CoreV1Api(admin)
    for namespace in sorted({d["metadata"]["namespace"] for d in documents()}):
        ensure_namespace(admin, namespace)
    for document in documents():
        utils.create_from_dict(admin, document)
    request = core.create_namespaced_service_account_token(ACCOUNT[1], ACCOUNT[0], {"spec": {"expirationSeconds": 3600}})
    token: str = request.status.token
    return token


def allowed(admin: client.ApiClient, verb: str, group: str, resource: str) -> bool:
    kind, _, sub = resource.partition("/")
    review = client.AuthorizationV1Api(admin).create_subject_access_review(
        {
            "spec": {
                "user": USER,
                "resourceAttributes": {
                    "namespace": NS,
                    "verb": verb,
                    "group": group,
                    "resource": kind,
                    "subresource": sub,
                },
            }
        }
    )
    return bool(review.status.allowed)


@pytest.fixture
def without(admin: client.ApiClient, responder_token: str) -> Iterator[Any]:
    """`without(group, resource, verb)` takes that verb out of the Role in NS until the test ends."""
    rbac = client.RbacAuthorizationV1Api(admin)
    original = rbac.read_namespaced_role("alert-responder", NS, _preload_content=False)
    saved = yaml.safe_load(original.data)
    taken: list[tuple[str, str, str]] = []

    def take(group: str, resource: str, verb: str) -> None:
        role = copy.deepcopy(saved)
        for rule in role["rules"]:
            if rule["apiGroups"] == [group] and rule["resources"] == [resource]:
                rule["verbs"].remove(verb)
        role["rules"] = [rule for rule in role["rules"] if rule["verbs"]]
        rbac.replace_namespaced_role("alert-responder", NS, role)
        taken.append((group, resource, verb))
        wait_for(f"RBAC to deny {verb} {resource}", lambda: not allowed(admin, verb, group, resource))

    yield take
    current = rbac.read_namespaced_role("alert-responder", NS)
    saved["metadata"]["resourceVersion"] = current.metadata.resource_version
    rbac.replace_namespaced_role("alert-responder", NS, saved)
    for group, resource, verb in taken:
        wait_for(f"RBAC to allow {verb} {resource} again", lambda: allowed(admin, verb, group, resource))


def texts(node: Any) -> Iterator[str]:
    """Every string in a step's detail."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from texts(value)


def crashing_deployment(admin: client.ApiClient, name: str) -> None:
    """A deployment with one crash-looping pod, so that INVESTIGATE reads a log too."""
    create_deployment(admin, NS, name, replicas=1)
    core = client.CoreV1Api(admin)
    [pod] = wait_for("the pod", lambda: core.list_namespaced_pod(NS, label_selector=f"app={name}").items)
    crash_looping(admin, NS, pod.metadata.name)


async def run(r: Rig, action: str, name: str, by_selector: bool) -> list[str]:
    """Run `action` on deployment `name` (an alert of its own); the step's status and every string of its detail."""
    fingerprint = secrets.token_hex(8)
    target = {"selector": f"app={name}"} if by_selector else {"deployment": name}
    await r.deliver(alert(action, NS, fingerprint=fingerprint, **target))
    [step] = await r.steps(fingerprint, kind="remediation")
    return [step["status"], *texts(step["attempts"][-1]["detail"])]


@pytest.mark.parametrize("mode", ["live", "server"])
async def test_every_action_succeeds_as_the_service_account_with_the_generated_role(
    real_rig: MakeRig, admin: client.ApiClient, responder_token: str, mode: str
) -> None:
    name = f"app-{secrets.token_hex(3)}"
    crashing_deployment(admin, name)
    no_cooldown = {"actions.EMERGENCY_STOP.cooldown": "0s"}  # the freeze just before counts as a change
    r = await real_rig([NS], mode=mode, token=responder_token, changes=no_cooldown)
    for action in ("INVESTIGATE", "FREEZE_DEPLOYMENTS", "EMERGENCY_STOP"):
        found = await run(r, action, name, by_selector=True)
        assert found[0] == "succeeded", found
        assert not [t for t in found if "RBAC refused" in t or "forbidden" in t], found
    for undo in (r.responder.operator.restore, r.responder.operator.unfreeze):
        result = await undo(Target(NS, name), "cli:alice")
        assert result.ok or mode == "server", result.message  # a dry-run stop left no record to restore from
        assert "RBAC refused" not in result.message and "forbidden" not in result.message, result.message


CASES = [  # (API group, resource, verb) taken away; the action that needs it; by selector; failed or noted
    ("apps", "deployments", "get", "EMERGENCY_STOP", False, "failed"),
    ("apps", "deployments", "list", "FREEZE_DEPLOYMENTS", True, "failed"),
    ("apps", "deployments", "patch", "FREEZE_DEPLOYMENTS", False, "failed"),
    ("apps", "deployments/scale", "patch", "EMERGENCY_STOP", False, "failed"),
    ("apps", "replicasets", "list", "INVESTIGATE", False, "failed"),
    ("", "pods", "list", "INVESTIGATE", False, "failed"),
    ("", "pods/log", "get", "INVESTIGATE", False, "succeeded"),  # best effort: a note beside the findings
    ("", "events", "list", "INVESTIGATE", False, "succeeded"),
]


@pytest.mark.parametrize(("group", "resource", "verb", "action", "by_selector", "status"), CASES)
async def test_without_one_verb_the_action_names_exactly_that_verb_resource_group_and_namespace(
    real_rig: MakeRig,
    admin: client.ApiClient,
    responder_token: str,
    without: Any,
    group: str,
    resource: str,
    verb: str,
    action: str,
    by_selector: bool,
    status: str,
) -> None:
    name = f"app-{secrets.token_hex(3)}"
    crashing_deployment(admin, name)
    without(group, resource, verb)
    found = await run(await real_rig([NS], token=responder_token), action, name, by_selector)
    assert found[0] == status, found
    words = f"Grant the responder's service account '{verb}' on '{resource}' (API group '{group}') in namespace {NS}"
    server = f'cannot {verb} resource "{resource}" in API group "{group}" in the namespace "{NS}"'
    assert [t for t in found if words in t and server in t], found
