import pytest

from responder.catalogue.lint.rate_over_counters import CHECK
from responder.catalogue.lint_base import Context
from responder.catalogue.metric_types import MetricType
from tests.unit.catalogue.lint.factory import CONTEXT, alert, messages


@pytest.mark.parametrize(
    "expr",
    [
        "rate(api_requests_total[5m]) > 1",
        "increase(x_count[1h]) > 1",
        "rate(x_sum[5m]) / rate(x_count[5m]) > 1",
        "rate(slo:sli_error:ratio_rate5m[10m]) > 1",  # declared recording rule
        "deriv(responder_journal_backlog[10m]) > 0",
        # Counters named before the conventions, from well-reviewed mixins: known, not guessed.
        "increase(kubelet_evictions[15m]) > 0",
        "increase(kubelet_server_expiration_renew_errors[5m]) > 0",
        "rate(node_vmstat_pgmajfault[5m]) > 500",
        # A series nobody knows the type of is never reported.
        "rate(some_vendor_requests[5m]) > 1",
    ],
)
def test_counter_functions_over_counters_and_gauge_functions_over_gauges_pass(expr: str) -> None:
    assert messages(CHECK, alert(expr)) == []


def test_rate_of_a_gauge_is_reported() -> None:
    [message] = messages(CHECK, alert("rate(cost_daily_burn_rate[5m]) > 0.5"))
    assert "rate() over cost_daily_burn_rate, which is a gauge" in message


def test_a_gauge_that_ends_in_count_is_known_for_what_it_is() -> None:
    [message] = messages(CHECK, alert("rate(kubelet_running_pod_count[5m]) > 1"))
    assert "kubelet_running_pod_count, which is a gauge" in message


def test_deriv_of_a_counter_is_reported() -> None:
    [message] = messages(CHECK, alert("deriv(api_requests_total[10m]) > 0"))
    assert "deriv() over the counter api_requests_total" in message


def test_deriv_of_a_known_counter_without_total_is_reported() -> None:
    [message] = messages(CHECK, alert("deriv(kubelet_evictions[10m]) > 0"))
    assert "counter kubelet_evictions" in message


def test_the_catalogue_declaration_beats_the_table() -> None:
    declared = Context(**{**CONTEXT.__dict__, "metric_types": {"shop_orders": MetricType.GAUGE}})
    assert messages(CHECK, alert("rate(shop_orders[5m]) > 1")) == []
    [message] = messages(CHECK, alert("rate(shop_orders[5m]) > 1"), ctx=declared)
    assert "shop_orders, which is a gauge" in message
