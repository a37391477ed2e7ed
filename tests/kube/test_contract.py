"""The contract fake and the real API server answer the responder's calls alike, so the fake cannot drift.

One sequence of calls, through the responder's own client (`Kube`), runs against tests/fakes/kube.py and
against the real server, each holding the same objects. Compared: every status code, the message the
responder passes on to people (403, 404, 409), and the fields it reads. The fake stays for the unit tests and
for what the real server will not do on demand (hung connections, 429, 5xx), which this cannot compare.

Two things differ by nature and are left out: objects the controllers make (the real server's ReplicaSets and
pods; the fake has none unless a test adds them), and the real deployment controller's own status writes,
which move `resourceVersion` at any moment; writes that carry a precondition are therefore made on a fresh
read and redone after such a conflict, as the responder's own read-modify-write does.
"""

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from responder.policy import KubeSettings
from responder.remediation.kube import Kube, KubeError
from responder.remediation.objects import STOPPED
from responder.secrets import Secret
from tests.fakes.kube import FakeKube, serve
from tests.kube.cluster import RealCluster
from tests.kube.conftest import ACCOUNT
from tests.kube.objects import Admin, create_deployment, event, wait_for

pytestmark = pytest.mark.kube
WEB, API = {"app": "web", "tier": "web"}, {"app": "api", "tier": "api"}
GRANTED = [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "patch"]}]
DENIED = (("patch", "deployments/scale"), ("list", "events"), ("get", "pods/log"))
Seen = list[tuple[Any, ...]]


@dataclass
class Side:
    kube: Kube  # the responder's client, allowed everything
    denied: Kube  # the responder's ServiceAccount, allowed only GRANTED
    stranger: Kube  # a token the server does not know
    namespace: str
    deny: Callable[[], None]  # the fake has one identity: it forbids DENIED from here on


def client_for(url: str, token: str, ca_file: Path | None = None) -> Kube:
    settings = KubeSettings(False, None, None, url, Secret(token), ca_file, False, 5.0)
    return Kube(settings, workers=1)


def fields(deployment: dict[str, Any]) -> dict[str, Any]:
    """What the actions read of a deployment."""
    meta, spec = deployment["metadata"], deployment["spec"]
    annotations = meta.get("annotations") or {}
    return {
        "name": meta["name"],
        "replicas": spec.get("replicas"),
        "paused": spec.get("paused"),
        "selector": spec.get("selector"),
        "stopped": annotations.get(STOPPED),
        "has_version_and_uid": isinstance(meta.get("resourceVersion"), str) and bool(meta.get("uid")),
    }


async def sequence(side: Side) -> Seen:
    kube, ns, seen = side.kube, side.namespace, []

    async def call(label: str, pending: Awaitable[Any], view: Callable[[Any], Any] = lambda _: None) -> Any:
        try:
            result = await pending
        except KubeError as exc:
            seen.append((label, exc.status, exc.message if exc.status in (401, 403, 404, 409) else ""))
            return None
        seen.append((label, 200, view(result)))
        return result

    async def fresh(label: str, write: Callable[[str], Awaitable[Any]], view: Callable[[Any], Any]) -> None:
        """`write(resourceVersion)` on a fresh read, redone after a conflict the controller caused."""
        for _ in range(5):
            version = (await kube.get_deployment(ns, "web"))["metadata"]["resourceVersion"]
            try:
                result = await write(version)
            except KubeError as exc:
                if exc.status == 409:
                    continue
                raise
            seen.append((label, 200, view((version, result))))
            return
        raise AssertionError(f"{label}: conflicted five times")

    annotate: dict[str, Any] = {"annotations": {STOPPED: '{"replicas":3}'}}
    await call("get", kube.get_deployment(ns, "web"), fields)
    await call("list by equality", kube.list_deployments(ns, "tier=web"), lambda r: [d["metadata"]["name"] for d in r])
    names = lambda r: sorted(d["metadata"]["name"] for d in r)  # noqa: E731
    await call("list by set", kube.list_deployments(ns, "tier in (web,api),app!=api"), names)
    await call("list by existence", kube.list_deployments(ns, "!tier"), names)
    await call("list with a bad selector", kube.list_deployments(ns, "tier in web"))
    await call("get missing", kube.get_deployment(ns, "nope"))
    stale = {"metadata": {"resourceVersion": "1", **annotate}}
    await call("patch on a stale version", kube.patch_deployment(ns, "web", stale, False))
    await call("scale on a stale version", kube.scale(ns, "web", 0, "1", False))

    def patch(dry_run: bool) -> Callable[[str], Awaitable[Any]]:
        return lambda v: kube.patch_deployment(ns, "web", {"metadata": {"resourceVersion": v, **annotate}}, dry_run)

    answered = lambda vr: (vr[1]["metadata"]["resourceVersion"] == vr[0], fields(vr[1])["stopped"])  # noqa: E731
    await fresh("patch, dry run: same version, annotated answer", patch(True), answered)
    await call("get after the dry run", kube.get_deployment(ns, "web"), fields)
    await fresh("patch: a new version, annotated", patch(False), answered)
    await fresh("the same patch again: nothing changes", patch(False), answered)
    await call("get after the patch", kube.get_deployment(ns, "web"), fields)
    await fresh("scale, dry run", lambda v: kube.scale(ns, "web", 0, v, True), lambda _: None)
    await call("get after the dry-run scale", kube.get_deployment(ns, "web"), fields)
    await fresh("scale", lambda v: kube.scale(ns, "web", 0, v, False), lambda _: None)
    await call("get after the scale", kube.get_deployment(ns, "web"), fields)
    await call("warning events", kube.list_warning_events(ns), lambda r: sorted(e["reason"] for e in r))
    await call("replicasets", kube.list_replicasets(ns, "app=web"), lambda r: isinstance(r, list))
    await call("pods", kube.list_pods(ns, "app=web"), lambda r: isinstance(r, list))
    await call("no credentials the server knows", side.stranger.get_deployment(ns, "web"))

    side.deny()
    await call("allowed to the ServiceAccount", side.denied.get_deployment(ns, "web"), fields)
    await call("scale without the verb", side.denied.scale(ns, "web", 1, "1", False))
    await call("events without the verb", side.denied.list_warning_events(ns))
    await call("log without the verb", side.denied.read_log(ns, "lone", "main", 10, 1000, False))
    return seen


def populate_events(add: Callable[[str, str, str], None]) -> None:
    add("Warning", "BackOff", "Back-off restarting failed container")
    add("Normal", "Pulled", "image pulled")


@asynccontextmanager
async def fake_side(namespace: str) -> AsyncIterator[Side]:
    token = secrets.token_hex(8)
    fake = FakeKube(token=token)
    fake.add_deployment(namespace, "web", replicas=3, labels=WEB)
    fake.add_deployment(namespace, "api", replicas=3, labels=API)

    def add(kind: str, reason: str, message: str) -> None:
        involved = {"kind": "Pod", "name": "lone", "namespace": namespace}
        body = {"metadata": {"name": f"lone.{reason.lower()}", "namespace": namespace}, "involvedObject": involved}
        fake.add("events", {**body, "type": kind, "reason": reason, "message": message})

    def deny() -> None:
        for verb, resource in DENIED:
            fake.forbid(namespace, verb, resource)

    populate_events(add)
    with serve(fake) as served:
        side = Side(
            client_for(served.url, token),
            client_for(served.url, token),
            client_for(served.url, "not-" + token),
            namespace,
            deny,
        )
        yield side


@asynccontextmanager
async def real_side(cluster: RealCluster, admin: Admin, token: str, namespace: str) -> AsyncIterator[Side]:
    create_deployment(admin, namespace, "web", replicas=3, labels=WEB)
    create_deployment(admin, namespace, "api", replicas=3, labels=API)
    populate_events(lambda kind, reason, message: event(admin, namespace, "lone", kind, reason, message))
    rbac = {"apiVersion": "rbac.authorization.k8s.io/v1", "metadata": {"name": "contract", "namespace": namespace}}
    admin.create({**rbac, "kind": "Role", "rules": GRANTED})
    subject = {"kind": "ServiceAccount", "namespace": ACCOUNT[0], "name": ACCOUNT[1]}
    role = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "contract"}
    admin.create({**rbac, "kind": "RoleBinding", "roleRef": role, "subjects": [subject]})
    denied = Admin(cluster, token)
    path = admin.path("apps/v1", "Deployment", namespace, "web")
    wait_for("the RoleBinding to take effect", lambda: _answers(denied, path))
    yield Side(
        client_for(cluster.url, cluster.responder_token, cluster.ca_file),
        client_for(cluster.url, token, cluster.ca_file),
        client_for(cluster.url, "not-" + token[:20], cluster.ca_file),
        namespace,
        lambda: None,
    )


def _answers(api: Admin, path: str) -> bool:
    try:
        api.request("GET", path)
    except Exception:
        return False
    return True


async def test_the_fake_answers_the_responders_calls_as_the_real_server_does(
    real_cluster: RealCluster, admin: Admin, responder_token: str, namespace: str
) -> None:
    async with fake_side(namespace) as fake:
        from_fake = await sequence(fake)
    async with real_side(real_cluster, admin, responder_token, namespace) as real:
        from_real = await sequence(real)
    assert [entry[0] for entry in from_fake] == [entry[0] for entry in from_real]
    differences = [(f, r) for f, r in zip(from_fake, from_real, strict=True) if f != r]
    assert not differences, "\n".join(f"fake: {f}\nreal: {r}" for f, r in differences)
