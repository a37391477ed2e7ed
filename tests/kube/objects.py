"""Setting the real cluster up and reading it back, as its administrator, through the `kubernetes` client."""

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client

from tests.kube.cluster import RealCluster

T = TypeVar("T")
WAIT_SECONDS = 20.0


def admin_client(cluster: RealCluster, token: str) -> client.ApiClient:
    configuration = client.Configuration(host=cluster.url)
    configuration.api_key = {"authorization": f"Bearer {token}"}
    configuration.ssl_ca_cert = str(cluster.ca_file)
    return client.ApiClient(configuration)


def ensure_namespace(api: client.ApiClient, name: str) -> None:
    """Create `name` unless another test already did."""
    try:
        client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    except client.ApiException as exc:
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
    api: client.ApiClient, namespace: str, name: str, replicas: int = 3, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """A new deployment, once the deployment controller has caught up with it: its status writes bump the
    resourceVersion, and a test's conditional writes should meet only the conflicts it arranges."""
    client.AppsV1Api(api).create_namespaced_deployment(namespace, deployment_body(name, replicas, labels))
    return settled(api, namespace, name)


def settled(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        found = read_deployment(api, namespace, name)
        status, generation = found.get("status", {}), found["metadata"]["generation"]
        caught_up = status.get("observedGeneration") == generation
        return found if caught_up and status.get("replicas", 0) == found["spec"]["replicas"] else None

    return wait_for(f"the deployment controller to catch up with {namespace}/{name}", probe)


def read_deployment(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    """The stored object as plain JSON, the form the responder reads."""
    response = client.AppsV1Api(api).read_namespaced_deployment(name, namespace, _preload_content=False)
    found: dict[str, Any] = json.loads(response.data)
    return found


def patch_deployment(api: client.ApiClient, namespace: str, name: str, patch: dict[str, Any]) -> None:
    """A change made by someone else: a person with kubectl, or a CD pipeline."""
    client.AppsV1Api(api).patch_namespaced_deployment(name, namespace, patch)


def replicasets(api: client.ApiClient, namespace: str, app: str) -> list[client.V1ReplicaSet]:
    return list(client.AppsV1Api(api).list_namespaced_replica_set(namespace, label_selector=f"app={app}").items)


def wait_for(what: str, probe: Callable[[], T | None], seconds: float = WAIT_SECONDS) -> T:
    """`probe()` until it returns something, within a bounded time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what}: not seen within {seconds:.0f} s")


def warning_event(api: client.ApiClient, namespace: str, about: str, reason: str, message: str) -> None:
    client.CoreV1Api(api).create_namespaced_event(
        namespace,
        {
            "metadata": {"name": f"{about}.{reason.lower()}"},
            "involvedObject": {"kind": "Pod", "name": about, "namespace": namespace},
            "type": "Warning",
            "reason": reason,
            "message": message,
            "count": 4,
            "lastTimestamp": "2026-12-06T10:00:00Z",
        },
    )


def crash_looping(api: client.ApiClient, namespace: str, pod: str) -> None:
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
    client.CoreV1Api(api).patch_namespaced_pod_status(pod, namespace, {"status": status})
