"""Benchmark `responder backtest` over 30 days of 50 alerts against a local Prometheus.

The history is made here (deterministic: a fixed seed) and backfilled with `promtool tsdb
create-blocks-from openmetrics`, as tests/prometheus does: 50 alert series, each an alert of the
repository's rules, firing every 2 to 30 hours for 2 to 60 minutes, sampled each minute
(Prometheus's default evaluation interval), and Prometheus starts on 127.0.0.1 on it. Timed in
the same run, in several rounds, judged on the median: the backtest with the embedded default
policy, and as its baseline the time to read the history alone (paged queries and instances).
Absolute times on a shared machine mean little: the ratio says what the simulation costs on top
of the reading. The issue's target is the whole backtest under 10 s. Last, the read's peak
memory, traced once (`tracemalloc`, which slows it: not timed): the samples are folded into
runs page by page, so it follows the page and the instances, not the window's samples.

Usage: python -m benchmarks.backtest [--rounds 3] [--alerts 50] [--days 30]
"""

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from responder.backtest.instances import load_rules
from responder.backtest.run import Options, backtest, read
from responder.policy import load_policy
from tests.prometheus import server
from tests.prometheus.alerts_history import Firing, openmetrics

REPO = Path(__file__).resolve().parent.parent
INTERVAL = 60.0
TARGET_SECONDS = 10.0
SEED = 21


def firings(alerts: int, start: float, end: float) -> list[Firing]:
    """Each alert's firings over the window: every 2 to 30 hours, for 2 to 60 minutes."""
    rules = load_rules(REPO / "rules")
    chosen = random.Random(SEED)
    found = []
    for n in range(alerts):
        rule = rules[n % len(rules)]
        labels = {"alertname": rule.alertname, **rule.labels, "instance": f"bench-{n}"}
        at = start + chosen.uniform(0, 86400)
        while at < end:
            first = at // INTERVAL * INTERVAL
            found.append(Firing(labels, first, first + chosen.choice([2, 5, 10, 30, 60]) * 60))
            at += chosen.uniform(2, 30) * 3600
    return found


def _timed(what: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = what()
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--alerts", type=int, default=50)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    binary, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if binary is None or promtool is None:
        print("prometheus and promtool are needed: apt-get install prometheus", file=sys.stderr)
        return 1
    end = time.time() // 3600 * 3600 - 3600
    start = end - args.days * 86400
    history = firings(args.alerts, start, end)
    policy = load_policy(None, offline=True)
    print(f"history: {args.alerts} alerts, {args.days} days, {len(history)} firings, one sample a minute")
    with (
        tempfile.TemporaryDirectory(prefix="backtest-bench-") as root,
        server.prometheus(binary, promtool, Path(root), openmetrics(history, INTERVAL)) as url,
    ):
        options = Options(url, start, end, REPO / "rules")  # no rule group: Prometheus's default 1m
        reads, runs = [], []
        for round_ in range(1, args.rounds + 1):
            seconds, instances = _timed(lambda: read(options))
            reads.append(seconds)
            seconds, report = _timed(lambda: backtest(policy, options))
            runs.append(seconds)
            print(
                f"round {round_}: read {reads[-1]:.2f} s ({len(instances)} instances), "
                f"backtest {runs[-1]:.2f} s ({report['instances']} instances simulated)"
            )
        tracemalloc.start()
        read(options)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    read_s, run_s = statistics.median(reads), statistics.median(runs)
    verdict = "met" if run_s < TARGET_SECONDS else "MISSED"
    print(f"median: read alone {read_s:.2f} s, whole backtest {run_s:.2f} s = {run_s / read_s:.1f} x the read")
    print(f"read's peak memory: {peak / 1e6:.1f} MB (traced)")
    print(f"target: whole backtest under {TARGET_SECONDS:g} s: {verdict} ({run_s / TARGET_SECONDS:.2f} of it)")
    return 0 if run_s < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
