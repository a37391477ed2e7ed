"""Reading ALERTS history: pages within Prometheus's sample limit, every sample read once, and
failures in words. Against a small stand-in for Prometheus's HTTP API on 127.0.0.1 that keeps
the limit as Prometheus does (422, "too many samples") and counts what each query loads."""

import base64
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from responder.backtest import history
from responder.backtest.instances import Labels, Run, Timing, reconstruct

_RANGE = re.compile(r"\[(\d+)ms\]$")


@dataclass
class Fake:
    """What the stand-in serves: each series' sample times, its limit, and how it answers."""

    series: dict[str, list[float]]
    limit: int = 100
    groups: list[tuple[float, list[str]]] = field(default_factory=lambda: [(30.0, [])])  # interval, alertnames
    broken: str = ""  # "500", "json", "401", "hostile" (a 500 with control characters), "flags" (no flags page)
    loaded: list[int] = field(default_factory=list)  # samples each query loaded
    authorization: list[str] = field(default_factory=list)

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        if self.broken == "500":
            return 500, json.dumps({"status": "error", "errorType": "internal", "error": "disk on fire"}).encode()
        if self.broken == "hostile":
            return 500, json.dumps({"status": "error", "errorType": "x", "error": "\x1b[2J\nFAKE LINE"}).encode()
        if self.broken == "json":
            return 200, b"<html>log in</html>"
        if self.broken == "401":
            return 401, b"Unauthorized"
        if path == "/api/v1/status/flags" and self.broken != "flags":
            return self._ok({"query.max-samples": str(self.limit)})
        if path == "/api/v1/rules":
            groups = [
                {"name": f"g{i}", "interval": s, "rules": [{"name": name, "type": "alerting"} for name in names]}
                for i, (s, names) in enumerate(self.groups)
            ]
            return self._ok({"groups": groups})
        if path == "/api/v1/series":
            return self._ok([{"__name__": "ALERTS", "alertname": name} for name in self.series])
        if path == "/api/v1/query":
            return self._query(params)
        return 404, b"404 page not found"

    def _ok(self, data: Any) -> tuple[int, bytes]:
        return 200, json.dumps({"status": "success", "data": data}).encode()

    def _query(self, params: dict[str, str]) -> tuple[int, bytes]:
        match = _RANGE.search(params["query"])
        assert match and params["query"].startswith(history.SELECTOR)
        at, width = float(params["time"]), int(match.group(1)) / 1000
        result = [
            {
                "metric": {"__name__": "ALERTS", "alertname": name, "alertstate": "firing"},
                "values": [[t, "1"] for t in times if at - width <= t <= at],  # both ends, as Prometheus 2
            }
            for name, times in self.series.items()
        ]
        result = [r for r in result if r["values"]]
        loaded = sum(len(r["values"]) for r in result)
        self.loaded.append(loaded)
        if loaded > self.limit:
            error = "query processing would load too many samples into memory in query execution"
            return 422, json.dumps({"status": "error", "errorType": "execution", "error": error}).encode()
        return self._ok({"resultType": "matrix", "result": result})


@pytest.fixture
def served() -> Iterator[tuple[str, Fake]]:
    fake = Fake({})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fake.authorization.append(self.headers.get("Authorization", ""))
            parts = urllib.parse.urlsplit(self.path)
            status, body = fake.answer(parts.path, dict(urllib.parse.parse_qsl(parts.query)))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _every(start: float, end: float, step: float) -> list[float]:
    return [start + i * step for i in range(int((end - start) // step) + 1)]


EVERY_30S = Timing.fixed(30, None)


def _by_name(series: dict[Labels, list[Run]]) -> dict[str, list[Run]]:
    return {dict(k)["alertname"]: v for k, v in series.items()}


def test_pages_stay_within_the_limit_and_fold_samples_into_runs_across_them(served: tuple[str, Fake]) -> None:
    url, fake = served
    fake.series = {"A": [*_every(30, 3000, 30), *_every(6000, 7000, 30)], "B": _every(3000, 9000, 30), "C": [9990.0]}
    client = history.Prometheus(url)
    series = history.read_history(client, 0, 10000, EVERY_30S, history.max_samples(client))
    assert _by_name(series) == {"A": [(30, 3000), (6000, 6990)], "B": [(3000, 9000)], "C": [(9990, 9990)]}
    assert max(fake.loaded) <= fake.limit
    assert len(client.queries) > 5  # each run spans several pages
    assert all(("alertstate", "firing") not in key for key in series)


def test_a_page_never_asks_for_more_than_a_million_samples_whatever_the_limit(served: tuple[str, Fake]) -> None:
    url, fake = served
    fake.limit = history.DEFAULT_MAX_SAMPLES
    fake.series = {"A": [30.0, 60.0]}
    client = history.Prometheus(url)
    span = 3 * history.PAGE_SAMPLES * 30
    history.read_history(client, 0, span, EVERY_30S, history.max_samples(client))
    assert len(client.queries) == 4  # one series, a sample every 30s: (1,000,000 - 1) x 30 s a page
    assert max(end - start for start, end in client.queries) == (history.PAGE_SAMPLES - 1) * 30


def test_each_alert_is_cut_at_its_own_group_interval(served: tuple[str, Fake]) -> None:
    """One group every 15s must not cut the alerts of a group evaluated every minute at every
    sample; the pages still count on the 15s one."""
    url, fake = served
    fake.groups = [(15.0, ["Fast"]), (60.0, ["Slow"])]
    fake.series = {"Slow": _every(60, 3000, 60), "Fast": [*_every(15, 600, 15), *_every(660, 900, 15)]}
    client = history.Prometheus(url)
    timing = history.timing(client, None)
    series = history.read_history(client, 0, 10000, timing, history.max_samples(client))
    assert _by_name(series) == {"Slow": [(60, 3000)], "Fast": [(15, 600), (660, 900)]}
    assert max(fake.loaded) <= fake.limit
    slow = next(i for i in reconstruct(series, [], timing, (0, 10000)) if i.labels["alertname"] == "Slow")
    assert slow.end == 3060  # one evaluation of its own group after its last sample


def test_a_page_refused_for_too_many_samples_is_read_again_in_halves(served: tuple[str, Fake]) -> None:
    url, fake = served
    fake.series = {"A": _every(10, 5000, 10)}  # every 10s, where the interval read says 30s
    client = history.Prometheus(url)
    series = history.read_history(client, 0, 5000, EVERY_30S, 100)
    assert _by_name(series) == {"A": [(10, 5000)]}
    assert any(n > fake.limit for n in fake.loaded)  # refused, then read in halves
    widths = [end - start for start, end in client.queries]
    assert min(widths) < max(widths)


def test_page_length_follows_the_series_count_and_the_interval() -> None:
    assert history.page_seconds(series=10, interval=30, limit=1000) == 99 * 30
    assert history.page_seconds(series=0, interval=30, limit=1000) == 999 * 30
    assert history.page_seconds(series=5000, interval=30, limit=1000) == 30  # one sample a series at least


def test_the_limit_falls_back_to_prometheus_default_when_its_flags_cannot_be_read(served: tuple[str, Fake]) -> None:
    url, fake = served
    fake.broken = "flags"
    assert history.max_samples(history.Prometheus(url)) == history.DEFAULT_MAX_SAMPLES


def test_an_alert_interval_is_its_group_or_its_longest_group_or_the_default(served: tuple[str, Fake]) -> None:
    url, fake = served
    fake.groups = [(15.0, ["Fast", "Both"]), (60.0, ["Slow", "Both"])]
    timing = history.timing(history.Prometheus(url), None)
    assert [timing.interval(n) for n in ("Fast", "Slow", "Both", "Gone")] == [15.0, 60.0, 60.0, 60.0]
    assert (timing.shortest, timing.gap_of("Fast"), timing.gap_of("Slow")) == (15.0, 22.5, 90.0)
    assert history.timing(history.Prometheus(url), 300.0).gap_of("Fast") == 300.0  # --gap, for every alert
    fake.groups = []
    assert history.timing(history.Prometheus(url), None).shortest == history.DEFAULT_INTERVAL_SECONDS


@pytest.mark.parametrize(
    ("broken", "words"),
    [
        ("500", "answered 500 to /api/v1/series: internal: disk on fire; check Prometheus's log"),
        ("json", "did not answer /api/v1/series with Prometheus's JSON; check that --prometheus is"),
        ("401", "answered 401 to /api/v1/series: no Prometheus error in the answer; check the user and password"),
        ("hostile", "answered 500 to /api/v1/series: x: \\x1b[2J\\nFAKE LINE; check Prometheus's log"),
    ],
)
def test_a_failure_says_what_to_check_and_never_the_password(served: tuple[str, Fake], broken: str, words: str) -> None:
    url, fake = served
    fake.broken = broken
    secret_url = url.replace("http://", "http://reader:hunter2@")
    with pytest.raises(history.HistoryError) as raised:
        history.read_history(history.Prometheus(secret_url), 0, 100, EVERY_30S, 1000)
    assert words in str(raised.value)
    assert str(raised.value).isprintable()
    assert "hunter2" not in str(raised.value)
    assert "(credentials and query not shown)" in str(raised.value)


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("http://user:pa/ss@127.0.0.1:1", "'pa'"),  # ends the host early: "nonnumeric port: 'pa'"
        ("http://user:s3cr#et@127.0.0.1:1", "s3cr"),
        ("http://u:p4ss@[::1", "p4ss"),  # "Invalid IPv6 URL", a ValueError
    ],
)
def test_a_url_that_cannot_be_read_is_a_history_error_quoting_none_of_it(url: str, secret: str) -> None:
    with pytest.raises(history.HistoryError, match="the URL given as --prometheus cannot be read") as raised:
        history.Prometheus(url).get("/api/v1/status/flags")
    assert secret not in str(raised.value)
    assert "127.0.0.1" not in str(raised.value)


def test_a_user_and_password_in_the_url_are_sent_as_basic_auth(served: tuple[str, Fake]) -> None:
    url, fake = served
    history.max_samples(history.Prometheus(url.replace("http://", "http://reader:p%40ss@")))
    assert fake.authorization == ["Basic " + base64.b64encode(b"reader:p@ss").decode()]


def test_times_are_now_a_duration_ago_or_unix_seconds() -> None:
    assert history.parse_time("now", 1000.0, "--to") == 1000.0
    assert history.parse_time("10m", 1000.0, "--from") == 400.0
    assert history.parse_time("12.5", 1000.0, "--from") == 12.5
    with pytest.raises(ValueError, match="--from: 'yesterday' is neither now"):
        history.parse_time("yesterday", 1000.0, "--from")
