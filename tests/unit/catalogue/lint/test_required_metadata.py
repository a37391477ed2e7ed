from responder.catalogue.lint.required_metadata import CHECK
from tests.unit.catalogue.lint.factory import alert, messages, record


def test_a_complete_alert_passes() -> None:
    assert messages(CHECK, alert()) == []


def test_missing_labels_and_annotations_are_each_reported() -> None:
    rule = alert(labels={"severity": "critical"}, annotations={"summary": "x", "action": " "})
    found = messages(CHECK, rule)
    assert [m.split(" is ")[0] for m in found] == [
        "label team",
        "label system",
        "annotation description",
        "annotation runbook_url",
        "annotation action",
    ]


def test_an_unknown_severity_is_reported() -> None:
    rule = alert(labels={"severity": "page", "team": "sre", "system": "x"})
    assert messages(CHECK, rule) == ["severity 'page' is not one of critical, warning, info"]


def test_recording_rules_are_not_alerts() -> None:
    assert messages(CHECK, record("sum(rate(x_total[5m]))")) == []
