from responder.dashboards.variables import names, substitute


def test_rate_interval_and_template_variables_are_replaced_as_grafana_would() -> None:
    expr = 'sum(rate(x{instance=~"$instance", job=~"${job}"}[$__rate_interval]))'
    assert substitute(expr, "1m", {"job": "api"}) == 'sum(rate(x{instance=~".*", job=~"api"}[1m]))'


def test_formatted_variables_are_recognised() -> None:
    assert names('x{a=~"${a:regex}", b="$b"}[$__rate_interval]') == {"a", "b", "__rate_interval"}
