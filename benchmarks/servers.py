"""The two servers under load, as processes on 127.0.0.1: the responder as `responder serve`
runs it, and a bare aiohttp JSON endpoint as the baseline; readiness, backlog and CPU probes."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from benchmarks.load import TOKEN


def free_port() -> int:
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


def bare_app() -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        await request.json()
        return web.json_response({"status": "accepted"})

    async def ready(_: web.Request) -> web.Response:
        return web.json_response({"status": "ready"})

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.add_routes([web.post("/webhook", handle), web.get("/readyz", ready)])
    return app


def responder_config(
    work: Path, port: int, dsn: str | None = None, overrides: dict[str, dict[str, Any]] | None = None
) -> Path:
    """The bench's policy; journaling in PostgreSQL at `dsn` when given, else in SQLite under `work`;
    `overrides`, settings of the policy's sections (workers, escalation) replaced."""
    config = yaml.safe_load(resources.files("responder").joinpath("default_policy.yaml").read_text())
    config["server"].update({"listen": f"127.0.0.1:{port}", "max_backlog": 1_000_000, "max_body_bytes": 4 * 1024**2})
    config["auth"] = {"bearer_token": TOKEN}
    config["journal"] = {"postgresql": {"dsn": dsn}} if dsn else {"sqlite": str(work / "journal.db")}
    config["actions"]["EMERGENCY_STOP"]["cooldown"] = "0s"
    for section, settings in (overrides or {}).items():
        config[section].update(settings)
    # Every paced alert must reach a remediation, so cooldown and breaker are out of the way. The
    # breaker still counts the mutations in its window, up to its maximum: a realistic maximum
    # (tens) bounds that count, so the window is kept as short: 100ms holds ~40 at 500/s.
    config["circuit_breaker"] = {"max_mutations": 1_000_000, "window": "100ms"}
    path = work / "responder.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def start(
    argv: list[str], port: int, work: Path, name: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log = (work / f"{name}.log").open("wb")
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, **(env or {})})
    _wait_ready(f"http://127.0.0.1:{port}/readyz", process)
    return process


def main_thread_cpu_seconds(pid: int) -> float:
    """CPU time of a process's main thread (Linux): the event loop and everything that holds the
    GIL run there, so its share of a core tells whether the responder was saturated."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def confine(pid: int, cpus: set[int]) -> None:
    """Keep a process and its children on `cpus` (Linux): those running now, and those it starts
    later, which inherit it. A child that exits meanwhile is passed over."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for one in (pid, *map(int, children)):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(one, cpus)


def backlog(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
        return int(json.load(response)["backlog"])


def drain(port: int, limit_seconds: float = 300) -> tuple[int, float]:
    """Wait for the backlog (unfinished remediations, notifications not yet applied) to reach 0;
    returns what it was and how long it took."""
    start, first = time.monotonic(), backlog(port)
    while backlog(port) and time.monotonic() - start < limit_seconds:
        time.sleep(0.2)
    return first, time.monotonic() - start


def start_responder(
    work: Path,
    name: str,
    dsn: str | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    replica: str | None = None,
) -> tuple[int, subprocess.Popen[bytes]]:
    """A responder on a port of its own; `replica`, its name among PostgreSQL replicas."""
    port = free_port()
    (work / name).mkdir()
    config = responder_config(work / name, port, dsn, overrides)
    argv = [sys.executable, "-m", "responder", "serve", "--config", str(config)]
    return port, start(argv, port, work, name, {"RESPONDER_REPLICA": replica} if replica else None)
