from responder.catalogue.lint.expr_parses import CHECK
from tests.unit.catalogue.lint.factory import alert, messages


def test_a_valid_expression_passes() -> None:
    assert messages(CHECK, alert()) == []


def test_an_unclosed_parenthesis_is_reported_with_the_parser_message() -> None:
    [message] = messages(CHECK, alert("rate(foo_total[5m] > 1"))
    assert "does not parse" in message
    assert "parenthesis" in message
