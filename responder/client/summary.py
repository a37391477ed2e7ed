"""One firing alert's state in a few words, from its timeline as the audit API returns it:
how old it is, what its action did, which rung of its ladder comes next, who acknowledged it.

Everything here reads the API's data only; text in it came from alerts and is printed through
`output.table`, which keeps it to one line.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from responder.vocabulary import StepKind, StepStatus, TimelineEvent


def duration(seconds: float) -> str:
    """A short age or delay: 45s, 12m, 3h05m, 2d4h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86_400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86_400}d{seconds % 86_400 // 3600}h"


@dataclass(frozen=True)
class AlertState:
    age: str
    outcome: str
    next_rung: str
    acknowledged: str


def _outcome(instance: Mapping[str, Any]) -> str:
    """What the action did: each remediation step and how it ended, or why none was planned."""
    steps = [s for s in instance.get("steps", []) if s.get("kind") == StepKind.REMEDIATION]
    if steps:
        words = []
        for step in steps:
            mode = step.get("params", {}).get("mode")
            words.append(
                f"{step.get('name')} {step.get('status')}" + (f" ({mode})" if mode in ("plan", "server") else "")
            )
        return ", ".join(words)
    refusals = [
        r.get("guard", "?")
        for e in instance.get("events", [])
        if e.get("kind") == TimelineEvent.FIRING
        for r in e.get("detail", {}).get("refusals", [])
    ]
    if refusals:
        return "refused: " + ", ".join(sorted(set(refusals)))
    return "notify only"


def _acknowledged(instance: Mapping[str, Any], now: float) -> str:
    for event in instance.get("events", []):
        if event.get("kind") == TimelineEvent.ACKNOWLEDGED:
            detail = event.get("detail", {})
            return f"by {detail.get('actor', '?')} via {detail.get('via', '?')}, {duration(now - event['at'])} ago"
    return "no"


def _next_rung(instance: Mapping[str, Any], now: float) -> str:
    escalations = [s for s in instance.get("steps", []) if s.get("kind") == StepKind.ESCALATION]
    for step in sorted(escalations, key=lambda s: s.get("due_at", 0)):
        if step.get("status") == StepStatus.PENDING and step.get("params", {}).get("event") == "firing":
            due = step.get("due_at", now)
            when = "now" if due <= now else f"in {duration(due - now)}"
            return f"{step.get('name')} {when}"
    return "none"


def alert_state(instance: Mapping[str, Any], now: float) -> AlertState:
    return AlertState(
        age=duration(now - instance.get("first_seen", now)),
        outcome=_outcome(instance),
        next_rung=_next_rung(instance, now),
        acknowledged=_acknowledged(instance, now),
    )


def current_instance(instances: Sequence[Mapping[str, Any]], starts_at: str) -> Mapping[str, Any]:
    """The instance that is firing now among every instance of a fingerprint."""
    for instance in instances:
        if instance.get("starts_at") == starts_at:
            return instance
    return instances[-1] if instances else {}
