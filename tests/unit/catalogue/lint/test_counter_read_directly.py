import pytest

from responder.catalogue.lint.counter_read_directly import CHECK
from tests.unit.catalogue.lint.factory import alert, messages


@pytest.mark.parametrize(
    "expr",
    [
        "errors_total > 10",
        "max_over_time(errors_total[1h]) > 10",
        "kubelet_evictions > 0",  # a counter without _total, known from the table
        "sum(x_sum) / sum(x_count) > 1",
    ],
)
def test_counters_read_directly_are_reported(expr: str) -> None:
    found = messages(CHECK, alert(expr))
    assert found and "is read directly" in found[0]


@pytest.mark.parametrize(
    "expr",
    [
        "rate(errors_total[5m]) > 1",
        "increase(errors_total[1h]) > 10",
        "count(errors_total) < 3",
        "absent(errors_total)",
        "changes(process_start_time_seconds[1h]) > 2 and resets(errors_total[1h]) > 2",
        "time() - timestamp(errors_total) > 300",
        "some_vendor_gauge > 10",  # unknown type: never reported
    ],
)
def test_counters_through_reset_safe_functions_pass(expr: str) -> None:
    assert messages(CHECK, alert(expr)) == []
