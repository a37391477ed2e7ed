"""A real Prometheus on 127.0.0.1 over a backfilled TSDB, for the tests in this folder and the
backtest benchmark: the history is OpenMetrics text that `promtool tsdb create-blocks-from
openmetrics` turns into blocks before Prometheus starts on them."""

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def backfill(promtool: str, data: Path, history: str) -> None:
    """Blocks in `data` holding the OpenMetrics `history` (ending with `# EOF`)."""
    source = data.parent / "history.om"
    source.write_text(history, "utf-8")
    result = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"promtool could not backfill {source}:\n{result.stdout}{result.stderr}")


def api(url: str, path: str) -> Any:
    """The `data` of a GET of Prometheus's API."""
    with urllib.request.urlopen(url + path, timeout=10) as response:
        return json.load(response)["data"]


def rules_evaluated(url: str) -> bool:
    """Every rule group loaded has been evaluated at least once."""
    groups = api(url, "/api/v1/rules")["groups"]
    return bool(groups) and all(not g["lastEvaluation"].startswith("0001-") for g in groups)


def serving(url: str) -> bool:
    return bool(api(url, "/api/v1/status/flags"))


@contextmanager
def prometheus(
    binary: str,
    promtool: str,
    root: Path,
    history: str,
    rule_files: Sequence[Path] = (),
    flags: Sequence[str] = (),
    ready: Callable[[str], bool] = serving,
) -> Iterator[str]:
    """Prometheus's base URL, serving `history` with `rule_files` loaded (evaluated each second),
    once `ready(url)`; stopped on the way out."""
    data = root / "data"
    backfill(promtool, data, history)
    config = {"global": {"evaluation_interval": "1s"}, "rule_files": [str(p) for p in rule_files], "scrape_configs": []}
    (root / "prometheus.yml").write_text(json.dumps(config), "utf-8")  # JSON is YAML
    port = free_port()
    log = root / "prometheus.log"
    argv = [
        binary,
        f"--config.file={root / 'prometheus.yml'}",
        f"--storage.tsdb.path={data}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=400d",
        *flags,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, ready, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait(url: str, ready: Callable[[str], bool], process: "subprocess.Popen[bytes]", log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if ready(url):
                return
        except (urllib.error.URLError, OSError, KeyError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"Prometheus did not get ready; log:\n{log.read_text()[-4000:]}")
