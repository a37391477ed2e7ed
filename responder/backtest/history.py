"""Reading the history of `ALERTS{alertstate="firing"}` from Prometheus, in raw samples.

A range query (`query_range`) would stretch every instance by Prometheus's 5-minute lookback,
and backfilled history has no staleness markers to stop it; so the history is read as raw
samples instead, by instant queries of a range selector, `ALERTS{alertstate="firing"}[w]` at the
end of each page. Pages are cut by time so that no query loads more samples than Prometheus's own
`query.max-samples` (read from its flags), nor more than PAGE_SAMPLES, what one page may hold in
memory here: the series in the window are counted first (the series API loads no samples) and
each holds at most one sample per evaluation interval (the shortest of the rule groups). A page
refused all the same (an interval read wrong) is read again in halves. Each page's samples are
folded into runs as it arrives (`instances.extend_runs`): what is kept grows with the instances,
not the samples.

Every failure is a `HistoryError` saying what to check; the URL is shown without credentials,
and Prometheus's own error text, untrusted, with its control characters escaped.
"""

import base64
import http.client
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from responder.backtest.instances import Labels, Run, Timing, extend_runs
from responder.durations import parse_duration
from responder.escalation.content import one_line
from responder.secrets import shown_url

SELECTOR = 'ALERTS{alertstate="firing"}'
DEFAULT_MAX_SAMPLES = 50_000_000  # Prometheus's own default for --query.max-samples
PAGE_SAMPLES = 1_000_000  # the most one page asks for, whatever query.max-samples allows
DEFAULT_INTERVAL_SECONDS = 60.0  # Prometheus's default evaluation_interval
MIN_PAGE_SECONDS = 1.0
_TOO_MANY_SAMPLES = "too many samples"


class HistoryError(RuntimeError):
    """Prometheus could not give the history; the message says what to check."""


@dataclass(frozen=True)
class Prometheus:
    """Prometheus's HTTP API at `url`; a user and password in the URL are sent as basic auth."""

    url: str
    timeout_seconds: float = 60.0
    queries: list[tuple[float, float]] = field(default_factory=list)  # each page read: (start, end]

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The `data` of Prometheus's answer to `path`; HistoryError when there is none."""
        where = f"Prometheus at {shown_url(self.url)}"
        try:
            with urllib.request.urlopen(self._request(path, params), timeout=self.timeout_seconds) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            raise HistoryError(
                f"{where} answered {exc.code} to {path}: {_error_of(exc.read())}; {_check(exc.code)}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise HistoryError(
                f"cannot reach {where}: {reason}; check --prometheus (scheme, host and port) and that it is running"
            ) from None
        except (ValueError, http.client.InvalidURL):  # their words may quote the URL: a password, even
            raise HistoryError(
                "the URL given as --prometheus cannot be read (its host or port): check them, and percent-encode "
                "/ ? # and @ in its user and password (%2F %3F %23 %40)"
            ) from None
        try:
            answer = json.loads(body)
            return answer["data"]
        except (ValueError, TypeError, KeyError):
            raise HistoryError(
                f"{where} did not answer {path} with Prometheus's JSON; check that --prometheus is Prometheus's "
                "own address (not a login page or a proxy)"
            ) from None

    def _request(self, path: str, params: Mapping[str, str] | None) -> urllib.request.Request:
        """The request for `path`, to the URL without its user and password, which go as basic auth."""
        parts = urllib.parse.urlsplit(self.url)
        base = urllib.parse.urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        request = urllib.request.Request(base.rstrip("/") + path + query)
        if parts.username is not None:
            pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
        return request


def _error_of(body: bytes) -> str:
    try:
        answer = json.loads(body)
        return one_line(f"{answer['errorType']}: {answer['error']}")
    except (ValueError, TypeError, KeyError):
        return "no Prometheus error in the answer"


def _check(code: int) -> str:
    if code in (401, 403):
        return "check the user and password in --prometheus (user:password@host)"
    if code == 404:
        return "check that --prometheus is Prometheus's base URL, with its path prefix if it has one"
    if code == 422 or code == 400:
        return "check --from and --to"
    return "check Prometheus's log"


def max_samples(prometheus: Prometheus) -> int:
    """Prometheus's `query.max-samples`, or its default when its flags cannot be read."""
    try:
        flags = prometheus.get("/api/v1/status/flags")
        return int(flags["query.max-samples"])
    except (HistoryError, KeyError, TypeError, ValueError):
        return DEFAULT_MAX_SAMPLES


def timing(prometheus: Prometheus, gap: float | None) -> Timing:
    """Each alertname's evaluation interval, from the rule groups that list it (ALERTS gets a
    sample per evaluation of its group while an alert fires); Prometheus's default for an alert
    no group lists, and as the shortest when there is no group."""
    groups = prometheus.get("/api/v1/rules", {"type": "alert"}).get("groups") or []
    intervals: dict[str, float] = {}
    every: list[float] = []
    for group in groups:
        interval = float(group.get("interval") or 0)
        if interval <= 0:
            continue
        every.append(interval)
        for rule in group.get("rules") or []:
            name = rule.get("name", "")
            intervals[name] = max(interval, intervals.get(name, 0.0))
    return Timing(intervals, DEFAULT_INTERVAL_SECONDS, min(every, default=DEFAULT_INTERVAL_SECONDS), gap)


def series_count(prometheus: Prometheus, start: float, end: float) -> int:
    """How many ALERTS series fired in the window (metadata only: no samples are loaded)."""
    params = {"match[]": SELECTOR, "start": f"{start:.3f}", "end": f"{end:.3f}"}
    return len(prometheus.get("/api/v1/series", params))


def page_seconds(series: int, interval: float, limit: int) -> float:
    """The longest page whose samples stay within `limit`: each series holds at most one sample
    per `interval`, and one more at the page's edge."""
    per_series = max(limit // max(series, 1) - 1, 1)
    return max(per_series * interval, MIN_PAGE_SECONDS)


def parse_time(text: str, now: float, flag: str) -> float:
    """`--from`/`--to`: `now`, a duration ago (30d, 6h) or Unix seconds; ValueError in words."""
    if text == "now":
        return now
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return now - parse_duration(text)
    except ValueError:
        raise ValueError(f"{flag}: {text!r} is neither now, a duration ago (30d, 6h) nor Unix seconds") from None


def read_history(
    prometheus: Prometheus, start: float, end: float, timing: Timing, limit: int
) -> dict[Labels, list[Run]]:
    """Each firing series' runs of samples in (start, end], in time order, keyed by its labels
    without `alertstate`; samples further apart than the alert's gap start a new run."""
    series: dict[Labels, list[Run]] = {}
    width = page_seconds(series_count(prometheus, start, end), timing.shortest, min(limit, PAGE_SAMPLES))
    at = start
    while at < end:
        upto = min(at + width, end)
        try:
            result = _page(prometheus, at, upto)
        except HistoryError as exc:
            if _TOO_MANY_SAMPLES not in str(exc) or width <= MIN_PAGE_SECONDS:
                raise
            width = max(width / 2, MIN_PAGE_SECONDS)
            continue
        for item in result:
            labels = tuple(sorted((k, v) for k, v in item["metric"].items() if k != "alertstate"))
            gap = timing.gap_of(item["metric"].get("alertname", ""))
            extend_runs(series.setdefault(labels, []), (t for t, _ in item["values"] if at < t <= upto), gap)
        at = upto
    return series


def _page(prometheus: Prometheus, start: float, end: float) -> list[dict[str, Any]]:
    prometheus.queries.append((start, end))
    milliseconds = math.ceil((end - start) * 1000)
    params = {"query": f"{SELECTOR}[{milliseconds}ms]", "time": f"{end:.3f}"}
    data = prometheus.get("/api/v1/query", params)
    result: list[dict[str, Any]] = data["result"]
    return result
