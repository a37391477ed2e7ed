from responder.dashboards.lint.template_variables import CHECK
from tests.unit.dashboards.lint.factory import built, messages, model, with_expr


def test_filtered_queries_pass_and_alert_panels_are_left_as_the_alert_has_them() -> None:
    assert messages(CHECK, built()) == []


def test_a_query_that_ignores_a_variable_is_reported() -> None:
    assert messages(CHECK, with_expr(1, "sum(rate(api_requests_total[$__rate_interval]))")) == [
        "panel 2 ('panel 2') query A: api_requests_total does not filter by $instance; "
        'add $filters (or instance=~"$instance") to it'
    ]


def test_recorded_series_need_no_filter() -> None:
    assert messages(CHECK, with_expr(1, 'slo:sli_error:ratio_rate5m{slo="x"}')) == []


def test_a_dashboard_without_label_variables_is_reported() -> None:
    changed = model()
    changed["templating"]["list"] = changed["templating"]["list"][:1]
    changed["panels"] = changed["panels"][:1]
    assert messages(CHECK, built(changed)) == [
        "no template variable for a label dimension (namespace, service, instance …); add one"
    ]


def test_a_single_value_variable_is_reported() -> None:
    changed = model()
    changed["templating"]["list"][1]["includeAll"] = False
    [message] = messages(CHECK, built(changed))
    assert message.startswith("variable instance: needs multi, includeAll and allValue")


def test_a_misspelt_variable_is_reported() -> None:
    found = messages(CHECK, with_expr(1, 'sum(rate(api_requests_total{instance=~"$instnace"}[$__rate_interval]))'))
    assert "panel 2 ('panel 2') query A: $instnace is not a variable of this dashboard" in found
