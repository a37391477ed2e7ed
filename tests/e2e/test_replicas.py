"""Two responder replicas on one PostgreSQL journal, behind one address, with the clustered
Alertmanager pair sending to them: every action end to end exactly once on the Kubernetes
fake's request log, whichever replica received each notification, and a stale firing after
the resolve ignored whichever replica sees it."""

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed")

from tests.e2e.replicas import ReplicaStack
from tests.e2e.stack import FREEZE, INVESTIGATE, STOP
from tests.postgres import PostgresServer, postgres_server  # noqa: F401  (a fixture, found by name)

AFTER_RESOLVE = 6.0  # seconds of repeats and stale re-sends from both Alertmanagers after the undo
TARGETS = {"namespace": "autogen-council"}


@pytest.fixture
def replicas(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ReplicaStack]:
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with ExitStack() as exits:
        yield ReplicaStack(tmp_path, exits, server.fresh_dsn())


def test_two_replicas_behind_one_address_act_once_per_alert_instance(replicas: ReplicaStack, report: list[str]) -> None:
    stack = replicas
    stack.start_replicas(2, {"actions.EMERGENCY_STOP.cooldown": "0s", "actions.FREEZE_DEPLOYMENTS.cooldown": "0s"})
    stack.start_alerting(replicas=2)
    for alert in (STOP, FREEZE, INVESTIGATE):
        stack.trip(alert)
    for alert in (STOP, FREEZE, INVESTIGATE):
        stack.remediated(alert[0])
        stack.calm(alert)
    for alert in (STOP, FREEZE, INVESTIGATE):
        stack.resolved(alert[0])
    # A human undoes the stop and the freeze through the Service; a stale firing must not undo the undo.
    assert stack.api("/api/v1/restore", {**TARGETS, "deployment": "o3-audit-proxy", "actor": "e2e"})["ok"]
    assert stack.api("/api/v1/unfreeze", {**TARGETS, "deployment": "gemini-audit", "actor": "e2e"})["ok"]
    for alertname in (STOP[0], FREEZE[0]):
        for _ in range(2):  # once through each replica
            assert stack.post("/webhook", stack.firing_bodies(alertname)[0])[0] == 200
    time.sleep(AFTER_RESOLVE)
    stack.settled()

    assert stack.balancer is not None
    answered = stack.balancer.answered
    assert len(answered) == 2 and min(answered.values()) > 10, f"both replicas should answer: {answered}"
    assert stack.fakes.scale_writes("o3-audit-proxy") == [0, 3], "one stop, one restore, no re-stop"
    assert stack.fakes.pause_writes("gemini-audit") == [True, False], "one freeze, one unfreeze, no re-freeze"
    assert not [w for w in stack.fakes.kube.writes if w[1] == "meta-builder"], "INVESTIGATE reads only"
    assert sorted(stack.per_instance("remediation").values()) == [1, 1, 1], "each instance remediated once"
    assert [i["status"] for i in stack.instances(STOP[0])] == ["resolved"]
    sms = stack.fakes.sms_per_step()
    assert sms and set(sms.values()) == {1}, f"an SMS went twice: {sms}"
    assert len(stack.fakes.pages(STOP[0])) == 1, "one page for the one stop"
    runners = stack.step_runners("escalation")
    report.append(
        f"replicas: requests answered per replica {sorted(answered.values())}; escalation steps run per replica"
        f" {dict(runners)}; scale writes {stack.fakes.scale_writes('o3-audit-proxy')}, pause writes"
        f" {stack.fakes.pause_writes('gemini-audit')}; SMS {len(sms)}, at most {max(sms.values())} per step"
    )
