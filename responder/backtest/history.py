"""Reading the history of `ALERTS{alertstate="firing"}` from Prometheus, in raw samples.

A range query (`query_range`) would stretch every instance by Prometheus's 5-minute lookback,
and backfilled history has no staleness markers to stop it; so the history is read as raw
samples instead, by instant queries of a range selector, `ALERTS{alertstate="firing"}[w]` at the
end of each page. Pages are cut by time so that no query loads more samples than Prometheus's own
`query.max-samples` (read from its flags): the series in the window are counted first (the
series API loads no samples) and each holds at most one sample per evaluation interval. A page
refused all the same (an interval read wrong) is read again in halves.

Every failure is a `HistoryError` saying what to check; the URL is shown without credentials.
"""

import base64
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from responder.backtest.instances import Labels
from responder.durations import parse_duration
from responder.secrets import shown_url

SELECTOR = 'ALERTS{alertstate="firing"}'
DEFAULT_MAX_SAMPLES = 50_000_000  # Prometheus's own default for --query.max-samples
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
        parts = urllib.parse.urlsplit(self.url)
        base = urllib.parse.urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        request = urllib.request.Request(base.rstrip("/") + path + query)
        if parts.username is not None:
            pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
        where = f"Prometheus at {shown_url(self.url)}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
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
        try:
            answer = json.loads(body)
            return answer["data"]
        except (ValueError, TypeError, KeyError):
            raise HistoryError(
                f"{where} did not answer {path} with Prometheus's JSON; check that --prometheus is Prometheus's "
                "own address (not a login page or a proxy)"
            ) from None


def _error_of(body: bytes) -> str:
    try:
        answer = json.loads(body)
        return f"{answer['errorType']}: {answer['error']}"
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


def evaluation_interval(prometheus: Prometheus) -> float:
    """The shortest evaluation interval of Prometheus's rule groups (ALERTS gets a sample per
    evaluation while an alert fires), or Prometheus's default when it has none."""
    groups = prometheus.get("/api/v1/rules", {"type": "alert"}).get("groups") or []
    intervals = [float(g["interval"]) for g in groups if float(g.get("interval") or 0) > 0]
    return min(intervals, default=DEFAULT_INTERVAL_SECONDS)


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
    prometheus: Prometheus, start: float, end: float, interval: float, limit: int
) -> dict[Labels, list[float]]:
    """Each firing series' sample times in (start, end], sorted, keyed by its labels without
    `alertstate`."""
    series: dict[Labels, list[float]] = {}
    width = page_seconds(series_count(prometheus, start, end), interval, limit)
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
            times = series.setdefault(labels, [])
            times.extend(t for t, _ in item["values"] if at < t <= upto)
        at = upto
    for times in series.values():
        times.sort()
    return series


def _page(prometheus: Prometheus, start: float, end: float) -> list[dict[str, Any]]:
    prometheus.queries.append((start, end))
    milliseconds = math.ceil((end - start) * 1000)
    params = {"query": f"{SELECTOR}[{milliseconds}ms]", "time": f"{end:.3f}"}
    data = prometheus.get("/api/v1/query", params)
    result: list[dict[str, Any]] = data["result"]
    return result
