"""Real processes on 127.0.0.1: Prometheus, Alertmanager and the responder, each with its own log.

Every wait is bounded; `stop` always ends in SIGKILL if SIGTERM is not enough, so a fixture's
finally never leaves a process behind.
"""

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tests.conftest import REPO

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.1) -> T:
    """Poll `probe` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Process:
    name: str
    argv: list[str]
    log: Path
    ready_url: str
    cwd: Path | None = None
    popen: "subprocess.Popen[bytes] | None" = field(default=None, repr=False)

    def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.cwd)
        try:
            wait_for(f"{self.name} at {self.ready_url}", lambda: self.running() and answers(self.ready_url), timeout)
        except AssertionError as exc:
            self.stop()
            raise AssertionError(f"{exc}; exit {self.popen.returncode}; log:\n{self.tail()}") from None

    def running(self) -> bool:
        if self.popen is None or self.popen.poll() is not None:
            raise AssertionError(f"{self.name} is not running; log:\n{self.tail()}")
        return True

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text("utf-8", "replace")[-chars:] if self.log.exists() else "(no log)"

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, exactly what a crash or an OOM kill does."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, and SIGKILL if the process has not exited within `timeout`."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def prometheus(binary: str, root: Path, port: int) -> Process:
    return Process(
        "prometheus",
        [
            binary,
            f"--config.file={root / 'prometheus.yml'}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        root / "prometheus.log",
        f"http://127.0.0.1:{port}/-/ready",
    )


def alertmanager(
    binary: str, config: Path, root: Path, port: int, cluster: str = "", peers: tuple[str, ...] = ()
) -> Process:
    """One Alertmanager; `cluster` is its gossip address ("" for a single, unclustered one)."""
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.path={root}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--web.external-url=http://127.0.0.1:{port}",  # tells the journal which replica delivered
        f"--cluster.listen-address={cluster}",
    ]
    if cluster:
        argv += [f"--cluster.peer={peer}" for peer in peers]
        argv += [
            f"--cluster.advertise-address={cluster}",
            "--cluster.gossip-interval=50ms",  # settle in about two seconds, not eight
            "--cluster.pushpull-interval=1s",
            "--cluster.peer-timeout=0s",  # no wait for the first replica's log entry: both deliver
        ]
    return Process(f"alertmanager:{port}", argv, root / "alertmanager.log", f"http://127.0.0.1:{port}/-/ready")


def responder(config: Path, port: int, log: Path) -> Process:
    """The responder as scripts/run starts it: `responder serve --config ...`, from its .venv."""
    return Process(
        "responder",
        [sys.executable, "-m", "responder", "serve", "--config", str(config)],
        log,
        f"http://127.0.0.1:{port}/readyz",
        cwd=REPO,
    )
