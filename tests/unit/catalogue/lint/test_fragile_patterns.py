import pytest

from responder.catalogue.lint.fragile_patterns import CHECK
from responder.catalogue.lint_base import Context, Severity
from tests.unit.catalogue.lint.factory import CONTEXT, alert, messages, notes, record


@pytest.mark.parametrize(
    ("expr", "for_", "problem"),
    [
        ("topk(3, rate(x_total[5m])) > 1", "5m", "changes membership"),
        ('absent(up{job="api"})', "15s", "one late scrape"),
        ('rate(x_total{job=~"api"}[5m]) > 1', "5m", "has no regex characters"),
        ('rate(x_total{job=~"^api-.*$"}[5m]) > 1', "5m", "anchors regexes already"),
        ('sum(foo{job="a"}) / sum(bar{job="b"}) > 0.1', "0s", "after a restart"),
        ('up{job=~"myservice_.+_production"} == 0', "5m", "picks parts out of job names"),
    ],
)
def test_fragile_patterns_are_warned_about(expr: str, for_: str, problem: str) -> None:
    [note] = notes(CHECK, alert(expr, for_=for_))
    assert note.severity == Severity.WARNING and problem in note.message


def test_a_window_longer_than_the_retention_is_an_error() -> None:
    [note] = notes(CHECK, alert("increase(x_total[90d]) > 1"))
    assert note.severity == Severity.ERROR and "reaches past" in note.message


def test_an_alert_recomputing_a_recorded_expression_is_warned_about() -> None:
    ctx = Context(**{**CONTEXT.__dict__, "recorded_exprs": {"foo:rate5m": "rate(foo_total[5m])"}})
    [note] = notes(CHECK, alert("sum without (instance) (rate(foo_total[5m])) > 10"), ctx=ctx)
    assert "read foo:rate5m instead" in note.message


def test_an_offset_past_the_retention_is_an_error() -> None:
    [note] = notes(CHECK, alert("foo offset 40d > 1"))
    assert note.severity == Severity.ERROR and "offset reaches past" in note.message


def test_topk_in_a_recording_rule_is_warned_about() -> None:
    [note] = notes(CHECK, record("topk(5, rate(x_total[5m]))"))
    assert "in a recording rule changes membership" in note.message


@pytest.mark.parametrize(
    ("expr", "for_"),
    [
        ("max by (job) (rate(x_total[5m])) > 1", "5m"),
        ('absent(up{job="api"})', "1m"),
        ('rate(x_total{job=~"api|web"}[5m]) > 1', "5m"),
        ("increase(x_total[30d]) > 1", "5m"),
        ('sum(foo{job="a"}) / sum(bar{job="b"}) > 0.1', "2m"),
        (
            "sum by (instance) (rate(x_total[5m])) * on (instance) group_left (node) max by (instance, node) (y) > 0",
            "0s",
        ),
    ],
)
def test_near_misses_pass(expr: str, for_: str) -> None:
    assert messages(CHECK, alert(expr, for_=for_)) == []
