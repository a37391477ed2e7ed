"""A whole backtest: read the history, cut it into instances, simulate, count."""

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from responder.backtest import history
from responder.backtest.instances import AlertInstance, load_rules, reconstruct
from responder.backtest.report import Window, build
from responder.backtest.simulate import simulate
from responder.policy import Policy

GAP_INTERVALS = 1.5  # an instance ends at the first evaluation its alert missed


@dataclass(frozen=True)
class Options:
    prometheus: str
    start: float
    end: float
    rules: Path
    evaluation_interval: float | None = None  # None: the shortest of Prometheus's rule groups
    gap: float | None = None  # None: GAP_INTERVALS evaluation intervals
    flap_threshold: int = 3


def read(options: Options) -> list[AlertInstance]:
    """The alert instances of the window; HistoryError when Prometheus cannot give them."""
    prometheus = history.Prometheus(options.prometheus)
    interval = options.evaluation_interval or history.evaluation_interval(prometheus)
    limit = history.max_samples(prometheus)
    series = history.read_history(prometheus, options.start, options.end, interval, limit)
    gap = options.gap or GAP_INTERVALS * interval
    return reconstruct(series, load_rules(options.rules), interval, gap, options.end)


def backtest(policy: Policy, options: Options) -> dict[str, Any]:
    """What `policy` would have done over the window, as `report.build` counts it."""
    found = read(options)
    timelines = asyncio.run(simulate(policy, found, options.start, options.end))
    return build(timelines, policy, Window(options.start, options.end, options.flap_threshold))
