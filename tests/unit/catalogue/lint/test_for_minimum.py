from responder.catalogue.lint.for_minimum import CHECK
from tests.unit.catalogue.lint.factory import alert, messages

WARNING = {"severity": "warning", "team": "sre", "system": "x"}


def test_for_at_the_minimum_passes() -> None:
    assert messages(CHECK, alert(for_="1m")) == []


def test_the_seeds_30s_warning_is_reported() -> None:
    [message] = messages(CHECK, alert(for_="30s", labels=WARNING))
    assert "for 30s is shorter than the 120s minimum for warning alerts" in message


def test_no_for_at_all_is_reported() -> None:
    [message] = messages(CHECK, alert(for_=None))
    assert message.startswith("for 0s")
