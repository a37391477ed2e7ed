"""What the console's pages show, built from the journal's read models: plain values for the
templates, so that no template decides anything."""

import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from responder.targets import Target
from responder.vocabulary import Channel, DeliveryOutcome, HoldState, StepKind, StepStatus

_SAID = ("message", "error", "refused", "note", "reason")  # the words an outcome's detail may carry
LINK_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Row:
    """One alert instance on the Now page."""

    fingerprint: str
    starts_at: str
    status: str
    name: str
    severity: str
    action: str
    targets: list[str]
    did: list[str]  # what the responder did, or which guard refused and why
    trouble: bool  # a step failed or a guard refused
    next_rung: str | None  # the ladder's next channel
    next_at: float | None
    acknowledged: Mapping[str, Any] | None
    labels: Mapping[str, str]


def _target_words(target: Any) -> str:
    """One deployment of an outcome: `ns/name 3 → 0`, `ns/name paused`, or what went wrong."""
    if not isinstance(target, dict):
        return ""
    replicas = target.get("replicas")
    change = f" {replicas.get('from')} → {replicas.get('to')}" if isinstance(replicas, dict) else ""
    paused = " paused" if target.get("paused") else ""
    trouble = next((f": {target[k]}" for k in ("error", "refused", "note") if target.get(k)), "")
    return f"{target.get('deployment', '?')}{change}{paused}{trouble}"


def said(detail: Any) -> str:
    """The sentences an outcome's detail carries, if any, and what it did to each deployment."""
    if not isinstance(detail, dict):
        return ""
    parts = [f"{key}: {detail[key]}" for key in _SAID if detail.get(key)]
    targets = detail.get("targets")
    if isinstance(targets, list):
        parts += [words for words in map(_target_words, targets) if words]
    return "; ".join(parts)


def _did(entry: Mapping[str, Any]) -> tuple[list[str], bool]:
    lines, trouble = [], False
    for refusal in (entry.get("decision") or {}).get("refusals", []):
        trouble = True
        target = f" {refusal['target']}" if refusal.get("target") else ""
        lines.append(f"refused by {refusal.get('guard')}{target}: {refusal.get('reason', '')}")
    for step in entry["steps"]:
        if step["kind"] != StepKind.REMEDIATION:
            continue
        last = step["last"] or {}
        trouble = trouble or step["status"] == StepStatus.FAILED
        words = said(last.get("detail"))
        lines.append(f"{step['name']} {step['status']}" + (f": {words}" if words else ""))
    return lines, trouble


def _targets(entry: Mapping[str, Any]) -> list[str]:
    keys = {Target(**s["params"]["target"]).key for s in entry["steps"] if isinstance(s["params"].get("target"), dict)}
    annotated = Target.from_annotations(entry["annotations"])
    if annotated is not None:
        keys.add(annotated.key)
    return sorted(keys)


def row(entry: Mapping[str, Any]) -> Row:
    did, trouble = _did(entry)
    pending = [s for s in entry["steps"] if s["kind"] == StepKind.ESCALATION and s["status"] == StepStatus.PENDING]
    rung = min(pending, key=lambda s: s["due_at"]) if pending else None
    return Row(
        fingerprint=entry["fingerprint"],
        starts_at=entry["starts_at"],
        status=entry["status"],
        name=entry["alertname"],
        severity=entry["severity"],
        action=entry["action"] or "none",
        targets=_targets(entry),
        did=did,
        trouble=trouble,
        next_rung=rung["name"] if rung else None,
        next_at=rung["due_at"] if rung else None,
        acknowledged=entry["acknowledged"],
        labels=entry["labels"],
    )


def link(value: Any) -> str | None:
    """`value` when it is an http(s) URL a page may link to; never a javascript: or data: URL."""
    if not isinstance(value, str):
        return None
    parsed = urllib.parse.urlsplit(value.strip())
    return value.strip() if parsed.scheme.lower() in LINK_SCHEMES and parsed.netloc else None


@dataclass(frozen=True)
class Hold:
    """A deployment held now, with every holder and what the deploy gate answers for it."""

    namespace: str
    deployment: str
    states: list[str]
    holders: list[Mapping[str, Any]]
    replicas: int | None  # the count a stop recorded, which a restore scales back to
    gate: str


def holds(found: Sequence[Mapping[str, Any]]) -> list[Hold]:
    grouped: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for h in found:
        grouped.setdefault((h["namespace"], h["deployment"]), []).append(h)
    out = []
    for (namespace, deployment), held in sorted(grouped.items()):
        states = sorted({h["state"] for h in held})
        replicas = next((h["replicas"] for h in held if h["state"] == HoldState.STOPPED and "replicas" in h), None)
        frozen = HoldState.FROZEN in states
        gate = (
            f"423: deploys to {namespace}/{deployment} wait until it is unfrozen"
            if frozen
            else f"200: deploys to {namespace}/{deployment} may proceed"
        )
        out.append(Hold(namespace, deployment, states, held, replicas, gate))
    return out


def delivery_failures(registry: CollectorRegistry) -> dict[str, float]:
    """Failed deliveries per channel since this process started."""
    return {
        str(channel): registry.get_sample_value(
            "responder_escalation_deliveries_total", {"channel": channel, "outcome": DeliveryOutcome.FAILED}
        )
        or 0.0
        for channel in Channel
    }


@dataclass(frozen=True)
class Done:
    """One line of the operations log: a restore, an unfreeze or an acknowledgement."""

    at: float
    actor: str
    what: str
    target: str
    alert: tuple[str, str] | None  # (fingerprint, starts_at) of an acknowledged instance
    ok: bool
    message: str


def operations_log(operations: Sequence[Mapping[str, Any]], acks: Sequence[Mapping[str, Any]]) -> list[Done]:
    """Operations and acknowledgements together, newest first."""
    done = [
        Done(
            o["at"],
            o["actor"],
            str(o["op"]).lower(),
            f"{o['target'].get('namespace')}/{o['target'].get('deployment') or o['target'].get('selector')}",
            None,
            o["ok"],
            str(o.get("message", "")),
        )
        for o in operations
    ]
    done += [
        Done(
            a["at"],
            a["actor"],
            f"acknowledge via {a['via']}",
            a["alertname"],
            (a["fingerprint"], a["starts_at"]),
            True,
            "",
        )
        for a in acks
    ]
    return sorted(done, key=lambda d: d.at, reverse=True)
