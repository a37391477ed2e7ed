"""Load generators: wrk for throughput, and a paced sender on raw keep-alive connections."""

import asyncio
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.payloads import MIX, alert, payload

TOKEN = "bench-token-0123456789abcdef"


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
    the clock starts and sent over raw keep-alive connections, so that the sender takes as little
    of the machine's CPU from the responder as it can."""
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
