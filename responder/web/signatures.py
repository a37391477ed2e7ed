"""Request signatures of the providers that call us back: Slack (v0, with a replay window) and
PagerDuty webhooks v3 (v1, several signatures during a secret rotation).

Each check returns None when the request is authentic, else the reason, worded for the person
who configures the integration. The `*_unsigned` checks need only the headers, so a request that
cannot be authentic is refused before its body is read. Digests are compared in constant time; the body is the raw
bytes as received, never re-serialised.
"""

import hashlib
import hmac
from collections.abc import Mapping

from responder.secrets import Secret

SLACK_REPLAY_WINDOW_SECONDS = 300


def _digest(secret: Secret, message: bytes) -> str:
    return hmac.new(secret.value.encode(), message, hashlib.sha256).hexdigest()


def slack_unsigned(headers: Mapping[str, str], now: float) -> str | None:
    """What is wrong with a Slack request's signature headers, checked before its body is read."""
    timestamp, signature = headers.get("X-Slack-Request-Timestamp"), headers.get("X-Slack-Signature")
    if not timestamp or not signature:
        return "missing X-Slack-Request-Timestamp or X-Slack-Signature: only Slack may call this endpoint"
    try:
        sent = int(timestamp)
    except ValueError:
        return "X-Slack-Request-Timestamp is not a Unix time"
    if abs(now - sent) > SLACK_REPLAY_WINDOW_SECONDS:
        return "request timestamp is more than 5 minutes from our clock: a replay, or a clock out of sync (check NTP)"
    return None


def slack_problem(secret: Secret, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
    unsigned = slack_unsigned(headers, now)
    if unsigned:
        return unsigned
    timestamp, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    expected = "v0=" + _digest(secret, b"v0:" + timestamp.encode() + b":" + body)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "surrogateescape")):
        return "signature does not match: check escalation.slack.signing_secret against the Slack app's"
    return None


def pagerduty_unsigned(headers: Mapping[str, str]) -> str | None:
    """What is wrong with a PagerDuty request's signature header, checked before its body is read."""
    if not headers.get("X-PagerDuty-Signature"):
        return "missing X-PagerDuty-Signature: only a PagerDuty v3 webhook subscription may call this endpoint"
    return None


def pagerduty_problem(secret: Secret, headers: Mapping[str, str], body: bytes) -> str | None:
    unsigned = pagerduty_unsigned(headers)
    if unsigned:
        return unsigned
    expected = ("v1=" + _digest(secret, body)).encode()
    given = [s.strip().encode("utf-8", "surrogateescape") for s in headers["X-PagerDuty-Signature"].split(",")]
    if not any(hmac.compare_digest(expected, s) for s in given):
        return "no signature matches: check escalation.pagerduty.webhook_secret against the subscription's"
    return None
