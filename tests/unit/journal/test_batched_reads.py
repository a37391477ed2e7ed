"""Operations submitted together run in one transaction on a backend that batches them
(PostgreSQL reads a batch's first firings at once, keeps the guards for the whole transaction
and inserts its notifications in one statement): what they decide must be what they would
decide one after the other, as SQLite runs them. Every backend runs these, through the
protocol and the real ingest rules.

`together` submits its operations in order within one turn of the loop, before the writer
takes any of them, so a batching backend runs them in one transaction."""

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest

from responder.alerts import parse_notification
from responder.ingest import Applied, NotificationReads, apply_notification
from responder.journal import GuardQuery, Journal, ReadAhead, StoredNotification, Transaction
from responder.policy import Policy
from responder.vocabulary import Guard, StepKind
from tests.conftest import alert_payload, cost_alert
from tests.unit.journal.plans import ALERT, NOW, STOP, claim, plan

Accepted = tuple[int, Applied | None]
Op = Callable[[], Awaitable[Any]]
OLD = ("old", ALERT.starts_at)


async def together(*ops: Op) -> list[Any]:
    """Each of `ops` started in order: each submits to the writer in its first step, and the
    writer starts on the loop's next turn, so they all wait for the same transaction."""

    async def run(op: Op) -> Any:
        return await op()

    return await asyncio.gather(*(run(op) for op in ops))


def firing(fingerprint: str, deployment: str, status: str = "firing") -> dict[str, Any]:
    """An EMERGENCY_STOP alert on shop/`deployment`."""
    return cost_alert(status, fingerprint, target_namespace="shop", target_deployment=deployment)


def accept(
    journal: Journal, policy: Policy, alert: dict[str, Any], now: float = NOW, ahead: ReadAhead | None = None
) -> Callable[[], Awaitable[Accepted]]:
    """An accept of a notification of `alert`, applied as the engine applies it, and telling
    ahead what it will read (by default as the engine tells it)."""
    body = json.dumps(alert_payload(alert, status=alert["status"])).encode()
    notification = parse_notification(body)

    def apply(tx: Transaction, stored: StoredNotification) -> Applied:
        return apply_notification(tx, policy, stored, notification, now)

    reads = ahead or NotificationReads(notification, policy)
    return lambda: journal.accept(body, alert["fingerprint"], now, apply, None, reads)


def refusals(results: Sequence[Accepted]) -> list[list[str]]:
    """Each applied notification's refusals, in order."""
    applied = [result for _, result in results]
    assert None not in applied, "every notification is applied when none waits before it"
    return [result.refusals for result in applied if result is not None]


async def stops_planned(journal: Journal) -> list[tuple[str, str]]:
    """The stops planned and not cancelled, in the order planned: (fingerprint, deployment)."""
    claimed = await claim(journal, StepKind.REMEDIATION, 100, NOW + 3600, 60)
    return [(s.instance.fingerprint, s.params["target"]["deployment"]) for s in claimed if s.name == "EMERGENCY_STOP"]


async def test_a_first_firing_is_refused_by_the_cooldown_of_one_planned_just_before_it(
    journal: Journal, make_policy: Callable[..., Policy]
) -> None:
    policy = make_policy()
    results = await together(
        accept(journal, policy, firing("a", "web")),
        accept(journal, policy, firing("a", "web")),  # the same notification again: a repeat
        accept(journal, policy, firing("b", "web")),
    )
    assert refusals(results) == [[], [], [Guard.COOLDOWN]]
    assert [r.alerts for _, r in results] == [[("EMERGENCY_STOP", "firing")], [], [("EMERGENCY_STOP", "firing")]]
    assert await stops_planned(journal) == [("a", "web")]


@pytest.mark.parametrize("read_before", [False, True], ids=["change-first", "guards-read-before-the-change"])
async def test_a_first_firing_sees_a_change_recorded_before_it_in_its_batch(
    journal: Journal, make_policy: Callable[..., Policy], read_before: bool
) -> None:
    """With `read_before`, a first firing on another target reads the guards (the batch's all)
    before the change is recorded: the change must still count."""
    policy = make_policy()
    await plan(journal, STOP)
    [running] = await claim(journal, StepKind.REMEDIATION, 1, NOW, 600)
    earlier = [accept(journal, policy, firing("other", "other"), NOW + 60)] if read_before else []
    *_, (_, result) = await together(
        *earlier,
        lambda: journal.record_effects(running, [], ["shop/web"], NOW + 30),
        accept(journal, policy, firing("b", "web"), NOW + 60),
    )
    assert result is not None and result.refusals == [Guard.COOLDOWN]


async def test_the_circuit_breaker_counts_what_earlier_first_firings_of_the_batch_planned(
    journal: Journal, make_policy: Callable[..., Policy]
) -> None:
    policy = make_policy({"circuit_breaker.max_mutations": 3})
    deployments = [f"d{i}" for i in range(5)]
    results = await together(*(accept(journal, policy, firing(f"fp{d}", d)) for d in deployments))
    assert refusals(results) == [[], [], [], [Guard.CIRCUIT_BREAKER], [Guard.CIRCUIT_BREAKER]]
    assert await stops_planned(journal) == [(f"fp{d}", d) for d in deployments[:3]]


async def test_a_stop_cancelled_by_a_resolve_in_the_batch_no_longer_holds_its_target(
    journal: Journal, make_policy: Callable[..., Policy]
) -> None:
    policy = make_policy()
    results = await together(
        accept(journal, policy, firing("a", "web")),
        accept(journal, policy, firing("a", "web", "resolved"), NOW + 1),
        accept(journal, policy, firing("b", "web"), NOW + 2),
    )
    assert refusals(results) == [[], [], []]
    assert await stops_planned(journal) == [("b", "web")]


async def test_a_first_firing_applied_again_after_its_batch_rolled_back_is_planned_afresh(
    journal: Journal, make_policy: Callable[..., Policy]
) -> None:
    """An apply that fails rolls its batch back; what the others planned in it, and the guards
    they read, must not be remembered when they run again."""
    policy = make_policy()

    def broken(tx: Transaction, stored: StoredNotification) -> None:
        raise ValueError("a bug in one apply")

    (_, first), (broken_id, left) = await together(
        accept(journal, policy, firing("a", "web")), lambda: journal.accept(b"{}", "c", NOW, broken)
    )
    assert first is not None and first.refusals == [] and first.alerts == [("EMERGENCY_STOP", "firing")]
    assert left is None and [s.id for s in await journal.unprocessed(10)] == [broken_id]
    assert await stops_planned(journal) == [("a", "web")]


async def test_notifications_appended_in_a_batch_are_read_by_its_later_operations(journal: Journal) -> None:
    def applied(tx: Transaction, stored: StoredNotification) -> int:
        return stored.id

    appended, (accepted, result), backlog, (last, _), waiting = await together(
        lambda: journal.append_notification(b"{}", "c0", NOW),
        lambda: journal.accept(b"{}", "c1", NOW, applied),
        journal.refresh_backlog,
        lambda: journal.accept(b"{}", "c2", NOW, applied),
        lambda: journal.unprocessed(10),
    )
    assert result is None, "left to ingest, behind the one appended before it"
    assert backlog == 2
    assert [s.id for s in waiting] == [appended, accepted, last]


async def test_an_instance_read_ahead_from_the_database_is_found(
    journal: Journal, make_policy: Callable[..., Policy]
) -> None:
    """A repeat or a resolve whose instance the writer does not hold (another replica's, or,
    here, one planned before a prune emptied what the writer holds) is read with the batch."""
    policy = make_policy()
    await accept(journal, policy, firing("a", "web"))()
    await plan(journal, fingerprint="old")
    await journal.transact(lambda tx: tx.set_status(tx.instances([OLD])[OLD], "resolved", NOW))
    assert await journal.prune(NOW + 10**6) == 1
    results = await together(
        accept(journal, policy, firing("a", "web"), NOW + 1),
        accept(journal, policy, firing("a", "web", "resolved"), NOW + 2),
        accept(journal, policy, firing("b", "web"), NOW + 3),
    )
    assert [r.alerts for _, r in results] == [[], [("EMERGENCY_STOP", "resolved")], [("EMERGENCY_STOP", "firing")]]
    assert refusals(results) == [[], [], []], "a's stop was cancelled before it ran: it holds web no longer"
    assert await stops_planned(journal) == [("b", "web")]


class Misleading:
    """A read-ahead that names keys nobody asks for, with guards for other steps and targets."""

    def keys(self) -> list[tuple[str, str]]:
        return [("nobody", "2026-11-23T13:00:00.000000Z"), ("nobody", "2026-11-23T14:00:00.000000Z")]

    def guards(self, index: int) -> GuardQuery | None:
        return GuardQuery(["FREEZE_DEPLOYMENTS"], [f"shop/elsewhere{index}"], 1.0, 1)


class Raising:
    """A read-ahead with a bug in `broken` (keys or guards)."""

    def __init__(self, broken: str) -> None:
        self._broken = broken

    def keys(self) -> list[tuple[str, str]]:
        if self._broken == "keys":
            raise ValueError("a bug in a read-ahead's keys")
        return [("r", "2026-11-23T13:00:00.000000Z")]

    def guards(self, index: int) -> GuardQuery | None:
        raise ValueError("a bug in a read-ahead's guards")


async def test_a_read_ahead_that_misleads_changes_nothing(journal: Journal, make_policy: Callable[..., Policy]) -> None:
    policy = make_policy()
    await accept(journal, policy, firing("a", "web"))()
    misled = Misleading()
    results = await together(
        accept(journal, policy, firing("a", "web"), NOW + 1, misled),
        accept(journal, policy, firing("b", "web"), NOW + 2, misled),
        accept(journal, policy, firing("c", "api"), NOW + 3, misled),
    )
    assert refusals(results) == [[], [Guard.COOLDOWN], []]
    assert [r.alerts for _, r in results] == [[], [("EMERGENCY_STOP", "firing")], [("EMERGENCY_STOP", "firing")]]
    assert await stops_planned(journal) == [("a", "web"), ("c", "api")]


@pytest.mark.parametrize("broken", ["keys", "guards"])
async def test_a_read_ahead_that_raises_fails_no_other_accept_of_its_batch(
    journal: Journal, make_policy: Callable[..., Policy], broken: str
) -> None:
    """Its own notification may be left to ingest (or applied: a backend may ignore the hint),
    never lost; the accept before it in the batch is applied."""
    policy = make_policy()
    (_, first), (later_id, later) = await together(
        accept(journal, policy, firing("a", "web")),
        accept(journal, policy, firing("b", "api"), NOW, Raising(broken)),
    )
    assert first is not None and first.refusals == [], "a hint's bug must not fail another notification"
    waiting = [s.id for s in await journal.unprocessed(10)]
    assert (later is None and waiting == [later_id]) or (later is not None and waiting == [])
    assert await stops_planned(journal) == [("a", "web")] + ([] if later is None else [("b", "api")])
