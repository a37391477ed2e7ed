from responder.dashboards.lint.rate_interval import CHECK
from tests.unit.dashboards.lint.factory import built, messages, with_expr


def test_rate_interval_and_the_alerts_own_window_pass() -> None:
    assert messages(CHECK, built()) == []


def test_a_fixed_window_on_a_hand_written_panel_is_reported() -> None:
    assert messages(CHECK, with_expr(1, "sum(rate(api_requests_total[5m]))")) == [
        "panel 2 ('panel 2') query A uses a fixed 300s window; use [$__rate_interval]"
    ]


def test_an_alert_panel_with_a_window_its_alert_does_not_use_is_reported() -> None:
    [message] = messages(CHECK, with_expr(2, "sum(increase(rollbacks_total[$__rate_interval]))"))
    assert "window its alert does not" in message


def test_a_query_that_does_not_parse_is_reported() -> None:
    [message] = messages(CHECK, with_expr(1, "sum(rate(api_requests_total[$__rate_interval])"))
    assert message.startswith("panel 2 ('panel 2') query A does not parse as PromQL")
