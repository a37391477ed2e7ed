from responder.catalogue.lint.no_value_in_labels import CHECK
from tests.unit.catalogue.lint.factory import alert, messages


def test_static_labels_pass() -> None:
    assert messages(CHECK, alert()) == []


def test_value_in_a_label_is_reported() -> None:
    labels = {"severity": "critical", "team": "sre", "system": "x", "spend": "{{ $value }}"}
    [message] = messages(CHECK, alert(labels=labels))
    assert message.startswith("label spend uses $value")
