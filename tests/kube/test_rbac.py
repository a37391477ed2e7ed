"""Least privilege, proven on the real RBAC authorizer: the generated Roles are enough, and every verb is needed.

deploy/kubernetes/rbac.yaml (what `responder manifests build` generates, kept in step by `responder manifests
check`) is applied as is, and the responder runs as its ServiceAccount with a token minted by the TokenRequest
API. Every action succeeds; with any one verb taken out of the Role, the action that uses it fails (or, for the
best-effort reads of INVESTIGATE, notes it) with the server's 403 and the responder's words naming exactly
that verb, resource, API group and namespace.
"""

import copy
import secrets
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest

from responder.targets import Target
from tests.kube.alerts import alert
from tests.kube.conftest import USER, MakeRig, allowed_in, identity
from tests.kube.objects import Admin, crash_looping, create_deployment, pod_names, wait_for
from tests.unit.remediation.conftest import Rig

pytestmark = pytest.mark.kube
NS = "autogen-council"  # the Role there grants all three actions


def allowed(admin: Admin, verb: str, group: str, resource: str) -> bool:
    """The authorizer's answer for the ServiceAccount, as a SubjectAccessReview gives it."""
    kind, _, sub = resource.partition("/")
    attributes = {"namespace": NS, "verb": verb, "group": group, "resource": kind, "subresource": sub}
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": USER, "resourceAttributes": attributes},
    }
    return bool(admin.create(review)["status"].get("allowed"))


@pytest.fixture
def without(admin: Admin, responder_token: str) -> Iterator[Callable[[str, str, str], None]]:
    """`without(group, resource, verb)` takes that verb out of the Role in NS until the test ends."""
    path = admin.path("rbac.authorization.k8s.io/v1", "Role", NS, "alert-responder")
    saved = admin.request("GET", path)
    saved["metadata"].pop("resourceVersion")  # Roles take unconditional updates
    taken: list[tuple[str, str, str]] = []

    def take(group: str, resource: str, verb: str) -> None:
        role = copy.deepcopy(saved)
        for rule in role["rules"]:
            if rule["apiGroups"] == [group] and rule["resources"] == [resource]:
                rule["verbs"].remove(verb)
        role["rules"] = [rule for rule in role["rules"] if rule["verbs"]]
        admin.request("PUT", path, role)
        taken.append((group, resource, verb))
        wait_for(f"RBAC to deny {verb} {resource}", lambda: not allowed(admin, verb, group, resource))

    yield take
    admin.request("PUT", path, saved)
    for group, resource, verb in taken:
        wait_for(f"RBAC to allow {verb} {resource} again", partial(allowed, admin, verb, group, resource))


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


def crashing_deployment(admin: Admin, name: str) -> None:
    """A deployment with one crash-looping pod, so that INVESTIGATE reads a log too."""
    create_deployment(admin, NS, name, replicas=1)
    [pod] = pod_names(admin, NS, name)
    crash_looping(admin, NS, pod)


async def run(r: Rig, action: str, name: str, by_selector: bool) -> list[str]:
    """Run `action` on deployment `name` (an alert of its own); the step's status and every string of its detail."""
    fingerprint = secrets.token_hex(8)
    target = {"selector": f"app={name}"} if by_selector else {"deployment": name}
    await r.deliver(alert(action, NS, fingerprint=fingerprint, **target))
    [step] = await r.steps(fingerprint, kind="remediation")
    return [step["status"], *texts(step["attempts"][-1]["detail"])]


@pytest.mark.parametrize("mode", ["live", "server"])
async def test_every_action_succeeds_as_the_service_account_with_the_generated_role(
    rig: MakeRig, admin: Admin, responder_token: str, mode: str
) -> None:
    name = f"app-{secrets.token_hex(3)}"
    crashing_deployment(admin, name)
    no_cooldown = {"actions.EMERGENCY_STOP.cooldown": "0s"}  # the freeze just before counts as a change
    r = await rig(allowed_in(NS) | identity(responder_token) | no_cooldown, mode=mode)
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
    rig: MakeRig,
    admin: Admin,
    responder_token: str,
    without: Callable[[str, str, str], None],
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
    found = await run(await rig(allowed_in(NS) | identity(responder_token)), action, name, by_selector)
    assert found[0] == status, found
    words = f"Grant the responder's service account '{verb}' on '{resource}' (API group '{group}') in namespace {NS}"
    server = f'cannot {verb} resource "{resource}" in API group "{group}" in the namespace "{NS}"'
    assert [t for t in found if words in t and server in t], found
