"""A whole backtest: read the history, cut it into instances, simulate, count."""

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from responder.backtest import history
from responder.backtest.instances import AlertInstance, Timing, load_rules, reconstruct
from responder.backtest.report import Window, build
from responder.backtest.simulate import simulate
from responder.policy import Policy


@dataclass(frozen=True)
class Options:
    prometheus: str
    start: float
    end: float
    rules: Path
    evaluation_interval: float | None = None  # for every alert; None: each alert's own rule group's
    gap: float | None = None  # for every alert; None: instances.GAP_INTERVALS of the alert's interval
    flap_threshold: int = 3


def read(options: Options) -> list[AlertInstance]:
    """The alert instances of the window; HistoryError when Prometheus cannot give them."""
    prometheus = history.Prometheus(options.prometheus)
    if options.evaluation_interval is not None:
        timing = Timing.fixed(options.evaluation_interval, options.gap)
    else:
        timing = history.timing(prometheus, options.gap)
    limit = history.max_samples(prometheus)
    series = history.read_history(prometheus, options.start, options.end, timing, limit)
    return reconstruct(series, load_rules(options.rules), timing, (options.start, options.end))


def backtest(policy: Policy, options: Options) -> dict[str, Any]:
    """What `policy` would have done over the window, as `report.build` counts it."""
    found = read(options)
    timelines = asyncio.run(simulate(policy, found, options.start, options.end))
    opened = frozenset(i.fingerprint for i in found if i.already_firing)
    return build(timelines, policy, Window(options.start, options.end, options.flap_threshold), opened)
