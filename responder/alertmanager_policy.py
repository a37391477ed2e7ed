"""The `alertmanager:` section of responder.yaml: where the responder reads Alertmanager back.

Optional. With it, the responder compares what Alertmanager reports as firing with its journal
at start and then every `interval` (see `reconcile`): an alert it never heard of is ingested, and
an instance Alertmanager no longer reports for longer than `grace` is resolved. With
`silence_on_ack`, an acknowledged alert is silenced in Alertmanager for that long, and the
silence expired when it resolves (see `escalation.silence`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from responder.durations import parse_duration
from responder.secrets import Secret, read_secret, shown_url

# Alertmanager's default group_interval is 5m: a resolve it could not deliver is tried again
# within it, so two of them pass before the responder resolves on its own.
DEFAULT_GRACE = "10m"


@dataclass(frozen=True)
class AlertmanagerPolicy:
    urls: tuple[str, ...]  # one Alertmanager, or each replica of an HA pair
    receiver: str  # the receiver in alertmanager.yml that sends to this responder
    interval_seconds: float
    grace_seconds: float
    timeout_seconds: float
    bearer_token: Secret | None
    basic_username: str | None
    basic_password: Secret | None
    silence_on_ack_seconds: float | None = None


def alertmanager_from(raw: Mapping[str, Any] | None, problems: list[str]) -> AlertmanagerPolicy | None:
    """The section as the schema admitted it, or None when there is none."""
    if raw is None:
        return None
    basic = raw.get("basic") or {}
    return AlertmanagerPolicy(
        urls=tuple(raw["urls"]),
        receiver=raw["receiver"],
        interval_seconds=parse_duration(raw.get("interval", "60s")),
        grace_seconds=parse_duration(raw.get("grace", DEFAULT_GRACE)),
        timeout_seconds=parse_duration(raw.get("timeout", "10s")),
        bearer_token=read_secret(raw, "bearer_token", "alertmanager", problems),
        basic_username=basic.get("username"),
        basic_password=read_secret(basic, "password", "alertmanager.basic", problems) if basic else None,
        silence_on_ack_seconds=parse_duration(raw["silence_on_ack"]) if "silence_on_ack" in raw else None,
    )


def describe_alertmanager(am: AlertmanagerPolicy | None) -> list[str]:
    """check-config's words for the section."""
    if am is None:
        return ["Reconciliation: off (no alertmanager: section); only what Alertmanager pushes is seen"]
    where = ", ".join(shown_url(u) for u in am.urls)
    return [
        f"Reconciliation: every {am.interval_seconds:g}s, and at start, reads the alerts {where} routes to "
        f"receiver {am.receiver!r}: one never notified is handled as if it had been; one no longer reported "
        f"for {am.grace_seconds:g}s is resolved",
        f"Silences: an acknowledged alert is silenced in Alertmanager for {am.silence_on_ack_seconds:g}s, "
        "expired when it resolves"
        if am.silence_on_ack_seconds
        else "Silences: none (alertmanager.silence_on_ack is not set)",
    ]
