"""Setting the real cluster up and reading it back as its administrator: plain JSON over HTTPS.

Objects stay plain JSON, the form the responder itself reads them in (`_preload_content=False`), so a test
compares exactly what the responder would see. Resource paths come from the server's own discovery.
"""

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

from tests.kube.cluster import RealCluster

T = TypeVar("T")
WAIT_SECONDS = 20.0
MERGE = "application/merge-patch+json"
APPLY = "application/apply-patch+yaml"


class ApiError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"{status}: {body[:500]}")
        self.status = status


class Admin:
    """Requests with one bearer token (the administrator's, unless given another)."""

    def __init__(self, cluster: RealCluster, token: str) -> None:
        self._cluster = cluster
        self._token = token
        self._context = cluster.ssl_context()
        self._plurals: dict[tuple[str, str], str] = {}

    def request(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json", **query: str
    ) -> Any:
        url = f"{self._cluster.url}{path}{'?' + urllib.parse.urlencode(query) if query else ''}"
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self._token}", "Content-Type": content_type}
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10, context=self._context) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ApiError(exc.code, exc.read().decode(errors="replace")) from None

    def path(self, api_version: str, kind: str, namespace: str | None = None, name: str = "") -> str:
        """The REST path of a kind, from discovery: `/apis/apps/v1/namespaces/ns/deployments/web`."""
        base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        if (api_version, kind) not in self._plurals:
            for resource in self.request("GET", base)["resources"]:
                if "/" not in resource["name"]:
                    self._plurals[(api_version, resource["kind"])] = resource["name"]
        scope = f"/namespaces/{namespace}" if namespace else ""
        return f"{base}{scope}/{self._plurals[(api_version, kind)]}{f'/{name}' if name else ''}"

    def create(self, document: dict[str, Any]) -> Any:
        namespace = document.get("metadata", {}).get("namespace")
        return self.request("POST", self.path(document["apiVersion"], document["kind"], namespace), document)

    def apply_dry_run(self, document: dict[str, Any]) -> Any:
        """Server-side apply with dryRun=All: decoded, defaulted, validated and admitted; nothing stored."""
        meta = document["metadata"]
        path = self.path(document["apiVersion"], document["kind"], meta.get("namespace"), meta["name"])
        return self.request("PATCH", path, document, APPLY, dryRun="All", fieldManager="alert-responder-tests")

    def list(self, api_version: str, kind: str, namespace: str, selector: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.request(
            "GET", self.path(api_version, kind, namespace), labelSelector=selector
        )["items"]
        return found


def ensure_namespace(api: Admin, name: str) -> None:
    """Create `name` unless another test already did."""
    try:
        api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    except ApiError as exc:
        if exc.status != 409:
            raise


def deployment_body(name: str, replicas: int = 3, labels: dict[str, str] | None = None) -> dict[str, Any]:
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": labels.get("app", name)}},
            "template": {
                "metadata": {"labels": {"app": labels.get("app", name)}},
                "spec": {"containers": [{"name": "main", "image": f"registry.invalid/{name}:1"}]},
            },
        },
    }


def create_deployment(
    api: Admin, namespace: str, name: str, replicas: int = 3, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """A new deployment, once the deployment controller has caught up with it: its status writes bump the
    resourceVersion, and a test's conditional writes should meet only the conflicts it arranges."""
    body = deployment_body(name, replicas, labels)
    api.create({**body, "metadata": {**body["metadata"], "namespace": namespace}})
    return settled(api, namespace, name)


def read_deployment(api: Admin, namespace: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = api.request("GET", api.path("apps/v1", "Deployment", namespace, name))
    return found


def settled(api: Admin, namespace: str, name: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        found = read_deployment(api, namespace, name)
        status, generation = found.get("status", {}), found["metadata"]["generation"]
        caught_up = status.get("observedGeneration") == generation
        return found if caught_up and status.get("replicas", 0) == found["spec"]["replicas"] else None

    return wait_for(f"the deployment controller to catch up with {namespace}/{name}", probe)


def patch_deployment(api: Admin, namespace: str, name: str, patch: dict[str, Any]) -> None:
    """A change made by someone else: a person with kubectl, or a CD pipeline."""
    api.request("PATCH", api.path("apps/v1", "Deployment", namespace, name), patch, MERGE)


def replicasets(api: Admin, namespace: str, app: str) -> list[dict[str, Any]]:
    return api.list("apps/v1", "ReplicaSet", namespace, f"app={app}")


def pod_names(api: Admin, namespace: str, app: str) -> list[str]:
    """The deployment's pods, once the ReplicaSet controller has made them."""

    def probe() -> list[str]:
        return sorted(p["metadata"]["name"] for p in api.list("v1", "Pod", namespace, f"app={app}"))

    return wait_for(f"pods of {namespace}/{app}", probe)


def wait_for(what: str, probe: Callable[[], T | None], seconds: float = WAIT_SECONDS) -> T:
    """`probe()` until it returns something, within a bounded time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what}: not seen within {seconds:.0f} s")


def event(api: Admin, namespace: str, about: str, kind: str, reason: str, message: str) -> None:
    """An event of `kind` (Warning, Normal) about pod `about`."""
    api.create(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{about}.{reason.lower()}", "namespace": namespace},
            "involvedObject": {"kind": "Pod", "name": about, "namespace": namespace},
            "type": kind,
            "reason": reason,
            "message": message,
            "count": 4,
            "lastTimestamp": "2026-12-06T10:00:00Z",
        }
    )


def crash_looping(api: Admin, namespace: str, pod: str) -> None:
    """Mark a pod's container as restarting after an OOM kill, as its kubelet would report it."""
    status = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "False"}],
        "containerStatuses": [
            {
                "name": "main",
                "ready": False,
                "restartCount": 7,
                "image": "registry.invalid/app:1",
                "imageID": "",
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
            }
        ],
    }
    api.request("PATCH", api.path("v1", "Pod", namespace, pod) + "/status", {"status": status}, MERGE)
