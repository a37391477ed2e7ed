"""A provider's acknowledgement by channel reference, through the escalation store of every
backend: it acts on the one instance the reference names, once per webhook event id, and the
ids are forgotten with the rest of the history."""

from collections.abc import Sequence

from msgspec.structs import replace

from responder.alerts import Alert
from responder.journal import Instance, Journal, Transaction
from responder.journal.escalation import Callback, CallbackOutcome
from responder.planner import PlannedStep
from tests.unit.journal.plans import ALERT, NOW, RUNG

LATER = replace(ALERT, starts_at="2026-11-23T14:00:00.000000Z")


def _no_announcement(_: Instance, __: frozenset[str], ___: Sequence[str]) -> Sequence[PlannedStep]:
    return []


async def _paged(journal: Journal, alert: Alert, dedup_key: str) -> Instance:
    """An instance of `alert` firing with its SMS rung pending, paged in PagerDuty as `dedup_key`."""

    def add(tx: Transaction) -> Instance:
        instance = tx.insert_instance(alert, NOW)
        tx.add_steps(instance, [RUNG], NOW, "c1")
        return instance

    instance = await journal.transact(add)
    await journal.escalation.save_channel_state(instance.id, "pagerduty", dedup_key, {"dedup_key": dedup_key})
    return instance


async def _ack(journal: Journal, ref: str, event_id: str, now: float = NOW) -> CallbackOutcome:
    return await journal.escalation.acknowledge_reference(
        "pagerduty", ref, event_id, "pagerduty:dana", now, _no_announcement
    )


async def _resolve(journal: Journal, instance: Instance) -> None:
    await journal.transact(lambda tx: tx.set_status(instance, "resolved", NOW))


async def test_a_reference_acknowledges_its_own_instance_and_no_other_of_the_fingerprint(journal: Journal) -> None:
    old = await _paged(journal, ALERT, "ar-old")
    new = await _paged(journal, LATER, "ar-new")
    found = await _ack(journal, "ar-new", "E1")
    assert (found.found, found.instance and found.instance.id) == (Callback.ACTED, new.id)
    assert (found.outcome.acknowledged, found.outcome.cancelled) == ([LATER.starts_at], ["sms (rung 1)"])
    assert await journal.escalation.acknowledgement(old.id) is None
    acknowledged = await journal.escalation.acknowledgement(new.id)
    assert acknowledged is not None and (acknowledged.actor, acknowledged.via) == ("pagerduty:dana", "pagerduty")


async def test_a_resolved_instances_reference_changes_nothing_while_a_new_instance_fires(journal: Journal) -> None:
    old = await _paged(journal, ALERT, "ar-old")
    await _resolve(journal, old)
    new = await _paged(journal, LATER, "ar-new")
    found = await _ack(journal, "ar-old", "E1")
    assert (found.found, found.instance and found.instance.id) == (Callback.RESOLVED, old.id)
    assert await journal.escalation.acknowledgement(old.id) is None
    assert await journal.escalation.acknowledgement(new.id) is None
    [later] = [i for i in await journal.timeline(ALERT.fingerprint) if i["starts_at"] == LATER.starts_at]
    assert [s["status"] for s in later["steps"]] == ["pending"]


async def test_an_event_id_is_acted_on_once_whatever_it_found(journal: Journal) -> None:
    instance = await _paged(journal, ALERT, "ar-one")
    assert (await _ack(journal, "ar-unknown", "E1")).found is Callback.UNKNOWN
    assert (await _ack(journal, "ar-one", "E1")).found is Callback.REPLAY, "the same event, whatever it names"
    assert await journal.escalation.acknowledgement(instance.id) is None
    assert (await _ack(journal, "ar-one", "E2")).found is Callback.ACTED
    replay = await _ack(journal, "ar-one", "E2")
    assert (replay.found, replay.instance, replay.outcome.acknowledged) == (Callback.REPLAY, None, [])
    other = await journal.escalation.acknowledge_reference("slack", "ar-one", "E2", "x", NOW, _no_announcement)
    assert other.found is Callback.UNKNOWN, "event ids are per channel"


async def test_event_ids_are_pruned_with_the_history_older_than_the_retention(journal: Journal) -> None:
    await _ack(journal, "ar-gone", "E-old", NOW)
    await _ack(journal, "ar-gone", "E-new", NOW + 100)
    await journal.prune(NOW + 50)
    assert (await _ack(journal, "ar-gone", "E-old", NOW + 200)).found is Callback.UNKNOWN
    assert (await _ack(journal, "ar-gone", "E-new", NOW + 200)).found is Callback.REPLAY
