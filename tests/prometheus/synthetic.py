"""Synthetic history for tests/prometheus/series.yaml, as OpenMetrics text for promtool to backfill.

Backfilling (rather than scraping an exporter for a minute) gives the queries real history: the
1h and 1d windows of the SLO alerts see full windows of data, and a spike over a 24-hour baseline
can be drawn at all. Values are exact functions of time, so every run sees the same numbers.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HISTORY_SECONDS = 26 * 3600  # a day and then some: the 1d windows see a full baseline
STEP_SECONDS = 30
RECENT_SECONDS = 30 * 60


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def _counter(spec: dict[str, Any], elapsed: float) -> float:
    """A counter growing at `rate`, then at `recent_rate` for the last RECENT_SECONDS."""
    recent_start = HISTORY_SECONDS - RECENT_SECONDS
    recent_rate = float(spec.get("recent_rate", spec["rate"]))
    before = min(elapsed, recent_start) * float(spec["rate"])
    return before + max(0.0, elapsed - recent_start) * recent_rate


def _samples(
    name: str, family: dict[str, Any], spec: dict[str, Any], labels: dict[str, str], end: float, t: float
) -> Iterator[Sample]:
    elapsed = t - (end - HISTORY_SECONDS)
    kind = family["type"]
    if kind == "gauge":
        yield Sample(name, labels, float(spec["value"]) - float(spec.get("slope", 0)) * (end - t))
    elif kind == "timestamp":
        yield Sample(name, labels, end - float(spec["age"]))
    elif kind == "counter":
        yield Sample(name, labels, _counter(spec, elapsed))
    elif kind == "histogram":
        count = _counter(spec, elapsed)
        for le, share in family["buckets"].items():
            yield Sample(f"{name}_bucket", {**labels, "le": le}, count * float(share))
        yield Sample(f"{name}_count", labels, count)
        yield Sample(f"{name}_sum", labels, count * float(spec["mean"]))
    else:
        raise ValueError(f"{name}: unknown type {kind!r}; use gauge, counter, histogram or timestamp")


def load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text("utf-8"))
    return document


def series_names(document: dict[str, Any]) -> set[str]:
    """Every series name the history will hold (histograms expand to _bucket, _count, _sum)."""
    names: set[str] = set()
    for name, family in document["metrics"].items():
        suffixes = ("_bucket", "_count", "_sum") if family["type"] == "histogram" else ("",)
        names.update(name + suffix for suffix in suffixes)
    return names


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def openmetrics(document: dict[str, Any], end: float) -> str:
    """The whole history, one family after another, each series in time order, `# EOF` last."""
    by_name: dict[str, list[str]] = {}
    times = [end - HISTORY_SECONDS + i * STEP_SECONDS for i in range(HISTORY_SECONDS // STEP_SECONDS + 1)]
    for name, family in document["metrics"].items():
        for spec in family["series"]:
            labels = {**document["default_labels"], **spec["labels"]}
            for t in times:
                for sample in _samples(name, family, spec, labels, end, t):
                    rendered = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(sample.labels.items()))
                    by_name.setdefault(sample.name, []).append(
                        f"{sample.name}{{{rendered}}} {sample.value:.6f} {t:.3f}"
                    )
    lines = []
    for name, samples in by_name.items():
        lines.append(f"# TYPE {name} unknown")
        lines.extend(samples)
    return "\n".join([*lines, "# EOF", ""])
