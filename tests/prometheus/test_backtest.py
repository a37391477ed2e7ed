"""`responder backtest` against a real Prometheus holding a known ALERTS history.

The history (backfilled by promtool, 30s evaluations, two days from a UTC midnight):
- day 0 from 10:00: ShopWebFlapping (critical, FREEZE_DEPLOYMENTS on shop/web) fires five
  times, 5 minutes each, 20 minutes apart: with a 30m cooldown the 1st, 3rd and 5th freeze and
  the 2nd and 4th are refused; with 2h, only the 1st freezes.
- day 1 at 12:00: ShopOverloaded (critical, EMERGENCY_STOP on the deployment its label names)
  fires on four deployments at once, for 10 minutes: the circuit breaker (3 changes per 10m)
  lets three stops through and refuses the fourth.
- day 1 from 22:30: ShopSlow (warning, INVESTIGATE) fires until the window ends: its ladder's
  pagerduty rung (after 60m) runs, since nobody acknowledges.
- Watchdog fires all along, from before the window opened: it is counted apart, as already
  firing, and none of its messages is counted.
Prometheus runs with --query.max-samples=250, fewer than the window holds, so the reads are paged.
"""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from responder.backtest import history
from responder.backtest.instances import Timing
from responder.cli import main
from tests.conftest import REPO, real_binary
from tests.prometheus import server
from tests.prometheus.alerts_history import Firing, openmetrics

INTERVAL = 30.0
MAX_SAMPLES = 250  # below the window's 6071 samples: one query for all of it is refused
DAY = 86400.0
DAY0 = (time.time() // DAY - 3) * DAY  # a UTC midnight three days ago: the whole window is in the past
END = DAY0 + 2 * DAY
SHOP = {"severity": "critical", "team": "shop"}
RULES = {
    "groups": [
        {
            "name": "shop.alerts",
            "rules": [
                {
                    "alert": "ShopWebFlapping",
                    "expr": "vector(1)",
                    "labels": SHOP,
                    "annotations": {
                        "action": "FREEZE_DEPLOYMENTS",
                        "summary": "shop web flaps",
                        "target_namespace": "shop",
                        "target_deployment": "web",
                    },
                },
                {
                    "alert": "ShopOverloaded",
                    "expr": "vector(1)",
                    "labels": SHOP,
                    "annotations": {
                        "action": "EMERGENCY_STOP",
                        "summary": "{{ $labels.deployment }} overloaded",
                        "target_namespace": "shop",
                        "target_deployment": "{{ $labels.deployment }}",
                    },
                },
                {
                    "alert": "ShopSlow",
                    "expr": "vector(1)",
                    "labels": {"severity": "warning", "team": "shop"},
                    "annotations": {"action": "INVESTIGATE", "target_namespace": "shop", "target_deployment": "web"},
                },
            ],
        }
    ]
}


def _firings() -> list[Firing]:
    flapping = [
        Firing({"alertname": "ShopWebFlapping", **SHOP}, DAY0 + 10 * 3600 + n * 1200, DAY0 + 10 * 3600 + n * 1200 + 300)
        for n in range(5)
    ]
    storm_at = DAY0 + DAY + 12 * 3600
    storm = [
        Firing({"alertname": "ShopOverloaded", **SHOP, "deployment": f"d{n}"}, storm_at, storm_at + 600)
        for n in range(4)
    ]
    slow = Firing({"alertname": "ShopSlow", "severity": "warning", "team": "shop"}, END - 90 * 60, END + 600)
    watchdog = Firing({"alertname": "Watchdog", "severity": "none"}, DAY0 - 3600, END + 600)
    return [*flapping, *storm, slow, watchdog]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary, promtool = real_binary("prometheus"), real_binary("promtool")
    root = tmp_path_factory.mktemp("backtest")
    flags = [f"--query.max-samples={MAX_SAMPLES}"]
    with server.prometheus(binary, promtool, root, openmetrics(_firings(), INTERVAL), flags=flags) as url:
        yield url


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("rules")
    (folder / "shop.rules.yml").write_text(yaml.safe_dump(RULES), "utf-8")
    return folder


def _policy(folder: Path, cooldown: str) -> Path:
    document: dict[str, Any] = yaml.safe_load((REPO / "responder" / "default_policy.yaml").read_text("utf-8"))
    document["circuit_breaker"] = {"max_mutations": 3, "window": "10m"}
    document["actions"]["FREEZE_DEPLOYMENTS"]["cooldown"] = cooldown
    path = folder / f"responder-{cooldown}.yaml"
    path.write_text(yaml.safe_dump(document), "utf-8")
    return path


def _backtest(prometheus: str, rules: Path, policy: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    argv = ["backtest", "--prometheus", prometheus, "--from", f"{DAY0:.0f}", "--to", f"{END:.0f}"]
    argv += ["--rules", str(rules), "--config", str(policy), "--evaluation-interval", "30s", "--output", "json"]
    assert main(argv) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def _alert(report: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(a for a in report["alerts"] if a["alertname"] == name)
    return found


def _day(offset: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(DAY0 + offset * DAY))


def test_the_known_history_gives_exactly_the_expected_counts(
    prometheus: str, rules: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = _backtest(prometheus, rules, _policy(tmp_path, "30m"), capsys)
    assert (report["instances"], report["already_firing"]) == (11, 1)
    watchdog = _alert(report, "Watchdog")
    assert (watchdog["fired"], watchdog["already_firing"], watchdog["messages"]) == (0, 1, {})
    flapping = _alert(report, "ShopWebFlapping")
    assert (flapping["fired"], flapping["planned"], flapping["refused"]) == (
        5,
        {"FREEZE_DEPLOYMENTS": 3},
        {"cooldown": 2},
    )
    # Each instance resolves after 5m: before the 15m SMS rung, unless refused (the whole ladder at once).
    assert flapping["messages"] == {"slack": 10, "pagerduty": 10, "sms": 4}
    storm = _alert(report, "ShopOverloaded")
    assert (storm["fired"], storm["planned"], storm["refused"]) == (4, {"EMERGENCY_STOP": 3}, {"circuit_breaker": 1})
    assert storm["messages"] == {"slack": 8, "pagerduty": 8, "sms": 8}
    slow = _alert(report, "ShopSlow")
    assert (slow["fired"], slow["planned"], slow["messages"]) == (1, {"INVESTIGATE": 1}, {"slack": 1, "pagerduty": 1})
    assert report["messages_per_day"] == {
        _day(0): {"pagerduty": 10, "slack": 10, "sms": 4},
        _day(1): {"pagerduty": 9, "slack": 9, "sms": 8},
    }
    assert report["busiest_hour"] == {"hour": time.strftime("%Y-%m-%dT12:00Z", time.gmtime(DAY0 + DAY)), "firings": 4}
    assert report["flapping"] == [{"alertname": "ShopWebFlapping", "target": "shop/web", "firings": 5}]


def test_a_longer_cooldown_freezes_once_and_refuses_the_other_four(
    prometheus: str, rules: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flapping = _alert(_backtest(prometheus, rules, _policy(tmp_path, "2h"), capsys), "ShopWebFlapping")
    assert (flapping["planned"], flapping["refused"]) == ({"FREEZE_DEPLOYMENTS": 1}, {"cooldown": 4})
    assert flapping["messages"] == {"slack": 10, "pagerduty": 10, "sms": 8}


def test_the_history_is_read_in_pages_within_prometheus_max_samples(prometheus: str) -> None:
    client = history.Prometheus(prometheus)
    limit = history.max_samples(client)
    series = history.read_history(client, DAY0, END, Timing.fixed(INTERVAL, None), limit)
    assert limit == MAX_SAMPLES
    widths = {round(end - start, 3) for start, end in client.queries[:-1]}
    assert widths == {history.page_seconds(7, INTERVAL, MAX_SAMPLES)}  # no page refused and read again
    assert len(client.queries) > 10
    runs = {dict(labels)["alertname"]: found for labels, found in sorted(series.items())}
    flaps = [(DAY0 + 10 * 3600 + n * 1200, DAY0 + 10 * 3600 + n * 1200 + 270) for n in range(5)]
    assert runs["ShopWebFlapping"] == flaps  # 5 runs of 10 samples, none cut at a page's edge
    assert runs["ShopOverloaded"] == [(DAY0 + DAY + 12 * 3600, DAY0 + DAY + 12 * 3600 + 570)]
    assert runs["ShopSlow"] == [(END - 90 * 60, END)]
    assert runs["Watchdog"] == [(DAY0 + INTERVAL, END)]  # (from, to]: its sample at the window's start is before it


def test_the_whole_window_in_one_query_is_what_prometheus_refuses(prometheus: str) -> None:
    client = history.Prometheus(prometheus)
    with pytest.raises(history.HistoryError, match="too many samples"):
        client.get("/api/v1/query", {"query": f"{history.SELECTOR}[2d]", "time": f"{END:.0f}"})


def test_an_unreachable_prometheus_is_named_without_its_password(capsys: pytest.CaptureFixture[str]) -> None:
    port = server.free_port()
    argv = ["backtest", "--prometheus", f"http://user:s3cret@127.0.0.1:{port}", "--rules", str(REPO / "rules")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"cannot reach Prometheus at http://127.0.0.1:{port} (credentials and query not shown)" in err
    assert "s3cret" not in err


def _both_groups_loaded(url: str) -> bool:
    """Listed with their intervals as soon as loaded: the 2m group's first evaluation may be two
    minutes away."""
    return len(server.api(url, "/api/v1/rules")["groups"]) == 2


def test_each_alert_evaluation_interval_is_read_from_prometheus_rule_groups(tmp_path: Path) -> None:
    rules = tmp_path / "mixed.rules.yml"
    never = {"alert": "Never", "expr": "vector(1) == 0"}
    groups = [
        {"name": "fast", "interval": "20s", "rules": [never, {"alert": "Fast", "expr": "vector(1) == 0"}]},
        {"name": "slow", "interval": "2m", "rules": [never]},
    ]
    rules.write_text(yaml.safe_dump({"groups": groups}), "utf-8")
    binary, promtool = real_binary("prometheus"), real_binary("promtool")
    history_text = openmetrics(_firings()[:1], INTERVAL)
    with server.prometheus(binary, promtool, tmp_path, history_text, [rules], ready=_both_groups_loaded) as url:
        timing = history.timing(history.Prometheus(url), None)
    assert (timing.interval("Fast"), timing.interval("Never"), timing.shortest) == (20.0, 120.0, 20.0)
