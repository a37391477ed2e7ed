from responder.catalogue.lint.range_windows import CHECK
from tests.unit.catalogue.lint.factory import alert, messages


def test_a_window_of_four_scrapes_passes() -> None:
    assert messages(CHECK, alert("rate(x_total[1m]) > 1")) == []


def test_a_window_shorter_than_four_scrapes_is_reported() -> None:
    [message] = messages(CHECK, alert("rate(x_total[30s]) > 1"))
    assert "30s is shorter than 4 scrapes (60s at a 15s scrape interval)" in message


def test_subquery_ranges_are_checked_too() -> None:
    assert len(messages(CHECK, alert("max_over_time(x[45s:15s]) > 1"))) == 1


def test_the_systems_scrape_interval_decides() -> None:
    slow_scrape = alert("rate(x_total[2m]) > 1", scrape_seconds=60.0)
    assert len(messages(CHECK, slow_scrape)) == 1
