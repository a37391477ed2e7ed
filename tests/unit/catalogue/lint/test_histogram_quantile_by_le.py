import pytest

from responder.catalogue.lint.histogram_quantile_by_le import CHECK
from tests.unit.catalogue.lint.factory import alert, messages


@pytest.mark.parametrize(
    "expr",
    [
        "histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m]))) > 0.3",
        "histogram_quantile(0.95, sum without (instance, pod) (rate(x_bucket[5m]))) > 0.3",
        "histogram_quantile(0.9, (sum by (le, service) (increase(x_bucket[1h])))) > 1",
    ],
)
def test_sums_of_bucket_rates_that_keep_le_pass(expr: str) -> None:
    assert messages(CHECK, alert(expr)) == []


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        # The MC runbook's query: per-pod quantiles, never the service's.
        (
            "histogram_quantile(0.95, rate(mc_request_duration_seconds_bucket[5m])) > 0.35",
            "sum(...)",
        ),
        # The ACGS runbook's query: all of history.
        ("histogram_quantile(0.95, acgs_response_time_seconds_bucket) > 0.5", "sum(...)"),
        ("histogram_quantile(0.95, sum(rate(x_bucket[5m]))) > 1", "aggregates `le` away"),
        ("histogram_quantile(0.95, sum without (le) (rate(x_bucket[5m]))) > 1", "aggregates `le`"),
        ("histogram_quantile(0.95, sum by (le) (x_bucket)) > 1", "rate() of the buckets"),
        ("histogram_quantile(0.95, sum by (le) (rate(x_count[5m]))) > 1", "_bucket series"),
        ("histogram_quantile(0.95, max by (le) (rate(x_bucket[5m]))) > 1", "sum(...)"),
    ],
)
def test_quantiles_that_do_not_measure_the_service_are_reported(expr: str, problem: str) -> None:
    [message] = messages(CHECK, alert(expr))
    assert problem in message
