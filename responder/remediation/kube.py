"""The few Kubernetes API calls the actions make, through the official client, off the loop.

The `kubernetes` client is blocking, so every call runs in a thread of the client's own pool.
On the loop's shared default pool, PagerDuty calls hung on a dead connection (and the loop's
DNS lookups) would hold every thread, and a stop would wait for them: a slow notifier must
never delay a remediation. The pool has two threads per remediation worker: a call that
outlives `step_timeout` frees its worker but keeps its thread until the client's own timeout
ends it, and the next step's call must not queue behind it. Responses are
read as plain JSON (`_preload_content=False`): the actions need a handful of fields, and
skipping model deserialisation keeps a slow cluster's large pod lists cheap. Errors are
classified once, here, into what the engine does next: retry (409 after a fresh read, 429,
5xx, timeouts, connection errors) or give up and tell humans (403, 404, other 4xx) with a
message that names the missing permission or object.

`ACTION_PERMISSIONS` is every (API group, resource, verb) each action uses; the RBAC
manifests are generated from it and a test holds the fake API's observed requests against it.
"""

import asyncio
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client, config

from responder.policy import KubeSettings, PolicyError

Permission = tuple[str, str]  # (API group, resource)
ACTION_PERMISSIONS: dict[str, dict[Permission, tuple[str, ...]]] = {
    "EMERGENCY_STOP": {("apps", "deployments"): ("get", "list", "patch"), ("apps", "deployments/scale"): ("patch",)},
    "FREEZE_DEPLOYMENTS": {("apps", "deployments"): ("get", "list", "patch")},
    "INVESTIGATE": {
        ("apps", "deployments"): ("get", "list"),
        ("apps", "replicasets"): ("list",),
        ("", "pods"): ("list",),
        ("", "pods/log"): ("get",),
        ("", "events"): ("list",),
    },
}


def permissions(actions: Iterable[str]) -> dict[Permission, tuple[str, ...]]:
    """What the given actions need, merged: the rules of one namespace's Role."""
    merged: dict[Permission, set[str]] = {}
    for action in actions:
        for resource, verbs in ACTION_PERMISSIONS[action].items():
            merged.setdefault(resource, set()).update(verbs)
    return {resource: tuple(sorted(verbs)) for resource, verbs in sorted(merged.items())}


PERMISSIONS = permissions(ACTION_PERMISSIONS)

STRATEGIC_MERGE = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"


class KubeError(Exception):
    """A failed API call, classified: `transient` errors are retried, the rest escalated."""

    def __init__(self, status: int, message: str, transient: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.transient = transient
        self.retry_after = retry_after


@dataclass(frozen=True)
class Call:
    """What was attempted, for error messages: `patch deployments/scale web in shop`."""

    verb: str
    resource: str
    namespace: str
    name: str = ""

    def __str__(self) -> str:
        return f"{self.verb} {self.resource}{f' {self.name}' if self.name else ''} in namespace {self.namespace}"


def _status_message(body: bytes | str | None) -> str:
    try:
        return str(json.loads(body or b"{}").get("message", "")) or "no message"
    except (ValueError, AttributeError):
        return (body.decode(errors="replace") if isinstance(body, bytes) else str(body))[:200]


def classify(call: Call, exc: Exception) -> KubeError:
    """The KubeError for a client exception, with a message that says what to do."""
    if isinstance(exc, client.ApiException):
        status = exc.status or 0
        message = _status_message(exc.body)
        if status == 403:
            group = next((g for (g, r) in PERMISSIONS if r == call.resource), "")
            return KubeError(
                403,
                f"RBAC refused {call}: {message}. Grant the responder's service account "
                f"'{call.verb}' on '{call.resource}' (API group '{group}') in namespace {call.namespace}: "
                "regenerate deploy/kubernetes with `responder manifests build` and apply it",
                transient=False,
            )
        if status == 401:
            return KubeError(
                401,
                f"the API server rejected the responder's credentials for {call}: check kubernetes.token(_file), "
                "the kubeconfig user, or the service account token",
                transient=False,
            )
        if status == 404:
            return KubeError(
                404,
                f"not found: {call}: {message}. Check the rule's target annotations and that the object exists",
                transient=False,
            )
        if status == 409:
            return KubeError(409, f"conflict: {call}: {message}", transient=True)
        if status == 429 or status >= 500:
            retry_after = (exc.headers or {}).get("Retry-After")
            hint = float(retry_after) if retry_after and retry_after.isdigit() else None
            return KubeError(status, f"API server answered {status} to {call}: {message}", True, hint)
        return KubeError(status, f"API server refused {call} ({status}): {message}", transient=False)
    if isinstance(exc, urllib3.exceptions.SSLError):
        return KubeError(0, f"TLS to the API server failed for {call}: {exc}; check kubernetes.ca_file", False)
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError | TimeoutError):
        return KubeError(0, f"no answer from the API server to {call}: {type(exc).__name__}: {exc}", transient=True)
    raise exc


def _api_client(settings: KubeSettings, connections: int) -> client.ApiClient:
    if settings.in_cluster:
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    elif settings.kubeconfig is not None:
        configuration = client.Configuration()
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(settings.kubeconfig), context=settings.context, client_configuration=configuration
        )
    else:
        configuration = client.Configuration(host=settings.host)
        if settings.token is not None:
            configuration.api_key = {"authorization": f"Bearer {settings.token.value}"}
        configuration.ssl_ca_cert = str(settings.ca_file) if settings.ca_file else None
        configuration.verify_ssl = not settings.insecure_skip_tls_verify
    configuration.retries = False  # the engine retries, with backoff and a journal record
    configuration.connection_pool_maxsize = connections  # one per thread: no handshake per burst
    return client.ApiClient(configuration)


class Kube:
    def __init__(self, settings: KubeSettings, workers: int) -> None:
        threads = 2 * workers
        try:
            self._api = _api_client(settings, threads)
        except (config.ConfigException, OSError, ValueError) as exc:
            where = (
                "in_cluster: true works only inside a pod (KUBERNETES_SERVICE_HOST and the service account token)"
                if settings.in_cluster
                else "check the kubeconfig path, its context, and its certificates"
            )
            raise PolicyError([f"kubernetes: cannot load the cluster configuration ({exc}); {where}"]) from exc
        self._apps = client.AppsV1Api(self._api)
        self._core = client.CoreV1Api(self._api)
        self._timeout = (settings.timeout_seconds, settings.timeout_seconds)
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="kubernetes")

    async def _call(self, call: Call, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def blocking() -> Any:
            response = fn(*args, _preload_content=False, _request_timeout=self._timeout, **kwargs)
            data = response.data
            return data.decode("utf-8", "replace") if call.resource == "pods/log" else json.loads(data)

        try:
            return await asyncio.get_running_loop().run_in_executor(self._threads, blocking)
        except Exception as exc:  # classify() re-raises what it does not know
            raise classify(call, exc) from exc

    async def get_deployment(self, namespace: str, name: str) -> dict[str, Any]:
        call = Call("get", "deployments", namespace, name)
        result: dict[str, Any] = await self._call(call, self._apps.read_namespaced_deployment, name, namespace)
        return result

    async def list_deployments(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        call = Call("list", "deployments", namespace)
        result = await self._call(call, self._apps.list_namespaced_deployment, namespace, label_selector=selector)
        return list(result["items"])

    async def patch_deployment(self, namespace: str, name: str, patch: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        call = Call("patch", "deployments", namespace, name)
        result: dict[str, Any] = await self._call(
            call,
            self._apps.patch_namespaced_deployment,
            name,
            namespace,
            patch,
            dry_run="All" if dry_run else None,
            _content_type=STRATEGIC_MERGE,
        )
        return result

    async def scale(self, namespace: str, name: str, replicas: int, resource_version: str, dry_run: bool) -> None:
        """Set replicas through the scale subresource, only if nobody changed the object since it was read."""
        call = Call("patch", "deployments/scale", namespace, name)
        patch = {"metadata": {"resourceVersion": resource_version}, "spec": {"replicas": replicas}}
        await self._call(
            call,
            self._apps.patch_namespaced_deployment_scale,
            name,
            namespace,
            patch,
            dry_run="All" if dry_run else None,
            _content_type=MERGE,
        )

    async def list_replicasets(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        call = Call("list", "replicasets", namespace)
        result = await self._call(call, self._apps.list_namespaced_replica_set, namespace, label_selector=selector)
        return list(result["items"])

    async def list_pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        call = Call("list", "pods", namespace)
        result = await self._call(call, self._core.list_namespaced_pod, namespace, label_selector=selector)
        return list(result["items"])

    async def list_warning_events(self, namespace: str) -> list[dict[str, Any]]:
        call = Call("list", "events", namespace)
        result = await self._call(call, self._core.list_namespaced_event, namespace, field_selector="type=Warning")
        return list(result["items"])

    async def read_log(
        self, namespace: str, pod: str, container: str, lines: int, limit_bytes: int, previous: bool
    ) -> str:
        call = Call("get", "pods/log", namespace, pod)
        text: str = await self._call(
            call,
            self._core.read_namespaced_pod_log,
            pod,
            namespace,
            container=container,
            tail_lines=lines,
            limit_bytes=limit_bytes,
            previous=previous,
        )
        return text

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)  # a call still hung times out on its own
        self._api.close()  # type: ignore[no-untyped-call]
