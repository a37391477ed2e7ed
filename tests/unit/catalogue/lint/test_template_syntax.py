import pytest

from responder.catalogue.lint.template_syntax import CHECK
from responder.catalogue.lint_base import Severity
from tests.unit.catalogue.lint.factory import alert, messages, notes


def _with_description(description: str, expr: str = "sum by (job) (rate(x_total[5m])) > 1") -> list[str]:
    annotations = {**alert().annotations, "description": description}
    return messages(CHECK, alert(expr, annotations=annotations))


@pytest.mark.parametrize(
    ("description", "problem"),
    [
        ("{{ $labels.job ", "never closed"),
        ('{{ "abc }}', "unterminated quoted string"),
        ("{{ if gt $value 1.0 }}high", "has no {{ end }}"),
        ("{{ end }}", "without an opening"),
        ("{{ $value | humanise }}", "function 'humanise' is not defined"),
        ("{{ $foo }}", "undefined variable '$foo'"),
    ],
)
def test_templates_prometheus_would_refuse_are_reported(description: str, problem: str) -> None:
    found = _with_description(description)
    assert any(problem in m and "Prometheus refuses the file" in m for m in found), found


@pytest.mark.parametrize(
    "description",
    [
        "{{ $value | humanize }} on {{ $labels.job }}",
        "{{ if gt $value 1.0 }}high{{ else }}low{{ end }} {{ printf `%.2f` $value }}",
        '{{ with query "up" }}{{ . | first | label "instance" }}{{ end }}',
        '{{/* a comment */}}{{- $labels.job -}} {{ index $labels "job" }} {{ $x := 1 }}{{ $x }}',
    ],
)
def test_templates_that_parse_and_read_surviving_labels_pass(description: str) -> None:
    assert _with_description(description) == []


def test_a_label_the_aggregation_dropped_is_reported() -> None:
    [message] = _with_description("{{ $value | humanize }} on {{ $labels.instance }}")
    assert "reads $labels.instance, which the expression cannot return" in message


def test_a_label_kept_through_a_join_passes() -> None:
    expr = "sum by (instance) (rate(x_total[5m])) * on (instance) group_left (node) node_uname_info > 1"
    assert _with_description("{{ $value | humanize }} {{ $labels.node }}", expr) == []


def test_a_raw_value_of_a_rate_is_a_warning() -> None:
    annotations = {**alert().annotations, "description": "rate is {{ $value }}"}
    [note] = notes(CHECK, alert("sum by (job) (rate(x_total[5m])) > 1", annotations=annotations))
    assert note.severity == Severity.WARNING and "humanize" in note.message


def test_a_raw_value_of_a_gauge_or_a_quantile_is_fine() -> None:
    assert _with_description("{{ $value }} items", "max by (job) (queue_depth) > 100") == []
    quantile = "histogram_quantile(0.99, sum by (job, le) (rate(x_bucket[5m]))) > 10"
    assert _with_description("{{ $value }} seconds on {{ $labels.job }}", quantile) == []


def test_a_label_read_from_a_query_that_aggregated_it_away_is_reported() -> None:
    found = _with_description('{{ with query "sum(up)" }}{{ . | first | label "instance" }}{{ end }}')
    assert any("reads label 'instance' from query 'sum(up)'" in m for m in found)


def test_a_query_that_does_not_parse_is_reported() -> None:
    found = _with_description('{{ with query "sum(up" }}{{ . | first | value }}{{ end }}')
    assert any("runs query 'sum(up', which does not parse" in m for m in found)
