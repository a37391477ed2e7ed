"""The ingest rules over a real journal transaction: what a notification's alerts record."""

import json
from collections.abc import Callable
from typing import Any

from responder.alerts import Notification, parse_notification
from responder.ingest import (
    ALERTS_PER_TRANSACTION,
    TOUCH_SECONDS,
    Applied,
    apply_notification,
    chunks,
    parse_stored,
    truncation_alert,
)
from responder.journal import StoredNotification, Transaction
from responder.journal.sqlite import SqliteJournal
from responder.policy import Policy
from tests.conftest import alert_payload, cost_alert

NOW = 1_800_000_000.0


def notification(*alerts: dict[str, Any], **payload: Any) -> tuple[bytes, Notification]:
    body = json.dumps(alert_payload(*alerts, **payload)).encode()
    return body, parse_notification(body)


async def ingest(
    journal: SqliteJournal, policy: Policy, now: float, *alerts: dict[str, Any], **payload: Any
) -> Applied:
    body, parsed = notification(*alerts, **payload)

    def apply(tx: Transaction, stored: StoredNotification) -> Applied:
        return apply_notification(tx, policy, stored, parsed, now)

    _, applied = await journal.accept(body, "c", now, apply)
    assert applied is not None, "an older notification was left unapplied"
    return applied


async def test_a_first_firing_plans_and_a_repeat_seen_lately_records_nothing(
    journal: SqliteJournal, make_policy: Callable[..., Policy]
) -> None:
    policy = make_policy()
    first = await ingest(journal, policy, NOW, cost_alert())
    assert first.alerts == [("EMERGENCY_STOP", "firing")]
    assert first.due == {"remediation": 1, "escalation": 3}
    repeat = await ingest(journal, policy, NOW + TOUCH_SECONDS - 1, cost_alert())
    assert (repeat.alerts, repeat.steps, repeat.due, repeat.stale) == ([], 0, {}, 0)
    [instance] = await journal.instances({}, 10)
    assert instance["last_seen"] == NOW


async def test_a_resolve_plans_from_the_instance_and_a_late_firing_is_stale(
    journal: SqliteJournal, make_policy: Callable[..., Policy]
) -> None:
    policy = make_policy()
    await ingest(journal, policy, NOW, cost_alert())
    resolved = await ingest(journal, policy, NOW + 1, cost_alert("resolved"), status="resolved")
    assert resolved.alerts == [("EMERGENCY_STOP", "resolved")]
    late = await ingest(journal, policy, NOW + 2, cost_alert())
    assert (late.alerts, late.stale) == ([], 1)


async def test_a_resolve_for_an_instance_never_seen_firing_plans_nothing(
    journal: SqliteJournal, make_policy: Callable[..., Policy]
) -> None:
    applied = await ingest(journal, make_policy(), NOW, cost_alert("resolved"), status="resolved")
    assert (applied.alerts, applied.steps) == ([("NOTIFY_ONLY", "resolved")], 0)


def test_truncated_alerts_become_one_alert_per_group_from_its_first_start() -> None:
    _, parsed = notification(
        cost_alert(starts_at="2026-11-23T13:05:00Z"), cost_alert(fingerprint="ab", starts_at="2026-11-23T13:00:00Z")
    )
    alert = truncation_alert(parsed)
    assert alert.starts_at == "2026-11-23T13:00:00.000000Z"
    assert alert.fingerprint == truncation_alert(parsed).fingerprint
    assert alert.labels["alertname"] == "ResponderNotificationTruncated"
    _, other_group = notification(cost_alert(), groupKey="{}:{other}")
    assert truncation_alert(other_group).fingerprint != alert.fingerprint


def test_chunks_keep_notifications_whole_and_transactions_short() -> None:
    per_notification = ALERTS_PER_TRANSACTION // 2 + 1
    body, parsed = notification(*(cost_alert(fingerprint=f"{i:016x}") for i in range(per_notification)))
    items = [(StoredNotification(i, body, "c"), parsed) for i in range(3)]
    assert [[stored.id for stored, _ in chunk] for chunk in chunks(items)] == [[0], [1], [2]]
    _, small = notification(cost_alert())
    few = [(StoredNotification(i, body, "c"), small) for i in range(3)]
    assert [len(chunk) for chunk in chunks(few)] == [3]


def test_a_journaled_notification_that_no_longer_parses_is_set_apart() -> None:
    body, _ = notification(cost_alert())
    good, bad = StoredNotification(1, body, "c"), StoredNotification(2, b'{"version": "3"}', "c")
    parsed, broken = parse_stored([good, bad])
    assert [stored for stored, _ in parsed] == [good]
    assert broken == [bad]
