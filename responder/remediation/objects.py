"""What the actions share about one Deployment: its hold annotations and the read-modify-write loop.

Holds are written on the object itself, as JSON in annotations, so that `kubectl describe`
shows a person why a deployment is at zero or paused, and so that `restore` works from the
object even when the journal is gone.
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from responder.journal import Step
from responder.remediation.kube import Kube, KubeError

STOPPED = "alert-responder.io/stopped"
FROZEN = "alert-responder.io/freeze"
# A 409 means the deployment changed between the read and the write: most often its controller
# updating its status, which a crash-looping deployment does again and again. Reads are retried
# after a pause that doubles (0.01 s to 0.08 s), as Kubernetes' own clients do on conflicts.
CONFLICT_RETRIES = 5
CONFLICT_PAUSE_SECONDS = 0.01

T = TypeVar("T")


@dataclass(frozen=True)
class Ref:
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Cause:
    """Who asks for a change: an alert instance (with its holder id) or a person."""

    holder: str | None
    alert: str
    reason: str
    at: float

    @classmethod
    def of(cls, step: Step, now: float) -> "Cause":
        inst = step.instance
        return cls(inst.holder, inst.alertname, inst.annotations.get("summary", inst.alertname), now)

    def record(self) -> dict[str, Any]:
        return {
            "alert": self.alert,
            "holder": self.holder,
            "reason": self.reason,
            "since": datetime.fromtimestamp(self.at, UTC).isoformat(timespec="seconds"),
        }


def annotation(deployment: dict[str, Any], key: str) -> dict[str, Any] | None:
    """A hold annotation, decoded; one that is not our JSON is treated as absent, not trusted."""
    raw = (deployment["metadata"].get("annotations") or {}).get(key)
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def encode(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))


def version(deployment: dict[str, Any]) -> str:
    return str(deployment["metadata"]["resourceVersion"])


async def read_modify_write(kube: Kube, ref: Ref, change: Callable[[dict[str, Any]], Awaitable[T]]) -> T:
    """Run `change` on a fresh read; a 409 (someone wrote in between) reads again, after a short
    pause, and retries."""
    for attempt in range(CONFLICT_RETRIES):
        if attempt:
            await asyncio.sleep(CONFLICT_PAUSE_SECONDS * 2 ** (attempt - 1))
        deployment = await kube.get_deployment(ref.namespace, ref.name)
        try:
            return await change(deployment)
        except KubeError as exc:
            if exc.status != 409:
                raise
    raise KubeError(
        409, f"{ref} changed {CONFLICT_RETRIES} times while the responder was updating it; will try again", True
    )
