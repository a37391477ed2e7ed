"""An alert instance's timeline, as `responder replay` prints it for people: each event and
each step attempt on its own line, at its offset from the first, in the order they happened."""

from collections.abc import Iterator, Mapping
from typing import Any

from responder.escalation.content import one_line


def _event_words(event: Mapping[str, Any]) -> str:
    detail = event.get("detail") or {}
    words = [str(event.get("kind", "?"))]
    if detail.get("action"):
        words.append(f"action {detail['action']}")
    refusals = detail.get("refusals") or []
    words += [f"refused {r.get('guard', '?')}: {r.get('reason', '')}" for r in refusals]
    if detail.get("steps"):
        words.append(f"planned {', '.join(detail['steps'])}")
    if detail.get("actor"):
        words.append(f"by {detail['actor']}")
    return "; ".join(words)


def _attempt_words(step: Mapping[str, Any], attempt: Mapping[str, Any]) -> str:
    detail = attempt.get("detail") or {}
    said = detail.get("would") or detail.get("message") or detail.get("text") or detail.get("error") or ""
    mode = detail.get("mode") or step.get("params", {}).get("mode")
    head = f"{step.get('kind')} {step.get('name')} {attempt.get('status')}" + (f" ({mode})" if mode else "")
    return f"{head}: {said}" if said else head


def _lines(instance: Mapping[str, Any]) -> Iterator[tuple[float, str]]:
    for event in instance.get("events", []):
        yield float(event.get("at", 0)), _event_words(event)
    for step in instance.get("steps", []):
        attempts = step.get("attempts") or []
        for attempt in attempts:
            yield float(attempt.get("started_at", 0)), _attempt_words(step, attempt)
        if not attempts:
            yield float(step.get("due_at", 0)), f"{step.get('kind')} {step.get('name')} {step.get('status')}"


def render(instances: list[dict[str, Any]]) -> str:
    """Every instance: a heading, then its events and attempts in time order, offsets in seconds."""
    blocks = []
    for instance in instances:
        heading = (
            f"{instance.get('alertname')} [{instance.get('severity') or 'no severity'}] {instance.get('status')}"
            f" — fingerprint {instance.get('fingerprint')}, started {instance.get('starts_at')}"
        )
        lines = sorted(_lines(instance), key=lambda pair: pair[0])
        start = lines[0][0] if lines else 0.0
        body = [f"  +{at - start:7.3f}s  {text}" for at, text in lines]
        blocks.append("\n".join(one_line(line) for line in [heading, *body]))
    return "\n\n".join(blocks) if blocks else "no alert instance was recorded"
