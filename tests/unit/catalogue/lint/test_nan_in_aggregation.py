import pytest

from responder.catalogue.lint.nan_in_aggregation import CHECK
from tests.unit.catalogue.lint.factory import alert, messages


@pytest.mark.parametrize(
    "expr",
    [
        "sum(rate(errors_total[5m]) / rate(requests_total[5m])) > 0.05",
        "avg by (job) (rate(a_total[5m]) % rate(b_total[5m])) > 1",
        "sum(errors / clamp_min(total, 0)) > 1",  # zero is still in range
        "sum(errors / (total > -1)) > 1",
    ],
)
def test_unguarded_division_inside_a_sum_is_reported(expr: str) -> None:
    [message] = messages(CHECK, alert(expr))
    assert "NaN" in message


@pytest.mark.parametrize(
    "expr",
    [
        "sum(rate(errors_total[5m])) / sum(rate(requests_total[5m])) > 0.05",
        "sum(rate(errors_total[5m]) / (rate(requests_total[5m]) > 0)) > 0.05",
        "sum(rate(errors_total[5m]) / clamp_min(rate(requests_total[5m]), 1e-9)) > 0.05",
        "sum(x_bytes / 1024) > 10",
        "sum(errors / clamp_max(total, -1)) > 1",
        "sum(errors / clamp(total, 1, 10)) > 1",
        "max(rate(errors_total[5m]) / rate(requests_total[5m])) > 0.05",
    ],
)
def test_guarded_or_outside_divisions_pass(expr: str) -> None:
    assert messages(CHECK, alert(expr)) == []
