"""A contract-faithful fake of the Kubernetes API server, for the real `kubernetes` client.

It keeps the semantics the responder depends on: `resourceVersion` preconditions (409 on a
stale write), strategic-merge and merge patches (and a 400 for a JSON patch that is not a
list, as the real server answers), the `scale` subresource, `dryRun=All` (validated, never
persisted), label and field selectors, pod logs with `previous`, `Status` error bodies for
401/403/404/409, per-namespace RBAC refusals, and injected faults (status codes and delays).

Every request is recorded as (verb, resource, namespace) so that a test can compare what
the code does with what the generated RBAC grants.
"""

import asyncio
import contextlib
import copy
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.thread import AppThread

SERVICE_ACCOUNT = "system:serviceaccount:alert-responder:alert-responder"
_GROUPS = {"deployments": "apps", "replicasets": "apps", "pods": "", "events": ""}


@dataclass
class Fault:
    """Answer `status` (or hang for `delay` seconds first) to the next `times` matching requests.

    With `status=0` the request is served after the delay; with `late=True` it is served at
    once and only the answer is delayed: the change is made, and a client killed meanwhile
    never hears of it.
    """

    verb: str
    path_contains: str
    status: int = 500
    times: int = 1
    delay: float = 0.0
    retry_after: int | None = None
    late: bool = False


@dataclass(frozen=True)
class Seen:
    verb: str  # Kubernetes verb: get, list, patch
    resource: str  # e.g. deployments, deployments/scale, pods/log
    namespace: str
    dry_run: bool


def status_body(code: int, reason: str, message: str, name: str = "", kind: str = "") -> dict[str, Any]:
    details = {"name": name, "kind": kind, **({"group": _GROUPS[kind]} if _GROUPS.get(kind) else {})}
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details,
        "code": code,
    }


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, name: str = "", kind: str = "") -> None:
        super().__init__(message)
        self.body = status_body(code, reason, message, name, kind)
        self.code = code


def _selector_matches(selector: str, labels: dict[str, str]) -> bool:
    """Equality (`a=b`, `a==b`, `a!=b`), set (`a in (x,y)`, `a notin (x)`) and existence (`a`, `!a`)."""
    for term in re.split(r",(?![^(]*\))", selector.strip()) if selector.strip() else []:
        term = term.strip()
        if m := re.fullmatch(r"([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)", term):
            values = {v.strip() for v in m[3].split(",")}
            if (labels.get(m[1]) in values) != (m[2] == "in"):
                return False
        elif m := re.fullmatch(r"([\w./-]+)\s*(!=|==|=)\s*([\w./-]*)", term):
            if (labels.get(m[1]) == m[3]) != (m[2] != "!="):
                return False
        elif m := re.fullmatch(r"(!?)([\w./-]+)", term):
            if (m[2] in labels) == (m[1] == "!"):
                return False
        else:
            raise ApiError(400, "BadRequest", f"unable to parse requirement: {term!r}")
    return True


def _field(obj: dict[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part, "") if isinstance(node, dict) else ""
    return str(node)


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386 merge; for the fields the responder patches, strategic merge behaves the same."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


class FakeKube:
    """The cluster's state plus the aiohttp app that serves it. Thread-safe for test access."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token
        self.objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {k: {} for k in _GROUPS}
        self.logs: dict[tuple[str, str, str, bool], str] = {}
        self.forbidden: set[tuple[str, str, str]] = set()  # (namespace, verb, resource); "*" matches any
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.writes: list[tuple[str, str, str, dict[str, Any]]] = []  # persisted: (resource, ns, name, patch)
        self.races: list[tuple[str, str, int]] = []  # (ns, name, replicas): someone scales right after our read
        self._version = 100
        self._lock = threading.Lock()

    # --- building the cluster ---------------------------------------------------------------

    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    def add(self, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        meta.setdefault("annotations", {})
        meta.setdefault("labels", {})
        meta["resourceVersion"] = self._next_version()
        meta.setdefault("uid", f"uid-{resource}-{meta['namespace']}-{meta['name']}")
        self.objects[resource][(meta["namespace"], meta["name"])] = obj
        return obj

    def add_deployment(
        self, namespace: str, name: str, replicas: int = 3, labels: dict[str, str] | None = None
    ) -> None:
        labels = labels or {"app": name}
        self.add(
            "deployments",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace, "labels": dict(labels), "generation": 1},
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": {"app": labels.get("app", name)}},
                    "template": {
                        "metadata": {"labels": {"app": labels.get("app", name)}},
                        "spec": {"containers": [{"name": "main", "image": f"registry.example/{name}:1"}]},
                    },
                },
                "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas},
            },
        )

    def deployment(self, namespace: str, name: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self.objects["deployments"][(namespace, name)])

    def set_replicas(self, namespace: str, name: str, replicas: int) -> None:
        """A change made by someone else (kubectl, a CD pipeline): bumps the resourceVersion."""
        with self._lock:
            obj = self.objects["deployments"][(namespace, name)]
            obj["spec"]["replicas"] = replicas
            obj["metadata"]["resourceVersion"] = self._next_version()

    def race(self, namespace: str, name: str, replicas: int) -> None:
        """The next read of this deployment is followed at once by someone else scaling it."""
        with self._lock:
            self.races.append((namespace, name, replicas))

    def forbid(self, namespace: str, verb: str = "*", resource: str = "*") -> None:
        self.forbidden.add((namespace, verb, resource))

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def patches(self, resource: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [(ns, name, patch) for r, ns, name, patch in self.writes if r == resource]

    # --- serving ----------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        for prefix, resource in (("/apis/apps/v1", "deployments"), ("/apis/apps/v1", "replicasets")):
            app.router.add_get(f"{prefix}/namespaces/{{ns}}/{resource}", self._list(resource))
        app.router.add_get("/api/v1/namespaces/{ns}/pods", self._list("pods"))
        app.router.add_get("/api/v1/namespaces/{ns}/events", self._list("events"))
        app.router.add_get("/apis/apps/v1/namespaces/{ns}/deployments/{name}", self._get)
        app.router.add_patch("/apis/apps/v1/namespaces/{ns}/deployments/{name}", self._patch)
        app.router.add_get("/apis/apps/v1/namespaces/{ns}/deployments/{name}/scale", self._get_scale)
        app.router.add_patch("/apis/apps/v1/namespaces/{ns}/deployments/{name}/scale", self._patch_scale)
        app.router.add_get("/api/v1/namespaces/{ns}/pods/{name}/log", self._log)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            if self.token is not None and request.headers.get("Authorization") != f"Bearer {self.token}":
                raise ApiError(401, "Unauthorized", "Unauthorized")
            fault = self._fault(request)
            if fault is not None and fault.late:
                self._authorize(request)
                served: web.StreamResponse = await handler(request)
                await asyncio.sleep(fault.delay)
                return served
            if fault is not None:
                await asyncio.sleep(fault.delay)
                if fault.status:
                    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                    reason = {409: "Conflict", 429: "TooManyRequests", 503: "ServiceUnavailable"}.get(
                        fault.status, "InternalError"
                    )
                    body = status_body(fault.status, reason, f"injected fault {fault.status}")
                    return web.json_response(body, status=fault.status, headers=headers)
            self._authorize(request)
            response: web.StreamResponse = await handler(request)
            return response
        except ApiError as exc:
            return web.json_response(exc.body, status=exc.code)

    def _fault(self, request: web.Request) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.verb == request.method and fault.path_contains in request.path_qs and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _authorize(self, request: web.Request) -> None:
        parts = request.path.strip("/").split("/")
        namespace = parts[parts.index("namespaces") + 1]
        rest = parts[parts.index("namespaces") + 2 :]
        resource = rest[0] + (f"/{rest[2]}" if len(rest) > 2 else "")
        verb = {"GET": "get" if len(rest) > 1 else "list", "PATCH": "patch"}.get(request.method, request.method.lower())
        dry_run = request.query.get("dryRun")
        if dry_run not in (None, "All"):
            raise ApiError(400, "BadRequest", f'Invalid dry run value: "{dry_run}"; only "All" is supported')
        self.seen.append(Seen(verb, resource, namespace, dry_run == "All"))
        for ns, v, r in self.forbidden:
            if ns in (namespace, "*") and v in (verb, "*") and r in (resource, "*"):
                name = rest[1] if len(rest) > 1 else ""
                kind = resource.partition("/")[0]
                group = _GROUPS[kind]
                quoted = f'{kind}.{group} "{name}"' if group else f'{kind} "{name}"'
                subject = quoted if name else f"{kind}.{group}" if group else kind
                raise ApiError(
                    403,
                    "Forbidden",
                    f'{subject} is forbidden: User "{SERVICE_ACCOUNT}" cannot {verb} resource "{resource}" '
                    f'in API group "{group}" in the namespace "{namespace}"',
                    name,
                    kind,
                )

    def _list(self, resource: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            namespace = request.match_info["ns"]
            selector = request.query.get("labelSelector", "")
            fields = [f.split("=", 1) for f in request.query.get("fieldSelector", "").split(",") if f]
            with self._lock:
                items = [
                    copy.deepcopy(obj)
                    for (ns, _), obj in sorted(self.objects[resource].items())
                    if ns == namespace
                    and _selector_matches(selector, obj["metadata"].get("labels", {}))
                    and all(_field(obj, k) == v for k, v in fields)
                ]
                version = str(self._version)
            kind = {"events": "EventList", "replicasets": "ReplicaSetList"}.get(
                resource, f"{resource[:-1].capitalize()}List"
            )
            return web.json_response({"kind": kind, "metadata": {"resourceVersion": version}, "items": items})

        return handler

    def _stored(self, namespace: str, name: str, resource: str = "deployments") -> dict[str, Any]:
        try:
            return self.objects[resource][(namespace, name)]
        except KeyError:
            group = _GROUPS[resource]
            raise ApiError(
                404,
                "NotFound",
                f'{resource}.{group} "{name}" not found' if group else f'{resource} "{name}" not found',
                name,
                resource,
            ) from None

    async def _get(self, request: web.Request) -> web.Response:
        namespace, name = request.match_info["ns"], request.match_info["name"]
        with self._lock:
            answer = copy.deepcopy(self._stored(namespace, name))
            for race in [r for r in self.races if r[:2] == (namespace, name)][:1]:
                self.races.remove(race)
                stored = self.objects["deployments"][(namespace, name)]
                stored["spec"]["replicas"] = race[2]
                stored["metadata"]["resourceVersion"] = self._next_version()
        return web.json_response(answer)

    def _write(self, request: web.Request, resource: str, patch: Any) -> dict[str, Any]:
        """Apply a patch to a deployment: precondition, merge, persist unless dry-run."""
        ctype = request.content_type
        if ctype == "application/json-patch+json":
            raise (
                ApiError(400, "BadRequest", "json: cannot unmarshal object into Go value of type jsonpatch.Patch")
                if isinstance(patch, dict)
                else ApiError(415, "UnsupportedMediaType", "this fake serves no JSON patch")
            )
        if ctype not in ("application/strategic-merge-patch+json", "application/merge-patch+json"):
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - {ctype}")
        namespace, name = request.match_info["ns"], request.match_info["name"]
        with self._lock:
            stored = self._stored(namespace, name)
            wanted = (patch.get("metadata") or {}).get("resourceVersion")
            if wanted is not None and wanted != stored["metadata"]["resourceVersion"]:
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on deployments.apps "{name}": the object has been modified; '
                    "please apply your changes to the latest version and try again",
                    name,
                    "deployments",
                )
            result = _merge(copy.deepcopy(stored), patch)
            result["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"]
            if request.query.get("dryRun") != "All" and result != stored:
                result["metadata"]["resourceVersion"] = self._next_version()
                if resource == "deployments/scale":
                    result["status"]["replicas"] = result["spec"]["replicas"]
                self.objects["deployments"][(namespace, name)] = result
                self.writes.append((resource, namespace, name, patch))
            return copy.deepcopy(result)

    async def _patch(self, request: web.Request) -> web.Response:
        return web.json_response(self._write(request, "deployments", json.loads(await request.read())))

    @staticmethod
    def _scale_of(deployment: dict[str, Any]) -> dict[str, Any]:
        meta = deployment["metadata"]
        labels = deployment["spec"]["selector"]["matchLabels"]
        return {
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {k: meta[k] for k in ("name", "namespace", "resourceVersion", "uid")},
            "spec": {"replicas": deployment["spec"]["replicas"]},
            "status": {
                "replicas": deployment["status"].get("replicas", 0),
                "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
            },
        }

    async def _get_scale(self, request: web.Request) -> web.Response:
        with self._lock:
            return web.json_response(self._scale_of(self._stored(request.match_info["ns"], request.match_info["name"])))

    async def _patch_scale(self, request: web.Request) -> web.Response:
        patch = json.loads(await request.read())
        unknown = set(patch) - {"metadata", "spec"} or set(patch.get("spec", {})) - {"replicas"}
        if unknown:
            raise ApiError(400, "BadRequest", f"Scale patch may only set spec.replicas, not {sorted(unknown)}")
        return web.json_response(self._scale_of(self._write(request, "deployments/scale", patch)))

    async def _log(self, request: web.Request) -> web.Response:
        namespace, pod = request.match_info["ns"], request.match_info["name"]
        container = request.query.get("container", "main")
        previous = request.query.get("previous") == "true"
        with self._lock:
            self._stored(namespace, pod, "pods")
            text = self.logs.get((namespace, pod, container, previous))
        if text is None:
            which = "previous terminated container" if previous else "container"
            raise ApiError(400, "BadRequest", f'{which} "{container}" in pod "{pod}" not found')
        tail = request.query.get("tailLines")
        lines = text.splitlines(keepends=True)
        if tail is not None:
            lines = lines[-int(tail) :] if int(tail) else []
        limit = request.query.get("limitBytes")
        body = "".join(lines)
        return web.Response(text=body[: int(limit)] if limit else body, content_type="text/plain")


@dataclass
class Cluster:
    fake: FakeKube
    url: str


@contextlib.contextmanager
def serve(fake: FakeKube) -> Iterator[Cluster]:
    """The fake served on 127.0.0.1 for as long as the block runs."""
    with AppThread(fake.app()) as server:
        yield Cluster(fake, server.url)
