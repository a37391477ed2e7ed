"""ALERTS history as OpenMetrics text for promtool to backfill: one sample per evaluation while
an alert fires, as Prometheus's rule manager writes `ALERTS{alertstate="firing"}`, and nothing
in between (backfilled history has no staleness markers)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Firing:
    """An alert with `labels` (alertname among them) firing from `start` to `end`: samples at
    each evaluation from `start` while before `end`."""

    labels: Mapping[str, str]
    start: float
    end: float


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def openmetrics(firings: Sequence[Firing], interval: float) -> str:
    """The samples of every firing, series by series in time order, `# EOF` last."""
    by_series: dict[str, list[float]] = {}
    for firing in firings:
        labels = {**firing.labels, "alertstate": "firing"}
        rendered = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
        times = by_series.setdefault(rendered, [])
        at = firing.start
        while at < firing.end:
            times.append(at)
            at += interval
    lines = ["# TYPE ALERTS gauge"]
    for rendered, times in by_series.items():
        lines.extend(f"ALERTS{{{rendered}}} 1 {t:.3f}" for t in sorted(set(times)))
    return "\n".join([*lines, "# EOF", ""])
