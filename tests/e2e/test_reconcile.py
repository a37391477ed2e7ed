"""Reconciliation against a real Alertmanager: alerts are posted to its API as Prometheus would,
and its webhook points at a port where nothing listens, so the push path is broken and only
reading Alertmanager back can find them. The responder runs in the test's process on the
policy a user would write; its remediation is live against the Kubernetes fake."""

import io
import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from responder.alertmanager_api import Report
from responder.alerts import parse_notification
from responder.policy import load_policy
from responder.reconcile import Reconciler
from responder.service import Responder, build_responder
from tests.conftest import alert_payload, cost_alert, started, write_policy
from tests.e2e.alertmanager import RECEIVER, Alertmanagers
from tests.e2e.processes import responder as responder_process
from tests.e2e.processes import wait_for
from tests.fakes.kube import Cluster, FakeKube, serve
from tests.fakes.thread import free_port

NAMESPACE, DEPLOYMENT = "autogen-council", "o3-audit-proxy"
KUBE_TOKEN = "kube-token-for-reconciliation"


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    fake = FakeKube(token=KUBE_TOKEN)
    fake.add_deployment(NAMESPACE, DEPLOYMENT, replicas=3)
    with serve(fake) as running:
        yield running


@pytest.fixture
async def responder(tmp_path: Path, alertmanagers: Alertmanagers, cluster: Cluster) -> AsyncIterator[Responder]:
    made = await _responder(tmp_path, [alertmanagers.url], cluster)
    yield made
    await _reconciler(made).close()


async def _responder(tmp_path: Path, urls: list[str], cluster: Cluster, grace: str = "0s") -> Responder:
    config = write_policy(
        tmp_path,
        {
            "kubernetes": {"host": cluster.url, "token": KUBE_TOKEN, "timeout": "5s"},
            "actions.EMERGENCY_STOP.mode": "live",
            "actions.EMERGENCY_STOP.allowed_namespaces": [NAMESPACE],
            "alertmanager": {"urls": urls, "receiver": RECEIVER, "grace": grace, "timeout": "2s"},
        },
    )
    return build_responder(load_policy(config, env={}), console=io.StringIO())


def _metric(responder: Responder, name: str, **labels: str) -> float:
    value = responder.metrics.registry.get_sample_value(name, labels)
    return float(value or 0.0)


def _reconciler(responder: Responder) -> Reconciler:
    assert responder.reconciler is not None, "the policy has an alertmanager: section"
    return responder.reconciler


async def _round(responder: Responder) -> Report:
    return await _reconciler(responder).once()


async def _timelines(responder: Responder) -> list[dict[str, Any]]:
    """Every alert instance the journal holds, with its timeline (Alertmanager made the fingerprints)."""
    listed = await responder.journal.instances({}, 100)
    return [i for fp in sorted({a["fingerprint"] for a in listed}) for i in await responder.journal.timeline(fp)]


async def test_a_firing_the_push_path_missed_is_found_and_stopped_exactly_once(
    responder: Responder, alertmanagers: Alertmanagers, cluster: Cluster
) -> None:
    alertmanagers.fire()
    async with started(responder.journal):
        await _round(responder)
        await responder.engine.drain()
        await _round(responder)  # again: Alertmanager still reports it
        await responder.engine.drain()
        [instance] = await _timelines(responder)
        kinds = [e["kind"] for e in instance["events"]]
        assert kinds[:2] == ["firing", "found_by_reconciliation"], kinds
        assert len(cluster.fake.patches("deployments/scale")) == 1
        assert _metric(responder, "responder_reconciled_alerts_total", kind="firing") == 1
        assert _metric(responder, "responder_reconciliations_total", reading="read") == 2


async def test_a_notification_arriving_after_reconciliation_found_the_alert_does_not_act_again(
    responder: Responder, alertmanagers: Alertmanagers, cluster: Cluster
) -> None:
    alertmanagers.fire()
    async with started(responder.journal):
        await _round(responder)
        [instance] = await _timelines(responder)
        late = alert_payload(cost_alert(fingerprint=instance["fingerprint"], starts_at=instance["starts_at"]))
        body = json.dumps(late).encode()
        await responder.engine.accept(body, "late-push", parse_notification(body))
        await responder.engine.drain()
        assert len(cluster.fake.patches("deployments/scale")) == 1


async def test_a_resolve_the_push_path_missed_ends_the_ladder_with_the_reason(
    responder: Responder, alertmanagers: Alertmanagers
) -> None:
    alertmanagers.fire()
    async with started(responder.journal):
        await _round(responder)
        await responder.engine.drain()
        alertmanagers.fire(ends=datetime.now(UTC) - timedelta(seconds=1))  # Prometheus: it ended
        await _round(responder)
        [instance] = await _timelines(responder)
        assert instance["status"] == "resolved"
        resolved = [e for e in instance["events"] if e["kind"] in ("resolved", "resolved_by_reconciliation")]
        assert [e["kind"] for e in resolved] == ["resolved", "resolved_by_reconciliation"]
        assert "resolved by reconciliation" in resolved[1]["detail"]["note"]
        firing = [s for s in instance["steps"] if s["params"].get("event") == "firing"]
        assert all(s["status"] != "pending" for s in firing), "the ladder ended"
        assert {s["name"] for s in instance["steps"] if s["params"].get("event") == "resolved"}, "people are told"
        assert _metric(responder, "responder_reconciled_alerts_total", kind="resolved") == 1


async def test_with_an_alertmanager_unanswered_missed_firings_are_found_but_nothing_is_resolved(
    tmp_path: Path, alertmanagers: Alertmanagers, cluster: Cluster
) -> None:
    responder = await _responder(tmp_path, [alertmanagers.url, f"http://127.0.0.1:{free_port()}"], cluster)
    alertmanagers.fire()
    async with started(responder.journal):
        await _round(responder)
        alertmanagers.fire(ends=datetime.now(UTC) - timedelta(seconds=1))
        report = await _round(responder)
        assert len(report.failed) == 1 and "127.0.0.1" in report.failed[0]
        [instance] = await _timelines(responder)
        assert instance["status"] == "firing", "the replica that did not answer may still report it"
        assert _metric(responder, "responder_reconciliations_total", reading="partial") == 2
        await _reconciler(responder).close()


async def test_a_silenced_alert_is_neither_found_nor_resolved(
    responder: Responder, alertmanagers: Alertmanagers
) -> None:
    labels = cost_alert()["labels"]
    alertmanagers.fire(team="quiet")
    alertmanagers.silence(alertname=labels["alertname"], team="quiet")
    async with started(responder.journal):
        await _round(responder)
        assert await _timelines(responder) == [], "Alertmanager would not notify a silenced alert"
        alertmanagers.fire()
        await _round(responder)
        alertmanagers.silence(alertname=labels["alertname"], team=labels["team"])
        await _round(responder)
        [instance] = await _timelines(responder)
        assert instance["status"] == "firing", "silenced is still firing"


async def test_no_alertmanager_answering_is_counted_and_changes_nothing(tmp_path: Path, cluster: Cluster) -> None:
    responder = await _responder(tmp_path, [f"http://127.0.0.1:{free_port()}"], cluster)
    async with started(responder.journal):
        report = await _round(responder)
        assert report.answered == [] and len(report.failed) == 1
        assert _metric(responder, "responder_reconciliations_total", reading="unreachable") == 1
        await _reconciler(responder).close()


def test_a_responder_started_after_alertmanager_gave_up_on_it_acts_on_the_alert_at_start(
    tmp_path: Path, alertmanagers: Alertmanagers, cluster: Cluster
) -> None:
    """The whole process: `serve` reconciles at start, before any notification arrives."""
    alertmanagers.fire()
    port = free_port()
    config = write_policy(
        tmp_path,
        {
            "server.listen": f"127.0.0.1:{port}",
            "kubernetes": {"host": cluster.url, "token": KUBE_TOKEN, "timeout": "5s"},
            "actions.EMERGENCY_STOP.mode": "live",
            "actions.EMERGENCY_STOP.allowed_namespaces": [NAMESPACE],
            "alertmanager": {"urls": [alertmanagers.url], "receiver": RECEIVER, "interval": "1s"},
        },
    )
    service = responder_process(config, port, tmp_path / "responder.log")
    service.start()
    try:
        wait_for("the stop", lambda: cluster.fake.patches("deployments/scale"), timeout=30)
        time.sleep(2.5)  # two more rounds, which must not act again
        assert len(cluster.fake.patches("deployments/scale")) == 1
    finally:
        service.stop()


async def test_a_start_time_in_nanoseconds_pushed_is_the_same_instance_alertmanager_lists_in_milliseconds(
    responder: Responder, alertmanagers: Alertmanagers, cluster: Cluster
) -> None:
    """Alertmanager's webhook carries the start as sent (nanoseconds); its API lists it to the millisecond."""
    start = "2026-11-23T13:00:00.123456789Z"
    alertmanagers.fire(starts_at=start)
    [listed] = alertmanagers.alerts()
    assert listed["startsAt"] != start, "this Alertmanager lists starts in other precision: the test proves less"
    async with started(responder.journal):
        pushed = alert_payload(cost_alert(fingerprint=listed["fingerprint"], starts_at=start))
        body = json.dumps(pushed).encode()
        await responder.engine.accept(body, "push", parse_notification(body))
        await _round(responder)
        await _round(responder)  # grace 0s: a second round would resolve what it did not match
        [instance] = await _timelines(responder)
        assert instance["status"] == "firing"
        await responder.engine.drain()
        assert len(cluster.fake.patches("deployments/scale")) == 1
