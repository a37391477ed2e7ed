from responder.catalogue.lint.static_summary import CHECK
from tests.unit.catalogue.lint.factory import alert, messages


def test_a_static_summary_passes() -> None:
    assert messages(CHECK, alert()) == []


def test_a_templated_summary_is_reported() -> None:
    annotations = {**alert().annotations, "summary": "Spend at {{ $value }}"}
    [message] = messages(CHECK, alert(annotations=annotations))
    assert "summary is templated" in message
