import pytest

from responder.catalogue.lint.rate_over_counters import CHECK
from tests.unit.catalogue.lint.factory import alert, messages


@pytest.mark.parametrize(
    "expr",
    [
        "rate(api_requests_total[5m]) > 1",
        "increase(x_count[1h]) > 1",
        "rate(x_sum[5m]) / rate(x_count[5m]) > 1",
        "rate(slo:sli_error:ratio_rate5m[10m]) > 1",  # declared recording rule
        "deriv(responder_journal_backlog[10m]) > 0",
    ],
)
def test_counter_functions_over_counters_and_gauge_functions_over_gauges_pass(expr: str) -> None:
    assert messages(CHECK, alert(expr)) == []


def test_rate_of_a_gauge_is_reported() -> None:
    [message] = messages(CHECK, alert("rate(cost_daily_burn_rate[5m]) > 0.5"))
    assert "rate() over cost_daily_burn_rate, which is not a counter" in message


def test_deriv_of_a_counter_is_reported() -> None:
    [message] = messages(CHECK, alert("deriv(api_requests_total[10m]) > 0"))
    assert "deriv() over the counter api_requests_total" in message
