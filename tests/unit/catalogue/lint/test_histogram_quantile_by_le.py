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


@pytest.mark.parametrize(
    "expr",
    [
        # kubernetes-mixin: joined to an info metric to name the node.
        "histogram_quantile(0.99, sum by (cluster, instance, le) (rate(kubelet_pleg_relist_seconds_bucket[5m]))"
        " * on (cluster, instance) group_left (node) max by (cluster, instance, node) (kubelet_node_name)) >= 10",
        # Deduplicated with topk by (…, le).
        "histogram_quantile(0.99, topk by (job, le) (1, sum by (job, instance, le) (rate(x_bucket[5m])))) > 1",
        # group_right keeps the right side's labels.
        "histogram_quantile(0.9, max by (node) (kubelet_node_name) * on (node) group_right"
        " sum by (node, le) (rate(x_bucket[5m]))) > 1",
        "histogram_quantile(0.9, label_replace(sum by (le, pod) (rate(x_bucket[5m])), 'p', '$1', 'pod', '(.*)')) > 1",
    ],
)
def test_le_surviving_joins_and_topk_passes(expr: str) -> None:
    assert messages(CHECK, alert(expr)) == []


@pytest.mark.parametrize(
    "expr",
    [
        # on (…) without le in a one-to-one match drops le.
        "histogram_quantile(0.9, sum by (node, le) (rate(x_bucket[5m])) * on (node) max by (node) (y)) > 1",
        "histogram_quantile(0.9, topk by (le) (1, sum by (job) (rate(x_bucket[5m])))) > 1",
    ],
)
def test_le_lost_on_the_way_is_reported(expr: str) -> None:
    [message] = messages(CHECK, alert(expr))
    assert "aggregates `le` away" in message
