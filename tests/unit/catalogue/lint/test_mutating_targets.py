from responder.catalogue.lint.mutating_targets import CHECK
from tests.unit.catalogue.lint.factory import alert, messages

BASE = {"summary": "s", "description": "d", "runbook_url": "https://x", "action": "EMERGENCY_STOP"}


def test_a_stop_with_namespace_and_deployment_passes() -> None:
    assert messages(CHECK, alert()) == []


def test_a_selector_is_as_good_as_a_deployment() -> None:
    annotations = {**BASE, "target_namespace": "prod", "target_selector": "app=api"}
    assert messages(CHECK, alert(annotations=annotations)) == []


def test_a_stop_without_target_is_reported_twice() -> None:
    found = messages(CHECK, alert(annotations=BASE))
    assert len(found) == 2
    assert "without target_namespace" in found[0]
    assert "without target_deployment or target_selector" in found[1]


def test_investigate_needs_no_target() -> None:
    assert messages(CHECK, alert(annotations={**BASE, "action": "INVESTIGATE"})) == []


def test_a_target_taken_from_alert_labels_is_reported() -> None:
    annotations = {
        **BASE,
        "target_namespace": "{{ $labels.namespace }}",
        "target_deployment": "api",
    }
    [message] = messages(CHECK, alert(annotations=annotations))
    assert "target_namespace is templated" in message
