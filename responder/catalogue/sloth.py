"""Read a sloth `prometheus/v1` spec and write the equivalent catalogue source.

A team on sloth moves over in one command: each sloth SLO becomes one of our SLOs with the same
SLI queries (`{{.window}}` and all), objective, service and SLO name, so the generated records
carry the same `sloth_id`, `sloth_service` and `sloth_slo` and their dashboards keep working.
What sloth has and the catalogue does not (labels that only the page or only the ticket alert
carry, SLI plugins) is reported, never silently dropped.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

SPEC_VERSION = "prometheus/v1"
RESERVED_LABELS = frozenset({"severity", "team", "system"})
RESERVED_ANNOTATIONS = frozenset({"summary", "description", "runbook_url", "action", "dashboard_url"})
WHY = "Imported from a sloth spec: a burning error budget has many causes, so a human investigates first."


class SlothSpecError(ValueError):
    """The file is not a sloth prometheus/v1 spec the importer can convert."""


@dataclass
class Imported:
    """The catalogue source for one sloth spec, and what could not be carried over."""

    system: str
    source: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "imported"


def _kebab(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "sre"


def _labels(raw: dict[str, Any], where: str, notes: list[str]) -> dict[str, str]:
    kept = {}
    for key, value in raw.items():
        if key in RESERVED_LABELS:
            notes.append(f"{where}: label {key}={value} dropped; the catalogue sets {key} itself")
        else:
            kept[str(key)] = str(value)
    return kept


def _sli(slo: dict[str, Any], where: str) -> dict[str, str]:
    sli = slo.get("sli") or {}
    if "events" in sli:
        events = sli["events"]
        return {"errors": events["error_query"].strip(), "total": events["total_query"].strip()}
    if "raw" in sli:
        return {"error_ratio": sli["raw"]["error_ratio_query"].strip()}
    raise SlothSpecError(f"{where}: only events and raw SLIs can be imported; write this SLI as one of those")


def _slo(spec: dict[str, Any], slo: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    where = f"SLO {slo.get('name', '?')}"
    alerting = slo.get("alerting") or {}
    page, ticket = alerting.get("page_alert") or {}, alerting.get("ticket_alert") or {}
    for kind, alert in (("page_alert", page), ("ticket_alert", ticket)):
        if alert.get("labels") or alert.get("annotations"):
            notes.append(f"{where}: {kind} labels and annotations are not imported; add them to routing")
    annotations = dict(alerting.get("annotations") or {})
    description = slo.get("description") or annotations.get("summary") or f"{spec['service']} {slo['name']}"
    labels = _labels({**(spec.get("labels") or {}), **(slo.get("labels") or {}), **(alerting.get("labels") or {})},
                     where, notes)  # fmt: skip
    out: dict[str, Any] = {
        "name": alerting.get("name") or _camel(f"{spec['service']}-{slo['name']}"),
        "objective": float(Decimal(str(slo["objective"])) / 100),
        **_sli(slo, where),
        "description": str(description).strip(),
        "action": "INVESTIGATE",
        "why": WHY,
        "service": spec["service"],
        "slo_id": slo["name"],
    }
    if labels:
        out["labels"] = labels
    kept = {k: str(v) for k, v in annotations.items() if k not in RESERVED_ANNOTATIONS}
    if kept:
        out["annotations"] = kept
    disabled = bool(alerting.get("disable"))
    if disabled or page.get("disable"):
        out["page"] = False
    if disabled or ticket.get("disable"):
        out["ticket"] = False
    return out


def import_spec(spec: Any) -> Imported:
    """The catalogue source equivalent to one sloth spec (a parsed YAML document)."""
    if not isinstance(spec, dict) or spec.get("version") != SPEC_VERSION:
        raise SlothSpecError(f"not a sloth spec: expected `version: {SPEC_VERSION}` at the top of the file")
    if not spec.get("service") or not spec.get("slos"):
        raise SlothSpecError("a sloth spec needs a service and at least one SLO")
    notes: list[str] = []
    labels = spec.get("labels") or {}
    team = _kebab(str(labels.get("team") or labels.get("owner") or spec["service"]))
    system = _snake(spec["service"])
    source = {
        "system": system,
        "title": spec["service"],
        "team": team,
        "slos": [_slo(spec, slo, notes) for slo in spec["slos"]],
    }
    return Imported(system, source, notes)
