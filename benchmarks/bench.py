"""Benchmark the webhook against a bare aiohttp JSON endpoint measured in the same run.

Both servers run as separate processes on 127.0.0.1 and are loaded by wrk with the same
real-shaped payloads; what is reported is each one's figures and the ratio responder / bare,
because absolute numbers on a shared machine mean little. A second run paces notifications at a
fixed rate and reads, from the journal's own timestamps, how long each waited between arrival
and the start of its first remediation step.

Every measurement is taken in several rounds, responder and bare alternating, and judged on the
median round, because the neighbours' load on a shared machine comes and goes between runs
(docs/performance.md). Every round is printed.

With `--journal postgresql` the responder is measured on both journals in the same run: SQLite,
then PostgreSQL on a server the bench starts on this machine (tests/postgres.py), a new database
for each responder started.

With `--server-cpus 1` the PostgreSQL server is kept on CPU 1, and the responder (which is not
confined) finds the other CPUs free of it, as it would with its database on another machine. On
a two-core machine the server's processes otherwise run beside the responder's event loop on
either core, and the loop, the one thread the webhook's throughput rests on, loses time to them
(docs/performance.md). Without the option the server runs where the scheduler puts it.

With `--failover` (PostgreSQL only) it measures, instead, two replicas on one database under a
paced load while one of them is killed (benchmarks/failover.py).

Usage: python -m benchmarks.bench [--seconds 5] [--rounds 3] [--connections 32]   (scripts/bench)
       python -m benchmarks.bench --journal postgresql                 (and PostgreSQL)
       python -m benchmarks.bench --journal postgresql --server-cpus 1 (the server kept on CPU 1)
       python -m benchmarks.bench --journal postgresql --failover [--lease 30]
       python -m benchmarks.bench bare PORT                            (the baseline server)
       python -m benchmarks.bench pace PORT --rate R --seconds S       (a paced sender, for failover)
"""

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from benchmarks import failover
from benchmarks.load import paced, run_wrk
from benchmarks.payloads import alert, payload
from benchmarks.servers import bare_app, confine, drain, free_port, main_thread_cpu_seconds, start, start_responder
from responder.journal import sqlite_views


@dataclass
class JournalUnderTest:
    """Where a responder started by the bench journals: a new database for each, and how to
    read back the arrival -> first remediation latencies from it."""

    name: str
    words: str  # for the header line
    new_dsn: Callable[[], str | None]  # None: SQLite, under the responder's own directory
    latencies: Callable[[Path, str | None, float], list[float]]


def _sqlite_latencies(work: Path, _: str | None, since: float) -> list[float]:
    return sqlite_views.start_latencies_ms(work / "journal.db", since)


SQLITE = JournalUnderTest("sqlite", "SQLite WAL journal (fsync before each 200)", lambda: None, _sqlite_latencies)


@contextlib.contextmanager
def postgresql(cpus: set[int] | None = None) -> Iterator[JournalUnderTest]:
    """A PostgreSQL server for the run (Debian's package, as the tests start it), stopped after;
    kept on `cpus` when given (see the module's docstring)."""
    from responder.journal.postgres_views import start_latencies_ms
    from tests.postgres import running_server

    def latencies(_: Path, dsn: str | None, since: float) -> list[float]:
        assert dsn is not None
        return start_latencies_ms(dsn, since)

    with running_server() as server:
        where = "server on this machine"
        if cpus:
            confine(server.pid, cpus)
            where += f", kept on CPU {_named(cpus)}"
        yield JournalUnderTest(
            "postgresql",
            f"PostgreSQL journal (synchronous_commit on, group commit), {where}",
            server.fresh_dsn,
            latencies,
        )


PAYLOAD_SIZES = (1, 10, 100)
TARGET_RATIO, TARGET_P99_MS, TARGET_START_P99_MS = 0.5, 25.0, 50.0
WARM_UP_SECONDS = 1.0


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def throughput(work: Path, journal: JournalUnderTest, seconds: int, rounds: int, connections: int) -> bool:
    port, responder = start_responder(work, f"responder-{journal.name}", journal.new_dsn())
    bare_port = free_port()
    bare = start([sys.executable, "-m", "benchmarks.bench", "bare", str(bare_port)], bare_port, work, "bare")
    ok = True
    try:
        print(
            f"wrk -t2 -c{connections} -d{seconds}s x {rounds} rounds, POST /webhook on 127.0.0.1; responder: bearer "
            f"auth, {journal.words}, plan remediator"
        )
        columns = {"alerts": 6, "round": 5, "server": 9, "req/s": 9, "p50 ms": 8, "p99 ms": 8, "errors": 7, "ratio": 6}
        print(" ".join(f"{name:>{width}}" for name, width in columns.items()))
        for size in PAYLOAD_SIZES:
            body = work / f"payload-{size}.json"
            body.write_bytes(payload([alert(i) for i in range(size)]))
            ratios, p99s, errors = [], [], 0
            for round_ in range(1, rounds + 1):
                # Work the responder left (remediations, notifications not yet applied) is finished
                # before the bare server is loaded: finished during the bare run, it took that run's CPU.
                loads = {"responder": run_wrk(f"http://127.0.0.1:{port}/webhook", body, seconds, connections, work)}
                drain(port)
                loads["bare"] = run_wrk(f"http://127.0.0.1:{bare_port}/webhook", body, seconds, connections, work)
                ratio = loads["responder"].requests_per_second / loads["bare"].requests_per_second
                ratios.append(ratio)
                p99s.append(loads["responder"].p99_ms)
                errors += loads["responder"].errors
                for name, load in loads.items():
                    print(
                        f"{size:>6} {round_:>5} {name:>9} {load.requests_per_second:>9.0f} {load.p50_ms:>8.2f} "
                        f"{load.p99_ms:>8.2f} {load.errors:>7} {ratio if name == 'responder' else 1:>6.2f}"
                    )
            ratio, p99 = statistics.median(ratios), statistics.median(p99s)
            verdict = ""
            if size == 10:
                met = ratio >= TARGET_RATIO and p99 <= TARGET_P99_MS and errors == 0
                ok &= met
                verdict = f"; target ratio >= {TARGET_RATIO}, p99 <= {TARGET_P99_MS} ms: {'met' if met else 'NOT met'}"
            print(f"{size:>6} median ratio {ratio:.2f}, responder p99 {p99:.2f} ms, errors {errors}{verdict}")
    finally:
        for process in (responder, bare):
            process.terminate()
            process.wait(timeout=30)
    return ok


def start_latency(work: Path, journal: JournalUnderTest, rate: int, seconds: int, rounds: int, mix: bool) -> bool:
    what = (
        "a new alert each, actions rotating EMERGENCY_STOP/FREEZE/INVESTIGATE/none"
        if mix
        else "a new EMERGENCY_STOP each (remediation + 3 channels at once: the worst case)"
    )
    print(f"paced {rate}/s for {seconds}s x {rounds} rounds, {what}; arrival -> first remediation start:")
    expected = rate * seconds * (3 if mix else 4) // 4
    p99s, complete = [], True
    for round_ in range(1, rounds + 1):
        name = f"paced-{journal.name}-{'mix' if mix else 'stops'}-{round_}"
        dsn = journal.new_dsn()
        port, responder = start_responder(work, name, dsn)
        try:
            # A second of the same load first, not measured: a fresh process's first requests pay
            # for imports and cold caches that a running responder paid long ago.
            asyncio.run(paced(port, rate, WARM_UP_SECONDS, mix, first=2_000_000))
            drain(port)
            since, cpu_before = time.time(), main_thread_cpu_seconds(responder.pid)
            accepted = asyncio.run(paced(port, rate, seconds, mix))
            drain(port)
            cpu, wall = main_thread_cpu_seconds(responder.pid) - cpu_before, time.time() - since
        finally:
            responder.terminate()
            responder.wait(timeout=30)
        latencies = journal.latencies(work / name, dsn, since)
        if not latencies:
            print(f"  round {round_}: {accepted} accepted, no notification reached a remediation step")
            return False
        complete &= len(latencies) == expected
        p99s.append(_p(latencies, 99))
        print(
            f"  round {round_}: {accepted} accepted, {len(latencies)}/{expected} started a remediation; "
            f"p50 {_p(latencies, 50):.1f} ms, p99 {p99s[-1]:.1f} ms; responder main thread "
            f"{cpu / max(accepted, 1) * 1000:.2f} ms CPU per notification, busy {cpu / wall:.0%} of {wall:.1f}s"
        )
    p99 = statistics.median(p99s)
    met = p99 <= TARGET_START_P99_MS and complete
    print(f"  median p99 {p99:.1f} ms (target p99 <= {TARGET_START_P99_MS} ms: {'met' if met else 'NOT met'})")
    return met


def benchmark(journal: JournalUnderTest, work: Path, seconds: int, rounds: int, connections: int, rate: int) -> bool:
    print(f"--- journal: {journal.name}")
    fast = throughput(work, journal, seconds, rounds, connections)
    mixed = start_latency(work, journal, rate, seconds, rounds, mix=True)
    worst = start_latency(work, journal, rate, seconds, rounds, mix=False)
    return fast and mixed and worst


def run(journal: str, seconds: int, rounds: int, connections: int, rate: int, cpus: set[int] | None) -> bool:
    with tempfile.TemporaryDirectory(prefix="responder-bench-") as tmp:
        ok = benchmark(SQLITE, Path(tmp), seconds, rounds, connections, rate)
        if journal == "postgresql":
            with postgresql(cpus) as shared:
                ok &= benchmark(shared, Path(tmp), seconds, rounds, connections, rate)
    return ok


def run_failover(rate: int, lease_seconds: float, kill_at: float, cpus: set[int] | None) -> bool:
    with tempfile.TemporaryDirectory(prefix="responder-bench-") as tmp, postgresql(cpus) as server:
        print(f"--- journal: postgresql, two replicas ({server.words})")
        return failover.failover(Path(tmp), server.new_dsn() or "", rate, kill_at, lease_seconds)


def _cpus(text: str) -> set[int]:
    try:
        return {int(one) for one in text.split(",")}
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of CPU numbers; write them as 1 or 1,3") from None


def _named(cpus: set[int]) -> str:
    return ",".join(map(str, sorted(cpus)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__)
    parser.add_argument("mode", nargs="?", default="run", choices=["run", "bare", "pace"])
    parser.add_argument("port", nargs="?", type=int)
    parser.add_argument("--seconds", type=int, default=5, help="per round and server")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=int, help="paced new alerts per second (default 500; --failover: 200)")
    parser.add_argument(
        "--journal", choices=["sqlite", "postgresql"], default="sqlite", help="postgresql: measure it beside SQLite"
    )
    parser.add_argument("--failover", action="store_true", help="two PostgreSQL replicas, one killed (only that)")
    parser.add_argument("--lease", type=float, default=30.0, help="--failover: workers.lease in seconds")
    parser.add_argument("--kill-at", type=float, default=10.0, help="--failover: seconds of load before the kill")
    parser.add_argument(
        "--server-cpus", type=_cpus, help="keep the PostgreSQL server on these CPUs (e.g. 1), off the others"
    )
    args = parser.parse_args(argv)
    if args.server_cpus and args.journal != "postgresql":
        parser.error("--server-cpus needs --journal postgresql: only a PostgreSQL server is started by the bench")
    if args.server_cpus and not args.server_cpus < os.sched_getaffinity(0):
        parser.error(
            f"--server-cpus {_named(args.server_cpus)}: name some, not all, of the CPUs this process may use "
            f"({_named(os.sched_getaffinity(0))}), so the others are left to the responder"
        )
    if args.mode == "bare":
        web.run_app(bare_app(), host="127.0.0.1", port=args.port, print=None, access_log=None)
        return 0
    if args.mode == "pace":
        failover.pace(args.port, args.rate or 500, args.seconds)
        return 0
    if args.failover:
        if args.journal != "postgresql":
            parser.error("--failover needs --journal postgresql: only replicas on PostgreSQL fail over")
        return 0 if run_failover(args.rate or 200, args.lease, args.kill_at, args.server_cpus) else 1
    return (
        0 if run(args.journal, args.seconds, args.rounds, args.connections, args.rate or 500, args.server_cpus) else 1
    )


if __name__ == "__main__":
    raise SystemExit(main())
