"""The Alertmanager webhook payload (version 4): validation and the alerts inside it.

Validation uses jsonschema-rs: on a 50-alert payload it measured ~0.03 ms against ~6.9 ms for
the pure-Python jsonschema, which matters on the webhook's hot path. Alert content is data from
metrics and therefore untrusted: nothing here interprets it beyond its declared shape.
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema_rs

SUPPORTED_VERSION = "4"

_SCHEMA = json.loads(Path(__file__).with_name("alertmanager.schema.json").read_text("utf-8"))
_VALIDATOR = jsonschema_rs.validator_for(_SCHEMA)
_TIME = re.compile(r"^(.{19})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")


class PayloadError(ValueError):
    """The body is not a notification we can accept; `path` says where, `problem` says what."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class Alert(NamedTuple):
    """One alert of a notification, identified as an instance by (fingerprint, starts_at).

    A NamedTuple, not a frozen dataclass: just as immutable, and built in half the time, which
    showed on the webhook's path (a 10-alert notification builds ten on every repeat)."""

    fingerprint: str
    starts_at: str  # canonical UTC, microseconds: "2026-11-23T13:00:00.123456Z"
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def action(self) -> str:
        return self.annotations.get("action", "")

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")


@dataclass(frozen=True)
class Notification:
    group_key: str
    receiver: str
    status: str
    truncated_alerts: int
    alerts: tuple[Alert, ...]


@lru_cache(maxsize=65536)
def canonical_time(text: str) -> str:
    """RFC 3339 (nanoseconds, any offset) as UTC with microseconds, so replicas compare equal.

    ValueError for a timestamp that matches the shape but is not a time (month 13, or an
    offset that moves it out of range).
    """
    match = _TIME.match(text)
    if not match:
        raise ValueError(f"{text!r} is not an RFC 3339 timestamp")
    base, fraction, zone = match.groups()
    try:
        moment = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
        moment = moment.replace(microsecond=int((fraction or "0")[:6].ljust(6, "0")))
        utc = moment.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{text!r} is not a valid time: {exc}") from None
    return utc.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _json_path(path: list[str | int]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def validate(document: Any) -> None:
    """Raise PayloadError naming the first problem, if the document is not a v4 notification."""
    if isinstance(document, dict) and document.get("version") not in (None, SUPPORTED_VERSION):
        raise PayloadError(
            "$.version",
            f"payload version {document['version']!r} is not supported; "
            f"this responder reads version {SUPPORTED_VERSION} (Alertmanager 0.16 and later)",
        )
    try:
        _VALIDATOR.validate(document)
    except jsonschema_rs.ValidationError as exc:
        raise PayloadError(_json_path(list(exc.instance_path)), exc.message) from None


def parse_notification(document: Any) -> Notification:
    """A validated notification; each alert keeps its own status (not the group's)."""
    validate(document)
    return notification_from(document)


def notification_from(document: Any) -> Notification:
    """The notification in a document already validated (as every journaled one was)."""
    alerts = []
    for index, a in enumerate(document["alerts"]):
        try:
            starts_at = canonical_time(a["startsAt"])
        except ValueError as exc:
            raise PayloadError(f"$.alerts[{index}].startsAt", str(exc)) from None
        # Positional: by keyword, the ten alerts of a repeat took half again as long to build.
        alerts.append(Alert(a["fingerprint"], starts_at, a["status"], a["labels"], a.get("annotations", {})))
    return Notification(
        group_key=document.get("groupKey", ""),
        receiver=document.get("receiver", ""),
        status=document["status"],
        truncated_alerts=document.get("truncatedAlerts", 0),
        alerts=tuple(alerts),
    )
