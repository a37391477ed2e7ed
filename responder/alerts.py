"""The Alertmanager webhook payload (version 4): decoding, validation and the alerts inside it.

The body is decoded by msgspec straight into the `Notification` and `Alert` structs below, which
are the schema: the shape is checked as it is parsed, and nothing is built twice (the hot path:
docs/performance.md). Alert content is data from metrics and therefore untrusted: nothing here
interprets it beyond its declared shape.
"""

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

import msgspec
import msgspec.structs

from responder.duplicate_keys import TooDeep, first_duplicate_key

SUPPORTED_VERSION = "4"
MAX_ALERTS = 10_000

_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)\Z", re.ASCII)
_STEP = re.compile(r"\.([^.\[]+)|\[([0-9]+)\]")
_AT = " - at `"
_TOO_DEEP = "it is nested too deeply to read"

Status = Literal["firing", "resolved"]
Strings = dict[str, str]
_ESCAPED_COLON = re.compile(rb"\\u003[aA]")


class PayloadError(ValueError):
    """The body is not a notification we can accept; `path` says where, `problem` says what."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class NotJson(ValueError):
    """The body is not a JSON document at all, so no path inside it can be named."""


class Alert(msgspec.Struct, frozen=True):
    """One alert of a notification, identified as an instance by (fingerprint, starts_at).

    Decoded straight from the body, as Alertmanager names its fields. What the responder does not
    read is not checked: endsAt and generatorURL are kept as whatever JSON they hold (only to tell
    a duplicated key, see `_names_a_key_twice`), and what newer Alertmanagers add is skipped.
    Refusing a notification, stop and all, over a field nobody reads would lose an alert for
    nothing."""

    fingerprint: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    starts_at: str = msgspec.field(name="startsAt")  # parsed, canonical UTC: "2026-11-23T13:00:00.123456Z"
    status: Status
    labels: Strings
    annotations: Strings = {}
    ends_at: Any = msgspec.field(default=msgspec.UNSET, name="endsAt")
    generator_url: Any = msgspec.field(default=msgspec.UNSET, name="generatorURL")

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def action(self) -> str:
        return self.annotations.get("action", "")

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")


class Notification(msgspec.Struct, frozen=True):
    """A group notification. Its status is the group's: each alert carries its own."""

    version: str
    status: Status
    alerts: Annotated[tuple[Alert, ...], msgspec.Meta(max_length=MAX_ALERTS)]
    group_key: str = msgspec.field(default="", name="groupKey")
    receiver: Any = msgspec.UNSET
    # None when absent, so that a 0 Alertmanager sent is told from no field (see `_names_a_key_twice`).
    truncated_alerts: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] | None = msgspec.field(  # SQLite's range
        default=None, name="truncatedAlerts"
    )
    group_labels: Any = msgspec.field(default=msgspec.UNSET, name="groupLabels")
    common_labels: Any = msgspec.field(default=msgspec.UNSET, name="commonLabels")
    common_annotations: Any = msgspec.field(default=msgspec.UNSET, name="commonAnnotations")
    external_url: Any = msgspec.field(default=msgspec.UNSET, name="externalURL")


_DECODER = msgspec.json.Decoder(Notification)
_ENCODER = msgspec.json.Encoder()


def rfc3339(at: float) -> str:
    """Unix seconds as Alertmanager's APIs write a time: UTC, to the second, with a Z."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@lru_cache(maxsize=65536)
def canonical_time(text: str) -> str:
    """RFC 3339 (nanoseconds, any offset) as UTC with microseconds, so replicas compare equal.

    ValueError for text that is not RFC 3339, or matches the shape but is not a time (month
    13, or an offset that moves it out of range).
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


def parse_notification(body: bytes) -> Notification:
    """The notification in a webhook body; each alert keeps its own status (not the group's).

    PayloadError names the first problem and where it is; NotJson if the body is not JSON."""
    try:
        if not body.isascii():
            body.decode()  # JSON is UTF-8, in the fields read or skipped alike
        notification = _DECODER.decode(body)
    except msgspec.ValidationError as exc:
        raise _refusal(str(exc), body) from None
    except UnicodeDecodeError as exc:
        raise NotJson(f"it is not UTF-8: {exc}") from None
    except msgspec.DecodeError as exc:
        raise NotJson(str(exc)) from None
    except RecursionError:
        raise NotJson(_TOO_DEEP) from None
    if notification.version != SUPPORTED_VERSION:
        raise _unsupported(notification.version)
    if duplicated := _names_a_key_twice(body, notification):
        raise PayloadError(
            "$",
            f"an object names the key {duplicated!r} more than once; Alertmanager never sends that, and "
            "readers disagree on which value counts. Send each key once",
        )
    for index, a in enumerate(notification.alerts):
        if not (a.fingerprint.isascii() and a.fingerprint.isalnum()):
            raise PayloadError(f"$.alerts[{index}].fingerprint", f"{a.fingerprint!r} is not letters and digits")
        try:  # made canonical in place, before anyone else sees the frozen struct
            msgspec.structs.force_setattr(a, "starts_at", canonical_time(a.starts_at))
        except ValueError as exc:
            raise PayloadError(f"$.alerts[{index}].startsAt", str(exc)) from None
    return notification


def _names_a_key_twice(body: bytes, notification: Notification) -> str | None:
    """A key some object of `body` names twice, or None.

    msgspec keeps the last of a duplicated key, and a proxy or another reader may keep the first.
    Cheaply first: the notification encoded again has one colon per key and one per colon inside
    a string, like the body, less one per duplicated key. That holds when the decoded notification
    is all of the body: no field that has a default is absent (encoding would add it; the unread
    fields are UNSET when absent and so left out), no field the structs do not name (it would be
    dropped), no colon written as an escape. Anything else, a sender other than Alertmanager, goes
    the exact way: a full parse that sees every key."""
    whole = (
        notification.group_key
        and notification.truncated_alerts is not None
        and all(a.annotations for a in notification.alerts)
        and not _ESCAPED_COLON.search(body)
    )
    if whole and _ENCODER.encode(notification).count(b":") == body.count(b":"):
        return None
    try:
        return first_duplicate_key(body)
    except TooDeep:
        raise NotJson(_TOO_DEEP) from None


def _unsupported(version: Any) -> PayloadError:
    return PayloadError(
        "$.version",
        f"payload version {version!r} is not supported; "
        f"this responder reads version {SUPPORTED_VERSION} (Alertmanager 0.16 and later)",
    )


def _refusal(message: str, body: bytes) -> ValueError:
    """Why a body did not decode into a notification, from msgspec's "Expected `str`, got `int`
    - at `$.alerts[0].labels[...]`". msgspec checks types as it parses, so it can stop at one
    before it reaches the point where the JSON breaks: that body is not JSON. A body of another
    version is refused for its version, whatever else it fails; and msgspec's `[...]` for a
    dictionary's value is named."""
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        return NotJson(str(exc))
    except RecursionError:
        return NotJson(_TOO_DEEP)
    if isinstance(document, dict) and document.get("version", SUPPORTED_VERSION) != SUPPORTED_VERSION:
        return _unsupported(document["version"])
    problem, path = message, "$"
    if _AT in message:  # the last one: the problem may repeat values the client chose
        problem, _, where = message.rpartition(_AT)
        path = where.removesuffix("`")
    if path.endswith("[...]"):
        path = path.removesuffix("[...]")
        key = _first_key_not_a_string(document, path)
        path = f"{path}.{key}" if key is not None else path
    return PayloadError(path, problem)


def _first_key_not_a_string(document: Any, path: str) -> str | None:
    node = document
    try:
        for name, index in _STEP.findall(path):
            node = node[name] if name else node[int(index)]
    except (LookupError, TypeError):
        return None
    if not isinstance(node, dict):
        return None
    return next((k for k, v in node.items() if not isinstance(v, str)), None)
