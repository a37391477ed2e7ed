from responder.catalogue.lint.rule_dependencies import CHECK
from responder.catalogue.lint_base import Context
from tests.unit.catalogue.lint.factory import CONTEXT, alert, messages

RECORDED = Context(
    **{
        **CONTEXT.__dict__,
        "recorded_names": frozenset({"job:errors:sum", "job:errors:rate5m"}),
        "recorded_exprs": {
            "job:errors:sum": "sum by (job) (errors_total)",
            "job:errors:rate5m": "sum by (job) (rate(errors_total[5m]))",
        },
    }
)


def test_a_recorded_name_nobody_records_is_reported() -> None:
    [message] = messages(CHECK, alert("job:requests:rate5m > 1"))
    assert "no recording rule in the catalogue writes it" in message


def test_a_recorded_name_the_catalogue_records_passes() -> None:
    assert messages(CHECK, alert("job:errors:rate5m > 1"), ctx=RECORDED) == []


def test_rate_over_a_recorded_sum_of_counters_is_reported() -> None:
    [message] = messages(CHECK, alert("rate(job:errors:sum[5m]) > 1"), ctx=RECORDED)
    assert "records a sum of raw counters" in message


def test_rate_over_a_plain_counter_passes() -> None:
    assert messages(CHECK, alert("rate(errors_total[5m]) > 1"), ctx=RECORDED) == []
