"""The ladder in time: rungs due by the journal's timers, across a restart, stopped by an
acknowledgement or a resolve, and the stop said in the thread."""

from collections.abc import Callable
from typing import Any

from tests.unit.escalation.conftest import Clock, Fakes, critical

FIFTEEN_MINUTES = 15 * 60


async def test_the_sms_rung_waits_fifteen_minutes_then_goes_out_once(fakes: Fakes, start: Callable[..., Any]) -> None:
    harness = await start(fakes.policy())
    await harness.deliver(critical())
    assert len(fakes.pagerduty.events) == 1 and not fakes.twilio.messages
    await harness.later(FIFTEEN_MINUTES - 60)
    assert not fakes.twilio.messages
    await harness.later(60)
    await harness.later(FIFTEEN_MINUTES)
    assert len(fakes.twilio.messages) == 1


async def test_a_restart_in_the_middle_of_the_ladder_sends_each_step_once(
    fakes: Fakes, start: Callable[..., Any]
) -> None:
    clock = Clock()
    first = await start(fakes.policy(), clock)
    await first.deliver(critical())
    await first.responder.journal.close()
    clock.now += FIFTEEN_MINUTES + 1  # the rung fell due while the responder was down
    second = await start(fakes.policy(), clock)
    await second.drain()
    await second.later(10)
    assert len(fakes.slack.parents()) == 1
    assert len(fakes.pagerduty.events) == 1
    assert len(fakes.twilio.messages) == 1


async def test_an_acknowledgement_stops_the_ladder_and_says_so_in_the_thread(
    fakes: Fakes, start: Callable[..., Any]
) -> None:
    harness = await start(fakes.policy())
    await harness.deliver(critical())
    await harness.later(10)
    outcome = await harness.responder.acknowledge("4f1c2a9e8d7b6c5a", "api:alice", "api")
    assert outcome.cancelled == ["sms (rung 1)"]
    await harness.later(FIFTEEN_MINUTES * 2)
    assert not fakes.twilio.messages
    [parent] = fakes.slack.parents()
    assert any(
        "Acknowledged by api:alice via api" in m.text and "sms (rung 1)" in m.text
        for m in fakes.slack.thread(parent.ts)
    )
    assert [e["event_action"] for e in fakes.pagerduty.events] == ["trigger", "acknowledge"]


async def test_a_resolve_stops_the_ladder_and_names_the_rungs_not_sent(fakes: Fakes, start: Callable[..., Any]) -> None:
    harness = await start(fakes.policy())
    await harness.deliver(critical())
    await harness.later(10)
    await harness.deliver(critical() | {"status": "resolved"}, status="resolved")
    await harness.later(FIFTEEN_MINUTES * 2)
    assert not fakes.twilio.messages
    [parent] = fakes.slack.parents()
    assert any(
        "Resolved." in m.text and "Ladder stopped: sms (rung 1)" in m.text for m in fakes.slack.thread(parent.ts)
    )
