"""Failover of two replicas on one PostgreSQL journal: how long the steps a killed replica held
wait before the other runs them, and the survivor's arrival -> first remediation latency
meanwhile.

Both replicas are paced with new EMERGENCY_STOP alerts (half the rate each, as a Service would
spread them); replica A's sender runs in a process of its own so that it stops with A. After
`kill_at` seconds A is sent SIGKILL. The steps it held then (`running`, leased by A) are read
from the database at once; each is taken over once its lease runs out, so the lease is set short
for the run (`workers.lease`; the step timeout is set to 10s, since the lease must be at least
twice it). Notifications A had received but not yet answered are Alertmanager's to retry, and
are not counted here.

Usage: python -m benchmarks.bench --journal postgresql --failover [--lease 30] [--rate 200] [--kill-at 10]
"""

import asyncio
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from benchmarks.load import paced
from benchmarks.servers import drain, start_responder
from responder.journal.postgres_views import start_latencies_ms

STEP_TIMEOUT = "10s"  # the lease must be at least twice this
WARM_UP_SECONDS = 1.0
# The alerts' numbers (their fingerprints, 16 hex digits): the survivor's from SURVIVOR_FIRST up
# to the killed replica's, A_FIRST on.
SURVIVOR_FIRST, A_FIRST = 3_000_000, 4_000_000
AFTER_EXPIRY_SECONDS = 5.0  # the survivor's load goes on this long after the leases ran out
Responder = tuple[int, "subprocess.Popen[bytes]"]  # its port and process


def _held_by(dsn: str, replica: str) -> dict[int, float]:
    """The steps `replica` holds now, each with when its lease runs out."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id, lease_until FROM steps WHERE status = 'running' AND lease_holder = %s", (replica,)
        ).fetchall()
    return {row[0]: row[1] for row in rows}


def _taken_over(dsn: str, steps: list[int], since: float) -> dict[int, float]:
    """For each step, when its first attempt after `since` that was not cut short started."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT step_id, MIN(started_at) FROM attempts WHERE step_id = ANY(%s) AND started_at >= %s"
            " AND status != 'interrupted' GROUP BY step_id",
            (steps, since),
        ).fetchall()
    return {row[0]: row[1] for row in rows}


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]


def failover(work: Path, dsn: str, rate: int, kill_at: float, lease_seconds: float) -> bool:
    """One failover run; prints its figures and returns whether A's steps all ran on B.

    bench-a's Slack calls go to a socket that listens and never answers, so that each hangs
    until step_timeout: when bench-a is killed, it holds running steps, as a replica killed
    mid-call to a provider does. bench-b sends its Slack messages to the console."""
    workers = {"lease": f"{lease_seconds:g}s", "step_timeout": STEP_TIMEOUT}
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(1024)
        slack = {"bot_token": "xoxb-bench", "base_url": f"http://127.0.0.1:{hole.getsockname()[1]}/api/"}
        hanging = {"slack": {**slack, "messages_per_second": 1000}}
        a = start_responder(work, "failover-a", dsn, {"workers": workers, "escalation": hanging}, "bench-a")
        b = start_responder(work, "failover-b", dsn, {"workers": workers}, "bench-b")
        try:
            print(
                f"failover: replicas bench-a and bench-b on one database, workers.lease {workers['lease']} and "
                f"step_timeout {STEP_TIMEOUT} (set short for the run; the default lease is 5m); "
                f"{rate // 2}/s new EMERGENCY_STOP alerts to each, bench-a's Slack calls hanging, bench-a "
                f"SIGKILLed after {kill_at:g}s, bench-b paced for {kill_at + lease_seconds + AFTER_EXPIRY_SECONDS:g}s"
            )
            return _kill_one(dsn, rate, kill_at, lease_seconds, a, b)
        finally:
            for _, process in (a, b):
                process.kill()
                process.wait(timeout=30)


def _kill_one(dsn: str, rate: int, kill_at: float, lease_seconds: float, a: Responder, b: Responder) -> bool:
    (port_a, replica_a), (port_b, _) = a, b
    for port, first in ((port_a, 5_000_000), (port_b, 6_000_000)):  # not measured: cold caches, imports
        asyncio.run(paced(port, rate // 2, WARM_UP_SECONDS, mix=False, first=first))
    pace_a = ["pace", str(port_a), "--rate", str(rate // 2), "--seconds", str(int(kill_at) + 5)]
    sender_a = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench", *pace_a], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        since = time.time()
        loop = asyncio.new_event_loop()
        seconds = kill_at + lease_seconds + AFTER_EXPIRY_SECONDS
        survivor = loop.create_task(paced(port_b, rate // 2, seconds, mix=False, first=SURVIVOR_FIRST))
        loop.run_until_complete(asyncio.sleep(kill_at))
        replica_a.send_signal(signal.SIGKILL)
        killed = time.time()
        sender_a.kill()
        held = _held_by(dsn, "bench-a")
        accepted = loop.run_until_complete(survivor)
        loop.close()
        drain(port_b)
    finally:
        sender_a.kill()
        sender_a.wait(timeout=30)
    taken = _taken_over(dsn, list(held), killed)
    latencies = start_latencies_ms(dsn, since)
    window = _survivor_latencies(dsn, killed - 1.0, killed + lease_seconds + 2.0)
    waits = sorted(at - killed for at in taken.values())
    late = max((at - held[step] for step, at in taken.items()), default=0.0)
    ran = f"{waits[0]:.1f} to {waits[-1]:.1f}s after the kill, at most {late:.2f}s after their leases ran out"
    print(
        f"  bench-a held {len(held)} running steps when killed; {len(taken)} of them ran on bench-b, "
        + (ran if waits else "none")
    )
    print(
        f"  bench-b: {accepted} accepted; arrival -> first remediation p99 {_p99(latencies):.1f} ms over the run "
        f"({len(latencies)} notifications, both replicas'), {_p99(window):.1f} ms from 1s before the kill until "
        f"2s after the leases ran out ({len(window)})"
    )
    return bool(held) and len(taken) == len(held)


def _survivor_latencies(dsn: str, start: float, end: float) -> list[float]:
    """Arrival -> first remediation of the notifications bench-b received between start and end."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT n.received_at, MIN(a.started_at) FROM notifications n"
            " JOIN steps s ON s.correlation_id LIKE n.correlation_id || '/%%' AND s.kind = 'remediation'"
            " JOIN attempts a ON a.step_id = s.id WHERE n.received_at BETWEEN %s AND %s"
            " AND split_part(s.correlation_id, '/', 2) BETWEEN %s AND %s GROUP BY n.id",
            (start, end, f"{SURVIVOR_FIRST:016x}", f"{A_FIRST - 1:016x}"),
        ).fetchall()
    return [(started - received) * 1000 for received, started in rows]


def pace(port: int, rate: int, seconds: int) -> None:
    """Replica A's sender: paced new alerts until it is killed."""
    asyncio.run(paced(port, rate, seconds, mix=False, first=A_FIRST))
