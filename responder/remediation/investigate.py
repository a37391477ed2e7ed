"""INVESTIGATE: what an engineer would look at first, collected before anyone is awake.

Rollout status, the newest ReplicaSets, pods that are not ready or restart, their last
termination reasons, recent Warning events about any of them, and the last log lines of
failing containers (the previous container's for a crash loop). Best effort: a log or event
the responder may not read becomes a note, not a failure. Bounded in size, because it is
stored in the journal and sent to Slack and PagerDuty; lines that look like secrets are
redacted, because logs are written by applications that sometimes print their credentials.
"""

import json
import re
from typing import Any

from responder.remediation.kube import Kube, KubeError
from responder.remediation.objects import Ref

MAX_PODS = 5
MAX_REPLICASETS = 3
MAX_EVENTS = 10
MAX_LOGGED_CONTAINERS = 3
REVISION = "deployment.kubernetes.io/revision"

_KEYS = r"(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret|authorization)"
_SECRET_PATTERNS = (  # the scheme-and-token form first, so `Authorization: Bearer x` loses x too
    re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})"),
    # DB_PASSWORD=x, GITHUB_TOKEN: x, "secret": "x" (a prefix joined by _ or - counts)
    re.compile(rf"(?i)([A-Za-z0-9_.-]*{_KEYS}[A-Za-z0-9_]*)(\"?\s*[:=]\s*\"?)([^\s\",;]+)"),
    re.compile(
        r"()()\b(AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+|gh[pousr]_[A-Za-z0-9]{20,})"
    ),
    re.compile(r"(?i)(://[^:/\s]+:)()([^@\s]+)(?=@)"),
)
_PEM = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S)


def redact(text: str) -> str:
    text = _PEM.sub("[REDACTED PRIVATE KEY]", text)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}[REDACTED]", text)
    return text


_OPERATORS = {"In": "in", "NotIn": "notin"}


def _selector(deployment: dict[str, Any]) -> str:
    """The Deployment's own pod selector as a label selector, matchExpressions included: an
    empty selector would select every pod in the namespace, and their logs would leak."""
    selector = deployment["spec"].get("selector") or {}
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator in _OPERATORS:
            terms.append(f"{key} {_OPERATORS[operator]} ({','.join(values)})")
        else:
            terms.append(key if operator == "Exists" else f"!{key}")
    if not terms:
        raise KubeError(
            0, f"{deployment['metadata']['name']} has an empty pod selector; refusing to read every pod", False
        )
    return ",".join(terms)


def _rollout(deployment: dict[str, Any]) -> dict[str, Any]:
    spec, status, meta = deployment["spec"], deployment.get("status", {}), deployment["metadata"]
    return {
        "replicas": spec.get("replicas"),
        "updated": status.get("updatedReplicas", 0),
        "ready": status.get("readyReplicas", 0),
        "available": status.get("availableReplicas", 0),
        "paused": spec.get("paused", False),
        "up_to_date": status.get("observedGeneration", meta.get("generation")) == meta.get("generation"),
        "conditions": [
            {k: c.get(k) for k in ("type", "status", "reason", "message")} for c in status.get("conditions", [])
        ],
    }


def _replicasets(items: list[dict[str, Any]], uid: str) -> list[dict[str, Any]]:
    owned = [rs for rs in items if any(o.get("uid") == uid for o in rs["metadata"].get("ownerReferences", []))]
    owned.sort(key=lambda rs: int((rs["metadata"].get("annotations") or {}).get(REVISION, "0")), reverse=True)
    return [
        {
            "name": rs["metadata"]["name"],
            "revision": (rs["metadata"].get("annotations") or {}).get(REVISION),
            "replicas": rs["spec"].get("replicas", 0),
            "ready": rs.get("status", {}).get("readyReplicas", 0),
            "images": [c.get("image") for c in rs["spec"].get("template", {}).get("spec", {}).get("containers", [])],
        }
        for rs in owned[:MAX_REPLICASETS]
    ]


def _container(status: dict[str, Any]) -> dict[str, Any]:
    waiting = status.get("state", {}).get("waiting")
    last = status.get("lastState", {}).get("terminated")
    return {
        "name": status["name"],
        "ready": status.get("ready", False),
        "restarts": status.get("restartCount", 0),
        **({"waiting": waiting.get("reason")} if waiting else {}),
        **({"last_terminated": {k: last.get(k) for k in ("reason", "exitCode", "finishedAt")}} if last else {}),
    }


def _unhealthy(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for pod in pods:
        status = pod.get("status", {})
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions", []))
        containers = [_container(c) for c in status.get("containerStatuses", [])]
        if not ready or any(c["restarts"] for c in containers) or status.get("phase") not in ("Running", "Succeeded"):
            found.append({"pod": pod["metadata"]["name"], "phase": status.get("phase"), "containers": containers})
    found.sort(key=lambda p: -sum(c["restarts"] for c in p["containers"]))
    return found[:MAX_PODS]


def _events(items: list[dict[str, Any]], names: set[str]) -> list[dict[str, Any]]:
    about = [e for e in items if e.get("involvedObject", {}).get("name") in names]
    about.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "", reverse=True)
    return [
        {
            "object": f"{e['involvedObject'].get('kind', '')}/{e['involvedObject']['name']}",
            "reason": e.get("reason"),
            "message": redact(str(e.get("message", ""))),
            "count": e.get("count", 1),
            "last": e.get("lastTimestamp") or e.get("eventTime"),
        }
        for e in about[:MAX_EVENTS]
    ]


async def _logs(kube: Kube, ref: Ref, pods: list[dict[str, Any]], lines: int, budget: int) -> list[dict[str, Any]]:
    failing = [
        (p["pod"], c) for p in pods for c in p["containers"] if not c["ready"] or c["restarts"] or "waiting" in c
    ][:MAX_LOGGED_CONTAINERS]
    # limitBytes keeps the *oldest* bytes of the tail, so it is only a safety ceiling here;
    # `_bounded` trims to the real budget from the oldest line on, keeping the newest.
    ceiling = 4 * budget
    logs = []
    for pod, container in failing:
        previous = "last_terminated" in container
        entry: dict[str, Any] = {"pod": pod, "container": container["name"], "previous": previous}
        try:
            text = await kube.read_log(ref.namespace, pod, container["name"], lines, ceiling, previous)
            entry["lines"] = redact(text).splitlines()[-lines:]
        except KubeError as exc:
            if exc.transient:
                raise
            entry["note"] = exc.message
        logs.append(entry)
    return logs


def _bounded(findings: dict[str, Any], limit: int) -> dict[str, Any]:
    """Drop log lines, oldest first, then events, until the findings fit in `limit` bytes."""

    def size() -> int:
        return len(json.dumps(findings))

    while size() > limit and any(entry.get("lines") for entry in findings["logs"]):
        longest = max(findings["logs"], key=lambda entry: len(entry.get("lines", [])))
        longest["lines"] = longest["lines"][1:]
        findings["truncated"] = True
    while size() > limit and findings["events"]:
        findings["events"].pop()
        findings["truncated"] = True
    return findings


async def investigate(kube: Kube, ref: Ref, log_lines: int, limit_bytes: int) -> dict[str, Any]:
    deployment = await kube.get_deployment(ref.namespace, ref.name)
    selector = _selector(deployment)
    replicasets = _replicasets(await kube.list_replicasets(ref.namespace, selector), deployment["metadata"]["uid"])
    pods = await kube.list_pods(ref.namespace, selector)
    unhealthy = _unhealthy(pods)
    findings: dict[str, Any] = {
        "deployment": str(ref),
        "rollout": _rollout(deployment),
        "replicasets": replicasets,
        "pods": {"total": len(pods), "unhealthy": unhealthy},
        "events": [],
        "logs": await _logs(kube, ref, unhealthy, log_lines, limit_bytes),
    }
    try:
        names = {ref.name, *(rs["name"] for rs in replicasets), *(p["metadata"]["name"] for p in pods)}
        findings["events"] = _events(await kube.list_warning_events(ref.namespace), names)
    except KubeError as exc:
        if exc.transient:
            raise
        findings["events_note"] = exc.message
    return _bounded(findings, limit_bytes)
