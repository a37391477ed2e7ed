"""SIGKILL the responder with accepted, unfinished work; after a restart every accepted
notification is handled, every step has run exactly once (DESIGN invariant 3), and the fake
cluster saw each deployment scaled to zero exactly once (invariant 2), even where the kill
landed between the write and its record."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests import journal_rows
from tests.conftest import TOKEN, alert_payload, cost_alert, write_policy
from tests.fakes.kube import Cluster, FakeKube, Fault, serve
from tests.fakes.thread import free_port

NOTIFICATIONS = 200
KILL_AFTER = 80
SLOW_SCALE_SECONDS = 1.0
DELAYED_RUNG = "3s"
NAMESPACE = "autogen-council"
KUBE_TOKEN = "kube-token-for-the-crash-test"


class Service:
    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.config, self.port, self.log = config, port, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "responder", "serve", "--config", str(self.config)],
                stdout=out,
                stderr=out,
                cwd=self.config.parent,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=1):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        raise AssertionError(f"responder did not become ready; log:\n{self.log.read_text()}")

    def post(self, body: bytes) -> int | None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/webhook",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(json.load(response)["id"])
        except (urllib.error.URLError, OSError):
            return None  # refused or cut off: not accepted, Alertmanager would retry

    def stop(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(timeout=30)


def in_flight(cluster: Cluster) -> None:
    """Wait until a scale write is in flight, so that the kill lands between a write and its record."""
    deadline = time.monotonic() + 10
    while not any(s.resource == "deployments/scale" for s in cluster.fake.seen):
        assert time.monotonic() < deadline, "no scale write started"
        time.sleep(0.01)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    fake = FakeKube(token=KUBE_TOKEN)
    fake.inject(Fault("PATCH", "/scale", status=0, delay=SLOW_SCALE_SECONDS, times=3, late=True))
    for i in range(NOTIFICATIONS):
        fake.add_deployment(NAMESPACE, f"d{i}", replicas=2)
    with serve(fake) as running:
        yield running


@pytest.fixture
def service(tmp_path: Path, cluster: Cluster) -> Iterator[Service]:
    port = free_port()
    ladder = [{"after": "0s", "channels": ["slack"]}, {"after": DELAYED_RUNG, "channels": ["sms"]}]
    config = write_policy(
        tmp_path,
        {
            "server.listen": f"127.0.0.1:{port}",
            "escalation.emergency_stop": ladder,
            "actions.EMERGENCY_STOP.cooldown": "0s",
            "circuit_breaker.max_mutations": 10_000,
            "kubernetes": {"host": cluster.url, "token": KUBE_TOKEN, "timeout": "5s"},
            "actions.EMERGENCY_STOP.mode": "live",
            "actions.EMERGENCY_STOP.allowed_namespaces": [NAMESPACE],
        },
    )
    running = Service(config, port, tmp_path / "service.log")
    yield running
    if running.process and running.process.poll() is None:
        running.process.kill()


def test_a_killed_responder_resumes_accepted_work_exactly_once(
    service: Service, cluster: Cluster, tmp_path: Path
) -> None:
    bodies = [
        json.dumps(alert_payload(cost_alert(fingerprint=f"f{i:04d}", target_deployment=f"d{i}"))).encode()
        for i in range(NOTIFICATIONS)
    ]
    service.start()
    accepted: list[int] = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        for result in pool.map(service.post, bodies):
            if result is not None:
                accepted.append(result)
            if len(accepted) == KILL_AFTER and service.process and service.process.poll() is None:
                in_flight(cluster)
                os.kill(service.process.pid, signal.SIGKILL)
    assert service.process is not None
    service.process.wait(timeout=10)

    journal = tmp_path / "journal.db"
    assert journal_rows.unfinished_count(journal) > 0, (
        "nothing was left unfinished at the kill; the test proves nothing"
    )
    unrecorded = len(cluster.fake.patches("deployments/scale")) - journal_rows.succeeded_remediations(journal)
    assert unrecorded > 0, "no scale landed between its write and its record; the test proves less than it says"

    service.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if journal_rows.unfinished_count(journal) == 0:
            break
        time.sleep(0.2)
    service.stop(signal.SIGTERM)

    assert set(accepted) <= journal_rows.applied_ids(journal), "an accepted notification was lost"
    per_instance = journal_rows.remediations_per_instance(journal)
    assert all(count == 1 for count in per_instance.values()), "a stop was planned twice"
    assert len(per_instance) >= len(accepted)
    statuses = journal_rows.step_statuses(journal)
    assert set(statuses) == {"succeeded"}, statuses
    successes = journal_rows.successes_per_step(journal)
    assert all(count == 1 for count in successes.values()), "a step succeeded more than once"
    scaled = Counter(name for _, name, _ in cluster.fake.patches("deployments/scale"))
    assert all(count == 1 for count in scaled.values()), "a deployment was scaled down twice"
    stopped = {f"d{int(fp[1:])}" for fp in journal_rows.fingerprints(journal)}
    assert set(scaled) == stopped, "every instance's deployment was stopped"
    print(f"crash: {len(accepted)} accepted before the kill, {len(scaled)} deployments scaled to zero once each")
