"""Benchmark the webhook against a bare aiohttp JSON endpoint measured in the same run.

Both servers run as separate processes on 127.0.0.1 and are loaded by wrk with the same
real-shaped payloads; what is reported is each one's figures and the ratio responder ÷ bare,
because absolute numbers on a shared machine mean little. A second run paces notifications at a
fixed rate and reads, from the journal's own timestamps, how long each waited between arrival
and the start of its first remediation step.

Every measurement is taken in several rounds, responder and bare alternating, and judged on the
median round: on this shared machine the same build measured a 10-alert ratio of 0.39 in one
run and 0.58 in the next, as the neighbours' load came and went. Every round is printed.

Usage: python -m responder.bench [--seconds 5] [--rounds 3] [--connections 32]   (scripts/bench)
       python -m responder.bench bare PORT                            (the baseline server)
"""

import argparse
import asyncio
import json
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

TOKEN = "bench-token-0123456789abcdef"
PAYLOAD_SIZES = (1, 10, 100)
TARGET_RATIO, TARGET_P99_MS, TARGET_START_P99_MS = 0.5, 25.0, 50.0
WARM_UP_SECONDS = 1.0


MIX = (("EMERGENCY_STOP", "critical"), ("FREEZE_DEPLOYMENTS", "warning"), ("INVESTIGATE", "critical"), ("", "info"))


def alert(
    i: int, action: str = "EMERGENCY_STOP", severity: str = "critical", starts_at: str = "2026-11-23T13:00:00.000Z"
) -> dict[str, Any]:
    """An alert shaped like the catalogue's generated CostBudgetExceeded."""
    return {
        "status": "firing",
        "labels": {
            "alertname": "CostBudgetExceeded",
            "severity": severity,
            "system": "builder_hardening",
            "team": "builder-sre",
            "instance": f"10.0.{i // 256}.{i % 256}:8080",
            "job": "cost-guard",
        },
        "annotations": {
            "action": action,
            "summary": "Daily cost budget exceeded",
            "description": "Spend is running at $0.734/day, above the hard limit of $0.50/day.",
            "runbook_url": "https://runbooks.example.com/alert-responder/builder_hardening.md#costbudgetexceeded",
            "target_namespace": "autogen-council",
            "target_deployment": f"o3-audit-proxy-{i}",
        },
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=cost_daily_burn_rate",
        "fingerprint": f"{i:016x}",
    }


def payload(alerts: list[dict[str, Any]]) -> bytes:
    return json.dumps(
        {
            "receiver": "alert-responder",
            "status": "firing",
            "alerts": alerts,
            "groupLabels": {"alertname": "CostBudgetExceeded"},
            "commonLabels": {"alertname": "CostBudgetExceeded"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "version": "4",
            "groupKey": '{}:{alertname="CostBudgetExceeded"}',
            "truncatedAlerts": 0,
        }
    ).encode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready in 30s")


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, body: Path, seconds: int, connections: int, work: Path) -> Load:
    script = work / "post.lua"
    script.write_text(
        "wrk.method = 'POST'\n"
        f"local f = io.open('{body}', 'rb'); wrk.body = f:read('*a'); f:close()\n"
        "wrk.headers['Content-Type'] = 'application/json'\n"
        f"wrk.headers['Authorization'] = 'Bearer {TOKEN}'\n"
    )
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return Load(
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(re.search(r"\s50%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(re.search(r"\s99%\s+(\S+)", out).group(1)),  # type: ignore[union-attr]
        errors=(int(errors.group(1)) if errors else 0)
        + (sum(map(int, socket_errors.groups())) if socket_errors else 0),
    )


def bare_app() -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        await request.json()
        return web.json_response({"status": "accepted"})

    async def ready(_: web.Request) -> web.Response:
        return web.json_response({"status": "ready"})

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.add_routes([web.post("/webhook", handle), web.get("/readyz", ready)])
    return app


def _responder_config(work: Path, port: int) -> Path:
    config = yaml.safe_load((Path(__file__).with_name("default_policy.yaml")).read_text())
    config["server"].update({"listen": f"127.0.0.1:{port}", "max_backlog": 1_000_000, "max_body_bytes": 4 * 1024**2})
    config["auth"] = {"bearer_token": TOKEN}
    config["journal"]["sqlite"] = str(work / "journal.db")
    config["actions"]["EMERGENCY_STOP"]["cooldown"] = "0s"
    # Every paced alert must reach a remediation, so cooldown and breaker are out of the way. The
    # breaker still counts the mutations in its window, up to its maximum: a realistic maximum
    # (tens) bounds that count, so the window is kept as short: 100ms holds ~40 at 500/s.
    config["circuit_breaker"] = {"max_mutations": 1_000_000, "window": "100ms"}
    path = work / "responder.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _start(argv: list[str], port: int, work: Path, name: str) -> subprocess.Popen[bytes]:
    log = (work / f"{name}.log").open("wb")
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)
    _wait_ready(f"http://127.0.0.1:{port}/readyz", process)
    return process


def _request(port: int, body: bytes) -> bytes:
    return (
        f"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _exchange(request: bytes, idle: "asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]]") -> int:
    """One request on a kept-alive connection from `idle`; returns the status code."""
    reader, writer = await idle.get()
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    await reader.readexactly(int(length.group(1)) if length else 0)
    idle.put_nowait((reader, writer))
    return int(head[9:12])


async def paced(port: int, rate: int, seconds: float, mix: bool, first: int = 1_000_000, connections: int = 64) -> int:
    """Send `rate` new single-alert notifications per second, on schedule whatever the answers
    take (up to `connections` at once); returns how many got a 200. Requests are built before
    the clock starts and sent over raw keep-alive connections: an aiohttp client took ~0.3 of
    this machine's two cores at 500/s, which the responder then did not have."""
    requests = [
        _request(port, payload([alert(first + i, *(MIX[i % len(MIX)] if mix else MIX[0]))]))
        for i in range(int(rate * seconds))
    ]
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await asyncio.open_connection("127.0.0.1", port))
    tasks, start = [], time.monotonic()
    for i, request in enumerate(requests):
        await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))
        tasks.append(asyncio.create_task(_exchange(request, idle)))
    statuses = await asyncio.gather(*tasks)
    while not idle.empty():
        idle.get_nowait()[1].close()
    return statuses.count(200)


def start_latencies_ms(journal: Path, since: float = 0.0) -> list[float]:
    """Per notification received from `since` on: first remediation attempt start minus arrival."""
    db = sqlite3.connect(journal)
    rows = db.execute(
        "SELECT n.received_at, MIN(a.started_at) FROM notifications n"
        " JOIN steps s ON s.correlation_id LIKE n.correlation_id || '/%' AND s.kind = 'remediation'"
        " JOIN attempts a ON a.step_id = s.id WHERE n.received_at >= ? GROUP BY n.id",
        (since,),
    ).fetchall()
    return [(started - received) * 1000 for received, started in rows]


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def _main_thread_cpu_seconds(pid: int) -> float:
    """CPU time of a process's main thread (Linux): the event loop and everything that holds the
    GIL run there, so its share of a core tells whether the responder was saturated."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _backlog(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
        return int(json.load(response)["backlog"])


def _drain(port: int, limit_seconds: float = 300) -> tuple[int, float]:
    """Wait for the backlog (unfinished remediations, notifications not yet applied) to reach 0;
    returns what it was and how long it took."""
    start, first = time.monotonic(), _backlog(port)
    while _backlog(port) and time.monotonic() - start < limit_seconds:
        time.sleep(0.2)
    return first, time.monotonic() - start


def _responder(work: Path, name: str) -> tuple[int, subprocess.Popen[bytes]]:
    port = _free_port()
    (work / name).mkdir()
    config = _responder_config(work / name, port)
    return port, _start([sys.executable, "-m", "responder", "serve", "--config", str(config)], port, work, name)


def throughput(work: Path, seconds: int, rounds: int, connections: int) -> bool:
    port, responder = _responder(work, "responder")
    bare_port = _free_port()
    bare = _start([sys.executable, "-m", "responder.bench", "bare", str(bare_port)], bare_port, work, "bare")
    ok = True
    try:
        print(
            f"wrk -t2 -c{connections} -d{seconds}s x {rounds} rounds, POST /webhook on 127.0.0.1; responder: bearer "
            "auth, SQLite WAL journal (fsync before each 200), plan remediator"
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
                _drain(port)
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


def start_latency(work: Path, rate: int, seconds: int, rounds: int, mix: bool) -> bool:
    what = (
        "a new alert each, actions rotating EMERGENCY_STOP/FREEZE/INVESTIGATE/none"
        if mix
        else "a new EMERGENCY_STOP each (remediation + 3 channels at once: the worst case)"
    )
    print(f"paced {rate}/s for {seconds}s x {rounds} rounds, {what}; arrival -> first remediation start:")
    expected = rate * seconds * (3 if mix else 4) // 4
    p99s, complete = [], True
    for round_ in range(1, rounds + 1):
        name = f"paced-{'mix' if mix else 'stops'}-{round_}"
        port, responder = _responder(work, name)
        try:
            # A second of the same load first, not measured: a fresh process's first requests pay
            # for imports and cold caches that a running responder paid long ago.
            asyncio.run(paced(port, rate, WARM_UP_SECONDS, mix, first=2_000_000))
            _drain(port)
            since, cpu_before = time.time(), _main_thread_cpu_seconds(responder.pid)
            accepted = asyncio.run(paced(port, rate, seconds, mix))
            _drain(port)
            cpu, wall = _main_thread_cpu_seconds(responder.pid) - cpu_before, time.time() - since
        finally:
            responder.terminate()
            responder.wait(timeout=30)
        latencies = start_latencies_ms(work / name / "journal.db", since)
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


def benchmark(seconds: int, rounds: int, connections: int, rate: int) -> bool:
    with tempfile.TemporaryDirectory(prefix="responder-bench-") as tmp:
        work = Path(tmp)
        fast = throughput(work, seconds, rounds, connections)
        mixed = start_latency(work, rate, seconds, rounds, mix=True)
        worst = start_latency(work, rate, seconds, rounds, mix=False)
    return fast and mixed and worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m responder.bench", description=__doc__)
    parser.add_argument("mode", nargs="?", default="run", choices=["run", "bare"])
    parser.add_argument("port", nargs="?", type=int)
    parser.add_argument("--seconds", type=int, default=5, help="per round and server")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=int, default=500)
    args = parser.parse_args(argv)
    if args.mode == "bare":
        web.run_app(bare_app(), host="127.0.0.1", port=args.port, print=None, access_log=None)
        return 0
    return 0 if benchmark(args.seconds, args.rounds, args.connections, args.rate) else 1


if __name__ == "__main__":
    raise SystemExit(main())
