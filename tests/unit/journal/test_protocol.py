"""The Journal protocol's promises, through the protocol only: every backend runs these."""

import asyncio
from typing import Any

import pytest
from msgspec.structs import replace

from responder.alerts import Alert
from responder.decision import GuardState
from responder.journal import Effect, Journal, Listing, Operation, Step, StepResult, StoredNotification, Transaction
from responder.planner import PlannedStep
from responder.vocabulary import StepKind
from tests.unit.journal.plans import ALERT, KEY, NOW, STOP, claim, due, plan


async def test_concurrent_appends_are_all_kept_in_order(journal: Journal) -> None:
    ids = await asyncio.gather(*(journal.append_notification(b"{}", f"c{i}", NOW) for i in range(200)))
    assert len(set(ids)) == 200
    assert [s.id for s in await journal.unprocessed(500)] == sorted(ids)
    assert journal.backlog() == 200


async def test_a_step_is_planned_once_however_often_it_is_planned(journal: Journal) -> None:
    for _ in range(5):
        await plan(journal, STOP)
    assert len(await claim(journal, StepKind.REMEDIATION, 10, NOW, 60)) == 1


async def test_concurrent_claims_never_hand_out_the_same_step(journal: Journal) -> None:
    steps = [PlannedStep(StepKind.ESCALATION, "slack", 0.0, {"event": "firing"}, f"k{i}") for i in range(50)]
    await plan(journal, *steps)
    claims = await asyncio.gather(*(claim(journal, StepKind.ESCALATION, 7, NOW, 60) for _ in range(10)))
    ids = [s.id for found in claims for s in found]
    assert len(ids) == len(set(ids)) == 50


async def test_steps_not_yet_due_are_not_claimed(journal: Journal) -> None:
    await plan(journal, PlannedStep(StepKind.ESCALATION, "sms", 900.0, {"event": "firing"}, "later"))
    assert await claim(journal, StepKind.ESCALATION, 10, NOW, 60) == []
    assert await journal.next_due("escalation") == NOW + 900
    assert len(await claim(journal, StepKind.ESCALATION, 10, NOW + 900, 60)) == 1


async def test_a_retry_goes_back_to_pending_at_its_time(journal: Journal) -> None:
    await plan(journal, STOP)
    [step] = await claim(journal, StepKind.REMEDIATION, 1, NOW, 60)
    await journal.finish_step(step, StepResult("retry", {"error": "503"}), NOW, NOW + 1, NOW + 30)
    assert await claim(journal, StepKind.REMEDIATION, 1, NOW + 10, 60) == []
    [again] = await claim(journal, StepKind.REMEDIATION, 1, NOW + 30, 60)
    assert again.id == step.id and again.attempts == 2


async def test_a_step_whose_lease_ran_out_is_claimed_again(journal: Journal) -> None:
    await plan(journal, STOP)
    [first] = await claim(journal, StepKind.REMEDIATION, 1, NOW, 60)
    assert await claim(journal, StepKind.REMEDIATION, 1, NOW + 30, 60) == []
    [again] = await claim(journal, StepKind.REMEDIATION, 1, NOW + 61, 60)
    assert again.id == first.id and again.attempts == 2
    assert again.interrupted and not first.interrupted
    [instance] = await journal.timeline("fp1")
    [cut_short] = instance["steps"][0]["attempts"]
    assert (cut_short["status"], cut_short["started_at"], cut_short["finished_at"]) == ("interrupted", NOW, NOW + 61)
    assert cut_short["detail"]["interrupted"] == "lease expired"


async def test_a_step_is_no_longer_interrupted_once_an_attempt_ended(journal: Journal) -> None:
    await plan(journal, STOP)
    await claim(journal, StepKind.REMEDIATION, 1, NOW, 60)
    [again] = await claim(journal, StepKind.REMEDIATION, 1, NOW + 61, 60)
    await journal.finish_step(again, StepResult("retry", {"error": "503"}), NOW + 61, NOW + 62, NOW + 70)
    [third] = await claim(journal, StepKind.REMEDIATION, 1, NOW + 70, 60)
    assert third.attempts == 3 and not third.interrupted


async def test_effects_recorded_while_a_step_runs_hold_before_it_ends(journal: Journal) -> None:
    await plan(journal, STOP)
    [stop] = await claim(journal, StepKind.REMEDIATION, 1, NOW, 60)
    stopped = Effect("stopped", "n", "d", True, "fp1@x", {"replicas": 3})
    await journal.record_effects(stop, [stopped], ["n/d", "n/e"], NOW + 1)
    assert [(h["deployment"], h["replicas"]) for h in await journal.holds("stopped")] == [("d", 3)]

    def guards(tx: Transaction) -> GuardState:
        return tx.guard_state(["EMERGENCY_STOP"], ["n/e"], 3600, NOW + 2, 100)

    state = await journal.transact(guards)
    assert state.mutations_in_window == 2, "each deployment changed counts, before the step ends"
    assert state.last_mutation_at == {"n/e": NOW + 1}
    again = StepResult("succeeded", {"targets": [{"deployment": "n/d", "changed": True}]}, effects=(stopped,))
    await journal.finish_step(stop, again, NOW, NOW + 3, None)
    assert len(await journal.holds("stopped")) == 1
    assert (await journal.transact(guards)).mutations_in_window == 2, "recorded twice, counted once"


async def test_an_outcome_its_effects_and_its_follow_ups_are_recorded_together(journal: Journal) -> None:
    await plan(journal, STOP)
    [stop] = await claim(journal, StepKind.REMEDIATION, 1, NOW, 60)
    stopped = Effect("stopped", "n", "d", True, "fp1@x", {"replicas": 3})
    result = StepResult("succeeded", {"ok": 1}, effects=(stopped,))
    follow_up = PlannedStep(StepKind.ESCALATION, "slack", 0.0, {"event": "stopped"}, "escalation:stopped:slack")
    await journal.finish_step(stop, result, NOW, NOW + 1, None, [follow_up])
    [instance] = await journal.timeline("fp1")
    steps = [(s["name"], s["status"]) for s in instance["steps"]]
    assert steps == [("EMERGENCY_STOP", "succeeded"), ("slack", "pending")]
    assert [(a["status"], a["detail"]) for a in instance["steps"][0]["attempts"]] == [("succeeded", {"ok": 1})]
    holds = [(h["deployment"], h["holder"], h["replicas"]) for h in await journal.holds("stopped")]
    assert holds == [("d", "fp1@x", 3)]


async def test_an_operation_is_recorded_with_the_holds_it_lifted(journal: Journal) -> None:
    await plan(journal, STOP)
    [stop] = await claim(journal, StepKind.REMEDIATION, 1, NOW, 60)
    held = StepResult("succeeded", {}, effects=(Effect("stopped", "n", "d", True, "fp1@x"),))
    await journal.finish_step(stop, held, NOW, NOW, None)
    lifted = Effect("stopped", "n", "d", False)
    target = {"namespace": "n", "deployment": "d"}
    await journal.record_operation(Operation("alice", "RESTORE", target, True, {"message": "ok"}, [lifted], NOW + 5))
    assert await journal.holds() == []
    assert await journal.operations(10) == [
        {"at": NOW + 5, "actor": "alice", "op": "RESTORE", "target": target, "ok": True, "message": "ok"}
    ]


async def test_pruning_forgets_old_finished_history_but_never_unfinished_work(journal: Journal) -> None:
    await plan(journal, STOP, PlannedStep(StepKind.ESCALATION, "slack", 0.0, {"event": "firing"}, "s"))
    [slack] = await claim(journal, StepKind.ESCALATION, 1, NOW, 60)
    await journal.finish_step(slack, StepResult("succeeded", {}), NOW, NOW, None)
    assert await journal.prune(NOW + 10**6) == 0  # the stop is still pending
    [stop] = await claim(journal, StepKind.REMEDIATION, 1, NOW, 60)
    await journal.finish_step(stop, StepResult("succeeded", {}), NOW, NOW, None)
    assert await journal.prune(NOW + 10**6) == 0  # still firing
    await journal.transact(lambda tx: tx.set_status(tx.instances([KEY])[KEY], "resolved", NOW))
    assert await journal.prune(NOW + 10**6) == 1
    assert await journal.timeline("fp1") == []


async def test_a_firing_instance_is_never_pruned(journal: Journal) -> None:
    await plan(journal, STOP)
    [stop] = await claim(journal, StepKind.REMEDIATION, 1, NOW, 60)
    await journal.finish_step(stop, StepResult("succeeded", {}), NOW, NOW, None)
    assert await journal.prune(NOW + 10**6) == 0, "its next repeat would look new and stop again"


async def test_one_failing_operation_does_not_fail_the_others_in_its_batch(journal: Journal) -> None:
    def broken(tx: Transaction) -> None:
        tx.mark_processed([1], NOW)
        raise ValueError("a bug in one caller")

    results = await asyncio.gather(
        *(journal.append_notification(b"{}", f"c{i}", NOW) for i in range(20)),
        journal.transact(broken),
        return_exceptions=True,
    )
    assert [r for r in results if isinstance(r, BaseException)] == [results[20]]
    assert isinstance(results[20], ValueError)
    assert len(await journal.unprocessed(100)) == 20, "the failed operation's write was rolled back"


async def test_accept_applies_in_the_transaction_that_appends(journal: Journal) -> None:
    def apply(tx: Transaction, stored: StoredNotification) -> str:
        tx.insert_instance(ALERT, NOW)
        return stored.correlation_id

    _, result = await journal.accept(b"{}", "c1", NOW, apply)
    assert result == "c1"
    assert journal.backlog() == 0, "applied, and it planned no remediation"
    assert await journal.unprocessed(10) == []
    assert [i["fingerprint"] for i in await journal.instances({}, 10)] == ["fp1"]
    assert await journal.refresh_backlog() == 0


async def test_accept_keeps_the_notification_when_applying_fails(journal: Journal) -> None:
    def broken(tx: Transaction, stored: StoredNotification) -> None:
        tx.insert_instance(ALERT, NOW)
        raise ValueError("a bug in apply")

    nid, result = await journal.accept(b'{"v": 1}', "c1", NOW, broken)
    assert result is None
    assert journal.backlog() == 1
    assert [(s.id, s.body) for s in await journal.unprocessed(10)] == [(nid, b'{"v": 1}')], "left for ingest"
    assert await journal.instances({}, 10) == [], "apply's writes rolled back"
    assert await journal.refresh_backlog() == 1


async def test_accept_tells_then_what_its_future_gets(journal: Journal) -> None:
    told: list[tuple[object, BaseException | None]] = []
    accepted = await journal.accept(
        b"{}", "c1", NOW, lambda tx, stored: stored.id, lambda *outcome: told.append(outcome)
    )
    assert told == [(accepted, None)]


async def test_accept_leaves_a_notification_to_ingest_while_an_older_one_waits(journal: Journal) -> None:
    older = await journal.append_notification(b"{}", "c0", NOW)
    applied: list[int] = []
    nid, result = await journal.accept(b"{}", "c1", NOW, lambda tx, stored: applied.append(stored.id))
    assert result is None and applied == []
    assert [s.id for s in await journal.unprocessed(10)] == [older, nid]


def applies(tx: Transaction, stored: StoredNotification) -> int:
    return stored.id


async def apply_waiting(journal: Journal) -> None:
    """As ingest does: mark what waits applied."""
    waiting = [s.id for s in await journal.unprocessed(10)]
    await journal.transact(lambda tx: tx.mark_processed(waiting, NOW))


async def test_accept_sees_every_way_a_notification_is_left_unapplied_after_one_it_applied(journal: Journal) -> None:
    """An append and an apply that failed each leave a notification unapplied, and every accept
    after one of them must leave its own to ingest, behind it."""

    def fails(tx: Transaction, stored: StoredNotification) -> None:
        raise ValueError("a bug in apply")

    assert (await journal.accept(b"{}", "a", NOW, applies))[1] is not None
    await journal.append_notification(b"{}", "appended", NOW)
    assert (await journal.accept(b"{}", "b", NOW, applies))[1] is None
    await apply_waiting(journal)
    assert (await journal.accept(b"{}", "c", NOW, applies))[1] is not None
    assert (await journal.accept(b"{}", "d", NOW, fails))[1] is None
    assert (await journal.accept(b"{}", "e", NOW, applies))[1] is None
    await apply_waiting(journal)
    assert (await journal.accept(b"{}", "f", NOW, applies))[1] is not None


async def _status(journal: Journal) -> dict[tuple[str, str], str]:
    found = await journal.transact(lambda tx: tx.instances([KEY]))
    return {key: instance.status for key, instance in found.items()}


@pytest.mark.parametrize("path", ["accept", "transact"])
async def test_a_rolled_back_change_to_an_instance_is_not_remembered(journal: Journal, path: str) -> None:
    """A backend may cache instances for repeats; a change that was rolled back must not be served."""
    await plan(journal)

    def resolve_then_fail(tx: Transaction, *_: object) -> None:
        tx.set_status(tx.instances([KEY])[KEY], "resolved", NOW)
        raise ValueError("a bug after the change")

    if path == "accept":
        await journal.accept(b"{}", "c1", NOW, resolve_then_fail)
    else:
        with pytest.raises(ValueError):
            await journal.transact(resolve_then_fail)
    assert await _status(journal) == {KEY: "firing"}


async def test_a_pruned_instance_is_forgotten(journal: Journal) -> None:
    await plan(journal)
    await journal.transact(lambda tx: tx.set_status(tx.instances([KEY])[KEY], "resolved", NOW))
    assert await journal.prune(NOW + 10**6) == 1
    assert await _status(journal) == {}


async def _plan_leasing(journal: Journal, room: dict[str, int], *steps: PlannedStep) -> dict[str, list[Step]]:
    def add(tx: Transaction) -> dict[str, list[Step]]:
        tx.lease_new(room, NOW, 60)
        instance = tx.instances([KEY]).get(KEY) or tx.insert_instance(ALERT, NOW)
        tx.add_steps(instance, steps, NOW, "c1")
        return {kind: tx.leased(kind) for kind in ("remediation", "escalation")}

    return await journal.transact(add)


async def test_steps_due_now_are_leased_as_they_are_added_up_to_the_room_offered(journal: Journal) -> None:
    leased = await _plan_leasing(
        journal, {"remediation": 2, "escalation": 0}, *due(StepKind.REMEDIATION, 3), *due(StepKind.ESCALATION, 1)
    )
    assert [(s.name, s.params, s.attempts, s.correlation_id) for s in leased["remediation"]] == [
        ("EMERGENCY_STOP", {"n": 0}, 1, "c1"),
        ("EMERGENCY_STOP", {"n": 1}, 1, "c1"),
    ]
    assert leased["escalation"] == []
    assert leased["remediation"][0].instance.fingerprint == ALERT.fingerprint
    # Leased as a claim would have: not claimable again before the lease runs out, then once.
    [third] = await claim(journal, StepKind.REMEDIATION, 10, NOW, 60)
    assert third.params == {"n": 2}
    assert await claim(journal, StepKind.REMEDIATION, 10, NOW + 59, 60) == []
    assert len(await claim(journal, StepKind.ESCALATION, 10, NOW, 60)) == 1
    again = await claim(journal, StepKind.REMEDIATION, 10, NOW + 61, 60)
    assert sorted(s.id for s in again) == sorted(s.id for s in [*leased["remediation"], third])
    assert {s.attempts for s in again} == {2}


async def test_no_step_is_leased_ahead_of_an_older_one_that_is_due(journal: Journal) -> None:
    """A claim serves the oldest due first; a new step leased on insert must not jump that queue."""
    await plan(journal, *due(StepKind.REMEDIATION, 1))
    leased = await _plan_leasing(journal, {"remediation": 5, "escalation": 5}, *due(StepKind.REMEDIATION, 1, start=1))
    assert leased["remediation"] == []
    assert [s.params for s in await claim(journal, StepKind.REMEDIATION, 1, NOW, 60)] == [{"n": 0}]


async def test_no_step_is_leased_while_an_expired_lease_waits_to_be_claimed_again(journal: Journal) -> None:
    await plan(journal, *due(StepKind.REMEDIATION, 1))
    assert len(await claim(journal, StepKind.REMEDIATION, 1, NOW, -1)) == 1  # a lease that ran out at once
    leased = await _plan_leasing(journal, {"remediation": 5, "escalation": 5}, *due(StepKind.REMEDIATION, 1, start=1))
    assert leased["remediation"] == []


async def test_steps_not_yet_due_and_steps_planned_before_are_not_leased(journal: Journal) -> None:
    first = await _plan_leasing(journal, {"remediation": 5, "escalation": 5}, *due(StepKind.ESCALATION, 1, delay=300))
    assert first["escalation"] == []
    leased = await _plan_leasing(journal, {"remediation": 5, "escalation": 5}, *due(StepKind.REMEDIATION, 1))
    assert len(leased["remediation"]) == 1
    again = await _plan_leasing(journal, {"remediation": 5, "escalation": 5}, *due(StepKind.REMEDIATION, 1))
    assert again["remediation"] == []  # the same key: already planned, so nothing is added


async def test_a_listing_is_most_severe_then_latest_first_with_each_instances_state(journal: Journal) -> None:
    def alert(fingerprint: str, starts_at: str, severity: str, **labels: str) -> Alert:
        return replace(
            ALERT, fingerprint=fingerprint, starts_at=starts_at, labels={**ALERT.labels, **labels, "severity": severity}
        )

    def add(tx: Transaction) -> None:
        tx.insert_instance(alert("w-old", "2026-11-23T10:00:00Z", "warning", team="shop"), NOW)
        tx.insert_instance(alert("c-old", "2026-11-23T09:00:00Z", "critical", team="shop", alertname="Cost_100%"), NOW)
        tx.insert_instance(alert("i-new", "2026-11-23T12:00:00Z", "info", team="db"), NOW)
        new = tx.insert_instance(alert("c-new", "2026-11-23T11:00:00Z", "critical", team="db"), NOW)
        tx.add_steps(new, [STOP], NOW, "c1")
        tx.add_event(new, None, "firing", {"refusals": [{"guard": "cooldown"}]}, NOW)
        tx.add_event(new, None, "firing", {"refusals": []}, NOW + 1)

    await journal.transact(add)
    [step] = await claim(journal, StepKind.REMEDIATION, 1, NOW, 60)
    await journal.finish_step(step, StepResult("retry", {"error": "503"}), NOW, NOW + 1, NOW + 30)
    await journal.escalation.acknowledge("c-new", "alice", "console", NOW + 2, lambda *_: [])

    page = await journal.listing(Listing())
    assert [p["fingerprint"] for p in page] == ["c-new", "c-old", "w-old", "i-new"]
    first = page[0]
    assert first["labels"]["team"] == "db" and first["annotations"] == {"action": "EMERGENCY_STOP"}
    assert first["acknowledged"] == {"actor": "alice", "via": "console", "at": NOW + 2}
    [planned] = first["steps"]
    assert (planned["name"], planned["status"], planned["last"]) == (
        "EMERGENCY_STOP",
        "pending",
        {"status": "retry", "detail": {"error": "503"}},
    )
    assert first["decision"] == {"refusals": [{"guard": "cooldown"}]}
    assert page[1]["acknowledged"] is None and page[1]["steps"] == [] and page[1]["decision"] is None

    async def fingerprints(**query: Any) -> list[str]:
        return [p["fingerprint"] for p in await journal.listing(Listing(**query))]

    assert await fingerprints(severity="critical", labels={"team": "shop"}) == ["c-old"]
    assert await fingerprints(search="100%") == ["c-old"]  # % is a character, not a wildcard
    assert await fingerprints(search="0%") == ["c-old"]
    assert await fingerprints(search="t_1") == ["c-old"]  # and _ too
    assert await fingerprints(search="t!1") == []  # ! is the escape character, escaped itself
    assert await fingerprints(search="Cost_") == ["c-old"]
    assert await fingerprints(search="DB") == ["c-new", "i-new"]  # label values, without case
    assert await fingerprints(limit=2, offset=1) == ["c-old", "w-old"]
    assert await fingerprints(status="resolved") == []
    assert await fingerprints(fingerprint="w-old") == ["w-old"]


async def test_acknowledgements_are_listed_newest_first_with_their_alert(journal: Journal) -> None:
    for fingerprint in ("fp-a", "fp-b", "fp-c"):
        await plan(journal, fingerprint=fingerprint)
    for offset, fingerprint in enumerate(("fp-b", "fp-a", "fp-c")):
        await journal.escalation.acknowledge(fingerprint, f"actor-{fingerprint}", "api", NOW + offset, lambda *_: [])
    latest = await journal.acknowledgements(2)
    assert [(a["fingerprint"], a["actor"], a["at"]) for a in latest] == [
        ("fp-c", "actor-fp-c", NOW + 2),
        ("fp-a", "actor-fp-a", NOW + 1),
    ]
    assert (latest[0]["via"], latest[0]["starts_at"], latest[0]["alertname"]) == ("api", ALERT.starts_at, "X")
