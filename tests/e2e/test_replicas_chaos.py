"""Chaos on two replicas sharing PostgreSQL, alerts delivered by the clustered Alertmanager pair.

A storm of 210 alert instances; one replica SIGKILLed mid-storm and started again as the same
pod would be; then PostgreSQL itself restarted with `pg_ctl restart -m immediate` (a crash, no
checkpoint). Bar: every notification answered 200 is in the journal, no deployment is changed
twice and no SMS goes twice (the fakes' request logs), and every instance's ladder completes
within one lease period.

Failover: a paced storm; one replica SIGKILLed while it holds leases, and never started again.
Bar: the survivor takes up the dead replica's leased steps within one lease period of the kill
(and the poll that finds them expired), nothing goes twice, and every ladder completes.

Rolling update: the same storm; one replica stopped with SIGTERM, as Kubernetes stops a pod,
while it holds leases. Bar: once it has exited it holds no lease (what it was running it
finished, what it leased and had not started it handed back), nothing goes twice, and every
ladder completes without waiting for a lease to run out."""

import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed")

from tests.e2e.processes import wait_for
from tests.e2e.replicas import ReplicaStack
from tests.e2e.stack import FREEZE, INVESTIGATE, STOP
from tests.postgres import PostgresServer, running_server

TENANTS = [f"t{i:02d}" for i in range(70)]  # one alert instance per tenant and alert: 210 in all
ALERTS = (STOP, FREEZE, INVESTIGATE)
DOWN_SECONDS = 3.0
LEASE = {"workers.step_timeout": "10s", "workers.lease": "30s"}
LEASE_SECONDS = 30.0


@pytest.fixture
def chaos(tmp_path: Path) -> Iterator[tuple[ReplicaStack, PostgresServer]]:
    """A server of its own: the storm test restarts it."""
    with running_server() as server, ExitStack() as exits:
        yield ReplicaStack(tmp_path, exits, server.fresh_dsn()), server


def test_a_replica_killed_and_postgresql_restarted_in_a_storm_lose_and_repeat_nothing(
    chaos: tuple[ReplicaStack, PostgresServer], report: list[str]
) -> None:
    stack, server = chaos
    _two_replicas(stack, LEASE)
    for alert in ALERTS:
        for tenant in TENANTS:
            stack.trip(alert, tenant=tenant)
    wait_for("the storm to start arriving", lambda: len(stack.bodies()) >= 10, 30, 0.05)
    victim = stack.replicas[1]
    victim.kill()
    killed_at = time.monotonic()
    time.sleep(DOWN_SECONDS)
    victim.start()
    restarted_in = time.monotonic() - killed_at
    started = time.monotonic()
    server.restart("immediate")
    database_down = time.monotonic() - started

    expected = len(TENANTS)
    for name, *_ in ALERTS:
        wait_for(f"every {name}", lambda: len(stack.instances(name)) == expected, 120, 0.5)  # noqa: B023 (called at once)
    # Within one lease period: a step leased by a transaction the outage cut off waits for it.
    settle_started = time.monotonic()
    try:
        stack.settled(LEASE_SECONDS + 30)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; unfinished: {stack.unfinished()}") from None
    settled_in = time.monotonic() - settle_started

    assert stack.balancer is not None
    accepted = dict(stack.balancer.accepted)  # before the journal is read: Alertmanager still sends repeats
    journaled = set(stack.correlation_ids())
    missing = {c: i for c, i in accepted.items() if c not in journaled}
    assert not missing, (
        f"answered 200 but not in the journal (correlation id: id): {missing}; the rows that hold those ids:"
        f" {stack.notifications_with_ids(list(missing.values()))}"
    )
    remediations, sms = _once_each_and_every_ladder_done(stack, expected)
    report.append(
        f"chaos: {len(remediations)} instances over 2 replicas; {len(stack.balancer.accepted)} notifications answered"
        f" 200, all journaled; {stack.balancer.refused} answered 503 (Alertmanager retried); replica killed and"
        f" back in {restarted_in:.1f}s; PostgreSQL restarted (immediate) in {database_down:.1f}s; scale writes"
        f" {stack.fakes.scale_writes('o3-audit-proxy')}, pause writes {stack.fakes.pause_writes('gemini-audit')};"
        f" {len(sms)} SMS, at most {max(sms.values())} per step; interrupted attempts {stack.interrupted()};"
        f" settled {settled_in:.0f}s after every instance was seen"
    )


def _two_replicas(stack: ReplicaStack, lease: dict[str, str]) -> None:
    """Two replicas on the stack's database with `lease`'s workers settings, the circuit breaker
    open wide for the storm, and the Alertmanager pair sending to them."""
    stack.start_replicas(2, {"circuit_breaker.max_mutations": 1000, **lease})
    stack.start_alerting(replicas=2)


def _once_each_and_every_ladder_done(stack: ReplicaStack, tenants: int) -> tuple[dict[int, int], Counter[str]]:
    """The fakes' request logs hold each mutation and each SMS once, every alert instance was
    remediated once, and no ladder is left: the remediations per instance and the SMS per step."""
    assert stack.fakes.scale_writes("o3-audit-proxy") == [0], "one stop, never twice"
    assert stack.fakes.pause_writes("gemini-audit") == [True], "one freeze, never twice"
    assert not [w for w in stack.fakes.kube.writes if w[1] == "meta-builder"]
    remediations = stack.per_instance("remediation")
    assert len(remediations) == tenants * len(ALERTS), "an alert instance was lost"
    assert max(remediations.values()) == 1, "an instance was remediated twice"
    sms = stack.fakes.sms_per_step()
    assert sms and set(sms.values()) == {1}, f"an SMS went twice: {sms}"
    assert stack.backlog() == 0, "a ladder did not complete"
    return remediations, sms


TERMINATION_GRACE_SECONDS = 30.0  # what Kubernetes gives a pod between SIGTERM and SIGKILL, by default
FAILOVER_LEASE = {"workers.step_timeout": "5s", "workers.lease": "15s"}
FAILOVER_LEASE_SECONDS = 15.0
FAILOVER_TENANTS = [f"f{i:02d}" for i in range(40)]  # 120 alert instances, tripped 10 tenants at a time
CLAIM_POLL_SECONDS = 1.0  # a replica's dispatcher asks for due steps (and expired leases) at least this often
TAKE_UP_SECONDS = 1.0  # the survivor's claim transaction and its event loop, busy with the storm


def _paced_storm_until_replica_1_holds_leases(stack: ReplicaStack) -> None:
    """Trip every alert of FAILOVER_TENANTS, 10 tenants at a time, then wait for replica-1 to
    hold leases."""
    for wave in range(0, len(FAILOVER_TENANTS), 10):
        for tenant in FAILOVER_TENANTS[wave : wave + 10]:
            for alert in ALERTS:
                stack.trip(alert, tenant=tenant)
        time.sleep(0.5)
    wait_for("replica-1 to hold leases", lambda: bool(stack.leased_by("replica-1")), 60, 0.02)


def test_the_survivor_runs_a_dead_replicas_leased_steps_within_one_lease_period(
    chaos: tuple[ReplicaStack, PostgresServer], report: list[str]
) -> None:
    stack, _ = chaos
    _two_replicas(stack, FAILOVER_LEASE)
    victim, survivor = stack.replicas[1], "replica-0"
    _paced_storm_until_replica_1_holds_leases(stack)
    victim.kill()
    killed_at = time.time()
    leases = stack.leased_by("replica-1")  # frozen: nobody else may take them before they expire
    orphaned, runs_out = list(leases), max(leases.values(), default=killed_at) - killed_at
    assert orphaned, "the victim finished its steps before the kill; nothing was left to take over"

    expected = len(FAILOVER_TENANTS)
    for name, *_ in ALERTS:
        wait_for(f"every {name}", lambda: len(stack.instances(name)) == expected, 90, 0.5)  # noqa: B023 (called at once)
    bar = runs_out + CLAIM_POLL_SECONDS + TAKE_UP_SECONDS  # at most one lease period, and the poll
    wait_for(
        "the survivor to run the dead replica's steps",
        lambda: all(finished is not None for *_, finished in stack.taken_up(orphaned).values()),
        bar + 30,
        0.2,
    )
    taken_up = stack.taken_up(orphaned)
    assert {holder for holder, *_ in taken_up.values()} == {survivor}, taken_up
    started = max(s for _, s, _ in taken_up.values() if s is not None) - killed_at
    finished = max(f for *_, f in taken_up.values() if f is not None) - killed_at
    stack.settled(60)

    remediations, sms = _once_each_and_every_ladder_done(stack, expected)
    report.append(
        f"failover: {len(remediations)} instances over 2 replicas, paced; replica-1 SIGKILLed holding"
        f" {len(orphaned)} leases (lease {FAILOVER_LEASE_SECONDS:g}s, the last running out {runs_out:.1f}s after"
        f" the kill) and not restarted; the last of them started on {survivor} {started:.1f}s after the kill and"
        f" finished {finished:.1f}s after it; {len(sms)} SMS, at most {max(sms.values())} per step; scale writes"
        f" {stack.fakes.scale_writes('o3-audit-proxy')}; interrupted attempts {stack.interrupted()}"
    )
    assert runs_out <= FAILOVER_LEASE_SECONDS
    assert started <= bar, f"the dead replica's last step started {started:.1f}s after the kill; the bar is {bar:.1f}s"


def test_a_replica_stopped_in_a_storm_leaves_no_lease_behind(
    chaos: tuple[ReplicaStack, PostgresServer], report: list[str]
) -> None:
    stack, _ = chaos
    _two_replicas(stack, FAILOVER_LEASE)
    victim = stack.replicas[1]
    _paced_storm_until_replica_1_holds_leases(stack)
    held = len(stack.leased_by("replica-1"))
    stopping = time.monotonic()
    victim.stop(TERMINATION_GRACE_SECONDS)
    stopped_in = time.monotonic() - stopping
    assert victim.popen is not None and victim.popen.returncode == 0, f"not a clean exit; log:\n{victim.tail()}"
    assert stack.leased_by("replica-1") == {}, "a stopped replica's steps would wait for their leases"

    expected = len(FAILOVER_TENANTS)
    for name, *_ in ALERTS:
        wait_for(f"every {name}", lambda: len(stack.instances(name)) == expected, 90, 0.5)  # noqa: B023 (called at once)
    stack.settled(FAILOVER_LEASE_SECONDS)
    remediations, sms = _once_each_and_every_ladder_done(stack, expected)
    handed_back = sum(
        json.loads(line)["steps"]
        for line in victim.log.read_text("utf-8", "replace").splitlines()
        if "handed back the steps claimed while stopping" in line
    )
    report.append(
        f"rolling update: {len(remediations)} instances over 2 replicas, paced; replica-1 stopped (SIGTERM) holding"
        f" {held} leases, exited cleanly in {stopped_in:.1f}s holding none, having handed back {handed_back} steps"
        f" it had leased and not started; {len(sms)} SMS, at most {max(sms.values())} per step; scale writes"
        f" {stack.fakes.scale_writes('o3-audit-proxy')}; interrupted attempts {stack.interrupted()}"
    )
