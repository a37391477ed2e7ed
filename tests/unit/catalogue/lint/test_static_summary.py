from responder.catalogue.lint.static_summary import CHECK
from tests.unit.catalogue.lint.factory import alert, messages


def test_a_static_summary_passes() -> None:
    assert messages(CHECK, alert()) == []


def test_a_templated_summary_is_reported() -> None:
    annotations = {**alert().annotations, "summary": "Spend at {{ $value }}"}
    [message] = messages(CHECK, alert(annotations=annotations))
    assert "summary is templated" in message


def test_a_literal_inside_quotes_or_outside_actions_is_static() -> None:
    for summary in ('Budget {{ "{{ $value }}" }} text', "Spend over the $value threshold"):
        annotations = {**alert().annotations, "summary": summary}
        assert messages(CHECK, alert(annotations=annotations)) == []
