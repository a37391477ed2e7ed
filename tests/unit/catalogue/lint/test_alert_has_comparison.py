import pytest

from responder.catalogue.lint.alert_has_comparison import CHECK
from tests.unit.catalogue.lint.factory import alert, messages, record


@pytest.mark.parametrize(
    "expr",
    [
        "foo > 1",
        "(a_total > 1) and on () (b > 2)",
        "absent(up{job='x'})",
        "up == 0 or absent(up)",
    ],
)
def test_filtering_expressions_pass(expr: str) -> None:
    assert messages(CHECK, alert(expr)) == []


@pytest.mark.parametrize(
    "expr",
    [
        "acgs_constitutional_compliance",  # the seed's bare gauge
        "histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))",
        "foo > bool 1",  # bool keeps every series: 0 or 1, always firing
    ],
)
def test_expressions_that_always_fire_are_reported(expr: str) -> None:
    [message] = messages(CHECK, alert(expr))
    assert "no filtering comparison" in message


def test_recording_rules_need_no_comparison() -> None:
    assert messages(CHECK, record("sum(rate(x_total[5m]))")) == []
