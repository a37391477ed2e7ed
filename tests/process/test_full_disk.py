"""The responder on a disk that fills: a small tmpfs holds its journal, and a file fills it
below the free-space reserve (journal.reserve, set here to RESERVE_MIB). Notifications then get 503
and /readyz fails, saying why; once the file goes, both recover; and every notification that
got a 200 is in the journal."""

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests import journal_rows
from tests.conftest import TOKEN, alert_payload, cost_alert, write_policy
from tests.fakes.thread import free_port
from tests.process.test_crash import Service

DISK_MIB = 96  # above the reserve with room for the journal, and a file can take it below
WAL_MAX_MIB, RESERVE_MIB = 16, 32
FREE_AFTER_FILL_MIB = 16


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of DISK_MIB, unmounted after the test."""
    mounted = tmp_path / "disk"
    mounted.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs these tests as root)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MIB}m", "tmpfs", str(mounted)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"this machine does not let the test mount a tmpfs: {done.stderr.strip()}")
    try:
        yield mounted
    finally:
        subprocess.run(["umount", "--lazy", str(mounted)], check=True)


def get(url: str, body: bytes | None = None) -> tuple[int, str]:
    """The status and the body of a GET, or of a notification's POST when `body` is given."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=body, headers=headers if body is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def until(predicate: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.1)


def test_a_full_disk_answers_503_and_readiness_fails_until_space_returns_and_nothing_accepted_is_lost(
    tmp_path: Path, disk: Path
) -> None:
    port = free_port()
    config = write_policy(
        tmp_path,
        {
            "server.listen": f"127.0.0.1:{port}",
            "journal.sqlite": str(disk / "journal.db"),
            "journal.wal_max": f"{WAL_MAX_MIB}MiB",
            "journal.reserve": f"{RESERVE_MIB}MiB",
        },
    )
    base = f"http://127.0.0.1:{port}"
    service = Service(config, port, tmp_path / "service.log")
    bodies = (json.dumps(alert_payload(cost_alert(fingerprint=f"f{i:04d}"))).encode() for i in range(10_000))
    accepted: list[int] = []

    def post() -> int:
        code, text = get(f"{base}/webhook", next(bodies))
        if code == 200:
            accepted.append(json.loads(text)["id"])
        return code

    service.start()
    try:
        assert [post() for _ in range(20)] == [200] * 20, "a disk with room takes notifications"
        filler = disk / "filler"
        free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
        with filler.open("wb") as out:
            for _ in range((free - FREE_AFTER_FILL_MIB * 2**20) // 2**20):
                out.write(bytes(2**20))
        until(lambda: post() == 503, "notifications refused below the reserve")
        code, text = get(f"{base}/readyz")
        assert code == 503, text
        detail = json.loads(text)["journal"]
        assert str(disk) in detail and "journal.reserve" in detail and "MiB free" in detail, detail
        assert "the journal holds" in detail, "the journal's size is named"
        assert [post() for _ in range(5)] == [503] * 5, "refused while the disk stays full"
        code, text = get(f"{base}/webhook", next(bodies))
        assert code == 503 and json.loads(text)["error"] == "journal_full", text
        assert "journal.reserve" in json.loads(text)["detail"], "the webhook's answer names the disk and the reserve"
        assert 'responder_notifications_total{outcome="full"} 7.0' in get(f"{base}/metrics")[1]

        filler.unlink()
        until(lambda: get(f"{base}/readyz")[0] == 200, "ready again once space returns")
        assert [post() for _ in range(20)] == [200] * 20, "space back, notifications accepted again"
    finally:
        service.stop(signal.SIGTERM)
    stored = {i for i in accepted if journal_rows.body(disk / "journal.db", i) is not None}
    assert stored == set(accepted), "a notification that got a 200 was lost"
    assert len(accepted) >= 40
