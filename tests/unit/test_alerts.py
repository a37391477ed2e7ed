import pytest

from responder.alerts import PayloadError, canonical_time, parse_notification
from tests.conftest import alert_payload, cost_alert


def test_each_alert_keeps_its_own_status_not_the_groups() -> None:
    payload = alert_payload(cost_alert("firing"), cost_alert("resolved", fingerprint="aa11"), status="firing")
    statuses = [a.status for a in parse_notification(payload).alerts]
    assert statuses == ["firing", "resolved"]


def test_fields_newer_alertmanagers_add_are_accepted() -> None:
    payload = alert_payload(cost_alert(), notification_reason="repeat", routeLabels={"team": "x"})
    assert len(parse_notification(payload).alerts) == 1


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


@pytest.mark.parametrize(
    ("payload", "path", "problem"),
    [
        ({"version": "3", "status": "firing", "alerts": []}, "$.version", "version '3' is not supported"),
        ({"version": "4", "status": "firing"}, "$", '"alerts" is a required property'),
        (alert_payload({**cost_alert(), "labels": {"a": 1}}), "$.alerts[0].labels.a", "is not of type"),
        (alert_payload({**cost_alert(), "startsAt": "yesterday"}), "$.alerts[0].startsAt", "does not match"),
        (alert_payload({**cost_alert(), "startsAt": "2026-13-01T00:00:00Z"}), "$.alerts[0].startsAt", "month"),
        (alert_payload(cost_alert(fingerprint="")), "$.alerts[0].fingerprint", ""),
    ],
)
def test_invalid_payloads_name_the_path_and_the_problem(payload: object, path: str, problem: str) -> None:
    with pytest.raises(PayloadError) as raised:
        parse_notification(payload)
    assert raised.value.path == path
    assert problem in raised.value.problem
