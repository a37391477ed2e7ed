from responder.catalogue.lint.no_value_in_labels import CHECK
from tests.unit.catalogue.lint.factory import alert, messages


def test_static_labels_pass() -> None:
    assert messages(CHECK, alert()) == []


def test_value_in_a_label_is_reported() -> None:
    labels = {"severity": "critical", "team": "sre", "system": "x", "spend": "{{ $value }}"}
    [message] = messages(CHECK, alert(labels=labels))
    assert message.startswith("label spend uses $value")


def test_a_literal_value_in_quoted_text_is_not_a_use() -> None:
    for text in ('{{ "$value" }}', "costs $value dollars"):
        labels = {"severity": "critical", "team": "sre", "system": "x", "note": text}
        assert messages(CHECK, alert(labels=labels)) == []


def test_dot_value_is_reported_too() -> None:
    labels = {"severity": "critical", "team": "sre", "system": "x", "spend": "{{ .Value | humanize }}"}
    assert len(messages(CHECK, alert(labels=labels))) == 1
