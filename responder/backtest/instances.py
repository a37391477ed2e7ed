"""Alert instances from raw ALERTS samples: identity, start and end, and the rule's annotations.

ALERTS carries an alert's labels (plus `alertstate`), one sample per rule evaluation while it
fires, at the evaluation interval of its rule's group. An instance starts at its first sample and
ends where its samples stop for longer than its gap (1.5 of its own intervals unless given):
Prometheus writes no staleness marker into backfilled history, so the end is told by the samples'
absence. An instance's end is its last sample plus one evaluation interval (the evaluation that
found it no longer firing), unless its samples reach the end of the window: it was still firing
then, and is never resolved. One whose first sample is within its gap of the window's start was
already firing when the window opened: its firing happened before, and is reported apart.

Annotations are not in ALERTS: they come from the generated rule files, the rule of the same
alertname whose own labels the series carries (an alertname can have one rule per severity).
`{{ $labels.x }}` and `{{ .Labels.x }}` are filled in from the labels; any other template is
kept as written.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from responder.yamlio import load_yaml

Labels = tuple[tuple[str, str], ...]  # sorted (name, value) pairs: hashable, stable
Run = tuple[float, float]  # the first and last sample time of an instance
GAP_INTERVALS = 1.5  # an instance ends at the first evaluation its alert missed

_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_SEPARATOR = 0xFF
_LABEL_TEMPLATE = re.compile(r"\{\{\s*(?:\$labels|\.Labels)\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class AlertInstance:
    fingerprint: str
    start: float
    end: float | None  # None: still firing at the end of the window
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    already_firing: bool = False  # firing when the window opened: its start is not in the window


@dataclass(frozen=True)
class Timing:
    """Each alertname's evaluation interval (its rule group's; for one in several groups, the
    longest), `default` for any other, and the gap that ends an instance: `gap` for every alert
    when given, else GAP_INTERVALS of the alert's own interval. `shortest` is the shortest interval
    of all groups, the densest samples may come: what paging counts on."""

    intervals: Mapping[str, float]
    default: float
    shortest: float
    gap: float | None = None

    @classmethod
    def fixed(cls, interval: float, gap: float | None) -> "Timing":
        """One interval for every alert."""
        return cls({}, interval, interval, gap)

    def interval(self, alertname: str) -> float:
        return self.intervals.get(alertname, self.default)

    def gap_of(self, alertname: str) -> float:
        return self.gap or GAP_INTERVALS * self.interval(alertname)


@dataclass(frozen=True)
class Rule:
    alertname: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]


def fingerprint(labels: Mapping[str, str]) -> str:
    """Alertmanager's fingerprint of a label set (Prometheus's `LabelSet.Fingerprint`: FNV-1a 64
    over the sorted names and values, each followed by 0xff), as 16 hex digits. Equal to the one
    Alertmanager sent for the same alert when Prometheus adds no external labels."""
    digest = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in (*part.encode(), _SEPARATOR):
                digest = ((digest ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"


def load_rules(directory: Path) -> list[Rule]:
    """Every alerting rule of the `*.rules.yml` files in `directory`."""
    rules = []
    for path in sorted(directory.glob("*.rules.yml")):
        document: dict[str, Any] = load_yaml(path) or {}
        for group in document.get("groups") or []:
            for rule in group.get("rules") or []:
                if "alert" in rule:
                    rules.append(Rule(rule["alert"], rule.get("labels") or {}, rule.get("annotations") or {}))
    return rules


def annotations_for(labels: Mapping[str, str], rules: Sequence[Rule]) -> dict[str, str]:
    """The annotations of the rule that made an alert with `labels`, label templates filled in;
    none when no rule matches (the responder then only notifies, as for an unknown action)."""
    name = labels.get("alertname", "")
    for rule in rules:
        if rule.alertname == name and all(labels.get(k) == v for k, v in rule.labels.items()):
            return {key: _render(text, labels) for key, text in rule.annotations.items()}
    return {}


def _render(text: str, labels: Mapping[str, str]) -> str:
    return _LABEL_TEMPLATE.sub(lambda m: labels.get(m.group(1), m.group(0)), text)


def extend_runs(found: list[Run], times: Iterable[float], gap: float) -> None:
    """Add sorted sample times, all after those already in `found`, to its runs: a sample within
    `gap` of the last run's last sample extends it, any other starts a run. So a history read page
    by page keeps two floats an instance, not one a sample."""
    for t in times:
        if found and t - found[-1][1] <= gap:
            found[-1] = (found[-1][0], t)
        else:
            found.append((t, t))


def runs(times: Iterable[float], gap: float) -> list[Run]:
    """Sorted sample times cut into (first, last) runs wherever two are more than `gap` apart."""
    found: list[Run] = []
    extend_runs(found, times, gap)
    return found


def reconstruct(
    series: Mapping[Labels, Sequence[Run]], rules: Sequence[Rule], timing: Timing, window: Run
) -> list[AlertInstance]:
    """The instances of each series' runs (`alertstate` already dropped from its labels), by start
    time; `window` is the (start, end) of the history read."""
    start, end = window
    instances = []
    for key, found in series.items():
        labels = dict(key)
        identity = fingerprint(labels)
        annotations = annotations_for(labels, rules)
        name = labels.get("alertname", "")
        interval, gap = timing.interval(name), timing.gap_of(name)
        for first, last in found:
            resolved = None if end - last <= gap else last + interval
            instances.append(AlertInstance(identity, first, resolved, labels, annotations, first - start <= gap))
    instances.sort(key=lambda i: (i.start, i.fingerprint))
    return instances
