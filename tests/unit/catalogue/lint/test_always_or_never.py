import pytest

from responder.catalogue.lint.always_or_never import CHECK
from tests.unit.catalogue.lint.factory import alert, messages


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("(x > 1) or vector(0)", "has no condition"),
        ("x > 1 or sum(rate(y_total[5m]))", "has no condition"),
        ("sum(foo) / on (cluster) count(bar) > 1", "on (cluster) matches on a label neither side carries"),
        ("sum by (job) (sum by (instance) (x)) > 1", "sum by (job) groups by a label"),
        ("absent(sum(x) or vector(0))", "never fires"),
        ('foo{job="bar"} unless sum(foo)', "never matches"),
        ("rate(x_total[5m]) > 3 * sum(rate(x_total[1h]))", "never matches"),
    ],
)
def test_alerts_that_always_fire_or_never_match_are_reported(expr: str, problem: str) -> None:
    found = messages(CHECK, alert(expr))
    assert found and problem in found[0]


@pytest.mark.parametrize(
    "expr",
    [
        "x > 1 or y < 0",
        "up{job='a'} == 0 or absent(up{job='a'})",
        "sum by (cluster) (foo) / on (cluster) count by (cluster) (bar) > 1",
        "sum by (job) (sum by (job, instance) (x)) > 1",
        "absent(sum(x))",
        "sum(rate(a_total[30m])) > 3 * sum(rate(a_total[1d])) and sum(increase(a_total[30m])) > 10",
        'foo{job="bar"} unless on () sum(foo) > 1',
    ],
)
def test_near_misses_pass(expr: str) -> None:
    assert messages(CHECK, alert(expr)) == []
