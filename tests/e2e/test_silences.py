"""Silences for acknowledged alerts, against a real Alertmanager (`alertmanager.silence_on_ack`):
an acknowledgement silences the alert by its exact labels, the resolve expires the silence, and
Alertmanager being down during the acknowledgement neither blocks it nor makes two silences."""

import io
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from responder.alerts import parse_notification
from responder.policy import load_policy
from responder.service import Responder, build_responder
from tests.conftest import alert_payload, cost_alert, real_binary, started, write_policy
from tests.e2e.alertmanager import RECEIVER, Alertmanagers, silences
from tests.fakes.thread import free_port

FINGERPRINT = cost_alert()["fingerprint"]


def _responder(tmp_path: Path, urls: list[str]) -> Responder:
    changes = {"alertmanager": {"urls": urls, "receiver": RECEIVER, "silence_on_ack": "2h", "timeout": "2s"}}
    return build_responder(load_policy(write_policy(tmp_path, changes), env={}), console=io.StringIO())


async def _fire(responder: Responder, status: str = "firing") -> None:
    body = json.dumps(alert_payload(cost_alert(status), status=status)).encode()
    await responder.engine.accept(body, f"test-{status}", parse_notification(body))
    await responder.engine.drain()


def _ours(am: Alertmanagers) -> list[dict[str, Any]]:
    return [s for s in silences(am) if s["createdBy"] == "alert-responder"]


@pytest.fixture
async def responder(tmp_path: Path, alertmanagers: Alertmanagers) -> AsyncIterator[Responder]:
    made = _responder(tmp_path, [alertmanagers.url])
    async with started(made.journal):
        yield made
        await made.escalation.close()


async def test_an_acknowledgement_silences_the_alert_and_its_resolve_expires_the_silence(
    responder: Responder, alertmanagers: Alertmanagers
) -> None:
    await _fire(responder)
    await responder.acknowledge(FINGERPRINT, "alice", "api")
    await responder.engine.drain()
    [silence] = _ours(alertmanagers)
    assert silence["status"]["state"] == "active"
    labels = cost_alert()["labels"]
    assert {(m["name"], m["value"], m["isRegex"]) for m in silence["matchers"]} == {
        (k, v, False) for k, v in labels.items()
    }
    assert "acknowledged by alice via api" in silence["comment"]
    query = subprocess.run(
        [real_binary("amtool"), "silence", "query", f"--alertmanager.url={alertmanagers.url}", "-o", "simple"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert silence["id"] in query.stdout, "amtool shows the silence"
    await _fire(responder, "resolved")
    [expired] = _ours(alertmanagers)
    assert expired["status"]["state"] == "expired"


async def test_alertmanager_down_at_the_acknowledgement_is_retried_and_makes_one_silence(
    tmp_path: Path, alertmanagers: Alertmanagers
) -> None:
    responder = _responder(tmp_path, [f"http://127.0.0.1:{free_port()}", alertmanagers.url])
    async with started(responder.journal):
        await _fire(responder)
        alertmanagers.process.stop()
        outcome = await responder.acknowledge(FINGERPRINT, "alice", "api")
        assert outcome.acknowledged, "the acknowledgement does not wait for Alertmanager"
        await responder.engine.drain()
        alertmanagers.process.start()
        responder.clock = lambda: 4_000_000_000.0  # every retry is due
        responder.engine.clock = responder.clock
        await responder.engine.drain()
        assert len(_ours(alertmanagers)) == 1
        [timeline] = await responder.journal.timeline(FINGERPRINT)
        [step] = [s for s in timeline["steps"] if s["name"] == "silence"]
        assert [a["status"] for a in step["attempts"]] == ["retry", "succeeded"]
        await responder.escalation.close()
