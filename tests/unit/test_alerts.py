import json
from typing import Any

import pytest

from responder.alerts import (
    MAX_ALERTS,
    Notification,
    NotJson,
    PayloadError,
    canonical_time,
    parse_notification,
)
from tests.conftest import alert_payload, cost_alert


def parse(payload: object) -> Notification:
    return parse_notification(json.dumps(payload).encode())


def test_each_alert_keeps_its_own_status_not_the_groups() -> None:
    payload = alert_payload(cost_alert("firing"), cost_alert("resolved", fingerprint="aa11"), status="firing")
    statuses = [a.status for a in parse(payload).alerts]
    assert statuses == ["firing", "resolved"]


def test_fields_newer_alertmanagers_add_are_accepted() -> None:
    payload = alert_payload({**cost_alert(), "silencedBy": []}, notification_reason="repeat", routeLabels={"team": "x"})
    assert len(parse(payload).alerts) == 1


def test_fields_the_responder_does_not_read_cannot_refuse_a_notification() -> None:
    """A stop must not be lost to a malformed field that nothing uses."""
    odd = {**cost_alert(), "endsAt": "2026-11-23 13:00", "generatorURL": 7}
    payload = alert_payload(odd, commonLabels={"count": 3}, externalURL=None)
    assert parse(payload).alerts[0].action == "EMERGENCY_STOP"


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("2026-11-23T13:00:00.123456789Z", "2026-11-23T13:00:00.123456Z"),
        ("2026-11-23T15:00:00.123456+02:00", "2026-11-23T13:00:00.123456Z"),
        ("2026-11-23T13:00:00Z", "2026-11-23T13:00:00.000000Z"),
    ],
)
def test_start_times_from_any_replica_compare_equal(given: str, canonical: str) -> None:
    assert canonical_time(given) == canonical


def _too_many() -> dict[str, Any]:
    return alert_payload(*(cost_alert(fingerprint=f"f{i}") for i in range(MAX_ALERTS + 1)))


@pytest.mark.parametrize(
    ("payload", "path", "problem"),
    [
        ({"version": "3", "status": "firing", "alerts": []}, "$.version", "version '3' is not supported"),
        ({"version": 5, "status": "firing", "alerts": {}}, "$.version", "version 5 is not supported"),
        ({"status": "firing", "alerts": []}, "$", "missing required field `version`"),
        ({"version": "4", "status": "firing"}, "$", "missing required field `alerts`"),
        ([], "$", "Expected `object`, got `array`"),
        (alert_payload(status="burning"), "$.status", "'burning'"),
        (alert_payload({**cost_alert(), "labels": {"ok": "x", "a": 1}}), "$.alerts[0].labels.a", "got `int`"),
        (alert_payload({**cost_alert(), "annotations": []}), "$.alerts[0].annotations", "got `array`"),
        (alert_payload(cost_alert(), truncatedAlerts=-1), "$.truncatedAlerts", ">= 0"),
        (alert_payload(cost_alert(), truncatedAlerts=2**64), "$.truncatedAlerts", "<="),
        (alert_payload({**cost_alert(), "startsAt": "yesterday"}), "$.alerts[0].startsAt", "not an RFC 3339"),
        (alert_payload({**cost_alert(), "startsAt": "2026-11-23T13:00:00Z\n"}), "$.alerts[0].startsAt", "RFC 3339"),
        (alert_payload({**cost_alert(), "status": "a - at `$.evil`"}), "$.alerts[0].status", "Invalid enum value"),
        (alert_payload({**cost_alert(), "startsAt": "2026-13-01T00:00:00Z"}), "$.alerts[0].startsAt", "month"),
        (alert_payload(cost_alert(fingerprint="")), "$.alerts[0].fingerprint", "length >= 1"),
        (alert_payload(cost_alert(fingerprint="f" * 65)), "$.alerts[0].fingerprint", "length <= 64"),
        (alert_payload(cost_alert(fingerprint="4f1c-2a9e")), "$.alerts[0].fingerprint", "letters and digits"),
        # a fullwidth digit four: alphanumeric to Python, not to Alertmanager
        (alert_payload(cost_alert(fingerprint="\uff14f1c")), "$.alerts[0].fingerprint", "letters and digits"),
        (_too_many(), "$.alerts", f"length <= {MAX_ALERTS}"),
    ],
)
def test_invalid_payloads_name_the_path_and_the_problem(payload: object, path: str, problem: str) -> None:
    with pytest.raises(PayloadError) as raised:
        parse(payload)
    assert raised.value.path == path
    assert problem in raised.value.problem


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "malformed"),
        # msgspec checks types as it parses: these fail a type before the JSON breaks.
        (b"[" * 100_000, "nested too deeply"),
        (b"[1,", "truncated"),
        (b"123garbage", "trailing characters"),
        (b'{"version": "4", "status": 5 garbage', "malformed"),
        (b'{"version": "4", "status": "firing", "alerts": [], "externalURL": "\xff"}', "not UTF-8"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b'{"version": "4", "x": ' + b"[" * 100_000, "nested too deeply"),
        (b'{"version": "4", "status": "\\ud800"}', None),  # a lone surrogate
        (b"", "truncated"),
    ],
)
def test_a_body_that_is_not_json_says_so(body: bytes, problem: str | None) -> None:
    with pytest.raises(NotJson, match=problem):
        parse_notification(body)


def _compact(payload: object) -> bytes:
    """As Alertmanager writes JSON: no spaces."""
    return json.dumps(payload, separators=(",", ":")).encode()


AS_ALERTMANAGER_SENDS = _compact(alert_payload(cost_alert(), truncatedAlerts=0))


@pytest.mark.parametrize(
    ("original", "twice", "key"),
    [
        ('"version":"4"', '"version":"3","version":"4"', "version"),
        ('"severity":"critical"', '"severity":"info","severity":"critical"', "severity"),
        ('"action":"EMERGENCY_STOP"', '"action":"INVESTIGATE","action":"EMERGENCY_STOP"', "action"),
        ('"groupLabels":{', '"groupLabels":{"x":"1","x":"2",', "x"),
        ('"endsAt":"', '"endsAt":"a","endsAt":"', "endsAt"),
    ],
    ids=["top-level", "label", "annotation", "unread-object", "unread-field"],
)
@pytest.mark.parametrize("shape", ["as-alertmanager-sends", "another-sender"])
def test_a_key_named_twice_in_one_object_is_refused_with_its_name(
    original: str, twice: str, key: str, shape: str
) -> None:
    body = AS_ALERTMANAGER_SENDS
    if shape == "another-sender":  # no truncatedAlerts: the exact check, not the quick one
        body = body.replace(b',"truncatedAlerts":0', b"")
    assert original.encode() in body
    with pytest.raises(PayloadError, match=f"names the key '{key}' more than once"):
        parse_notification(body.replace(original.encode(), twice.encode(), 1))


def test_a_colon_written_as_an_escape_cannot_hide_a_key_named_twice() -> None:
    """The escape decodes to a colon that the quick count sees twice as often as the body has it:
    exactly what a duplicated key takes away."""
    body = AS_ALERTMANAGER_SENDS.replace(b'"summary":"Daily', b'"summary":"\\u003aDaily').replace(
        b'"severity":"critical"', b'"severity":"info","severity":"critical"'
    )
    with pytest.raises(PayloadError, match="names the key 'severity' more than once"):
        parse_notification(body)


def test_escapes_and_every_field_in_place_are_still_accepted() -> None:
    alert = cost_alert(summary="a < b & c: \u2028 \\u003a")
    for body in (
        AS_ALERTMANAGER_SENDS,
        _compact(alert_payload(alert, truncatedAlerts=0)),
        _compact(alert_payload(alert)),
    ):
        assert len(parse_notification(body).alerts) == 1
