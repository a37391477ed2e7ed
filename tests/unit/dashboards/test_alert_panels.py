from dataclasses import replace

import pytest

from responder.catalogue.model import Alert, System
from responder.dashboards.alert_panels import AlertPanelError, Quantity, alert_panel
from tests.unit.dashboards.test_build import system_with

UNITS = {"Example": "short"}


def _panel(expr: str, severity: str = "critical") -> list[Quantity]:
    system: System = system_with(expr, severity)
    return list(alert_panel(system, system.alerts[0], UNITS).quantities)


def test_a_number_on_the_right_is_the_threshold_coloured_above_for_greater_than() -> None:
    assert _panel("max without (pod) (cost) > 0.50") == [
        Quantity("max without (pod) (cost)", "__auto", ((None, "green"), (0.5, "red")))
    ]


def test_less_than_colours_below_and_integers_stay_integers() -> None:
    assert _panel("queue < 100", "warning") == [Quantity("queue", "__auto", ((None, "orange"), (100, "green")))]


def test_a_number_on_the_left_is_mirrored() -> None:
    assert _panel("0.95 > accuracy", "info") == [Quantity("accuracy", "__auto", ((None, "blue"), (0.95, "green")))]


def test_equality_on_a_state_gauge_colours_one_band() -> None:
    [quantity] = _panel('up{job="x"} == 0 or absent(up{job="x"})')
    assert quantity.steps == ((None, "green"), (0, "red"), (1, "green"))


def test_each_side_of_or_is_drawn_and_the_right_of_and_is_a_condition() -> None:
    quantities = _panel("(a > 0.1 and b > 0.1) or (c > 0.2 and d > 0.2)")
    assert [q.expr for q in quantities] == ["a", "c"]


def test_a_comparison_inside_an_aggregation_is_found() -> None:
    assert [q.expr for q in _panel("max without (pod) (backlog > 100 and deriv(backlog[10m]) > 0)")] == ["backlog"]


def test_a_moving_threshold_is_drawn_as_its_own_series() -> None:
    quantities = _panel("sum(rate(deny_total[30m])) > 3 * sum(rate(deny_total[1d]))", "warning")
    assert [(q.legend, q.steps) for q in quantities] == [("__auto", None), ("threshold (>)", None)]


def test_an_alert_without_a_comparison_cannot_be_drawn() -> None:
    with pytest.raises(AlertPanelError, match="no comparison to draw"):
        _panel('absent(up{job="x"})')


def test_the_description_links_the_runbook_and_shows_the_rule() -> None:
    system = system_with("cost > 1")
    alert: Alert = replace(system.alerts[0], runbook_url="https://runbooks.example.com/r#example")
    panel = alert_panel(system, alert, UNITS)
    assert "[https://runbooks.example.com/r#example](https://runbooks.example.com/r#example)" in panel.description
    assert "```promql\ncost > 1\n```" in panel.description
    assert panel.title == "Example (critical)"
