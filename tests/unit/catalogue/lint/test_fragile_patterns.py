import pytest

from responder.catalogue.lint.fragile_patterns import CHECK
from responder.catalogue.lint_base import Severity
from tests.unit.catalogue.lint.factory import alert, messages, notes


@pytest.mark.parametrize(
    ("expr", "for_", "problem"),
    [
        ("topk(3, rate(x_total[5m])) > 1", "5m", "flaps"),
        ('absent(up{job="api"})', "15s", "one late scrape"),
        ('rate(x_total{job=~"api"}[5m]) > 1', "5m", "has no regex characters"),
        ('rate(x_total{job=~"^api-.*$"}[5m]) > 1', "5m", "anchors regexes already"),
    ],
)
def test_fragile_patterns_are_warned_about(expr: str, for_: str, problem: str) -> None:
    [note] = notes(CHECK, alert(expr, for_=for_))
    assert note.severity == Severity.WARNING and problem in note.message


def test_a_window_longer_than_the_retention_is_an_error() -> None:
    [note] = notes(CHECK, alert("increase(x_total[90d]) > 1"))
    assert note.severity == Severity.ERROR and "longer than" in note.message


@pytest.mark.parametrize(
    ("expr", "for_"),
    [
        ("max by (job) (rate(x_total[5m])) > 1", "5m"),
        ('absent(up{job="api"})', "1m"),
        ('rate(x_total{job=~"api|web"}[5m]) > 1', "5m"),
        ("increase(x_total[30d]) > 1", "5m"),
    ],
)
def test_near_misses_pass(expr: str, for_: str) -> None:
    assert messages(CHECK, alert(expr, for_=for_)) == []
