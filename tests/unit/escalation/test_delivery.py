"""Delivery under failure and load: provider errors, Retry-After, fallback to the next channel,
no SMS twice across a timeout, coalescing in a storm, and channels without credentials."""

import asyncio
import json
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from responder.escalation.pacing import Pacer
from responder.policy import describe
from tests.conftest import cost_alert, default_threads_held
from tests.fakes.server import Reply
from tests.unit.escalation.conftest import Fakes, Harness, critical

Start = Callable[..., Awaitable[Harness]]


def _escalations(steps: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [s for s in steps if s["kind"] == "escalation" and s["name"] == name]


async def test_slack_rate_limited_is_retried_after_the_time_slack_asked_for(fakes: Fakes, start: Start) -> None:
    harness = await start(fakes.policy())
    fakes.slack.script.append(Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "2"}))
    await harness.deliver(critical())
    [firing] = [s for s in _escalations(await harness.steps(), "slack") if s["params"]["event"] == "firing"]
    assert firing["status"] == "pending" and firing["due_at"] == harness.clock() + 2
    await asyncio.sleep(2)  # the channel's pacer holds its turns for as long, in real time
    await harness.later(2)
    assert len(fakes.slack.parents()) == 1


async def test_a_page_does_not_wait_for_the_loops_shared_threads(fakes: Fakes, start: Start) -> None:
    harness = await start(fakes.policy())
    async with default_threads_held():
        await asyncio.wait_for(harness.deliver(critical()), timeout=10)
    assert [e["event_action"] for e in fakes.pagerduty.events] == ["trigger"]


async def test_a_channel_that_fails_for_good_falls_back_to_the_next_one_at_once(fakes: Fakes, start: Start) -> None:
    fakes.slack.missing_channels.add("#incidents")
    harness = await start(fakes.policy())
    await harness.deliver(critical())
    steps = await harness.steps()
    [failed] = [s for s in _escalations(steps, "slack") if s["params"]["event"] == "firing"]
    assert failed["status"] == "failed"
    assert failed["attempts"][0]["detail"]["error"] == "channel_not_found"
    [fallback] = [s for s in _escalations(steps, "pagerduty") if "fallback_from" in s["params"]]
    assert fallback["status"] == "succeeded" and fallback["params"]["fallback_from"] == "slack"
    assert (
        harness.responder.metrics.registry.get_sample_value(
            "responder_escalation_deliveries_total", {"channel": "slack", "outcome": "failed"}
        )
        == 1
    )


async def test_the_last_channel_failing_falls_back_to_the_console(fakes: Fakes, start: Start) -> None:
    fakes.twilio.script.append(Reply(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"}))
    harness = await start(fakes.policy())
    await harness.deliver(cost_alert())
    [fallback] = _escalations(await harness.steps(), "console")
    assert fallback["params"]["fallback_from"] == "sms"
    assert "[console] FIRING critical CostBudgetExceeded" in harness.console.getvalue()


async def test_a_pagerduty_event_twilio_and_slack_reject_are_failed_with_their_reasons(
    fakes: Fakes, start: Start
) -> None:
    fakes.pagerduty.routing_keys.clear()
    harness = await start(fakes.policy())
    await harness.deliver(critical())
    [paged] = [s for s in _escalations(await harness.steps(), "pagerduty") if "fallback_from" not in s["params"]]
    assert paged["status"] == "failed"
    assert "'routing_key' is invalid" in paged["attempts"][0]["detail"]["error"]
    assert "R0123456789" not in json.dumps(await harness.steps()), "a routing key never reaches the audit API"


async def test_an_sms_is_not_sent_twice_when_a_retry_follows_a_timeout(fakes: Fakes, start: Start) -> None:
    fakes.twilio.script.append(Reply(201, {}, hang=True))  # Twilio keeps the message; the answer never comes
    harness = await start(fakes.policy())
    await harness.deliver(cost_alert())
    [sms] = _escalations(await harness.steps(), "sms")
    assert sms["status"] == "pending" and "no answer" in sms["attempts"][0]["detail"]["error"]
    await harness.later(600)
    [sms] = _escalations(await harness.steps(), "sms")
    assert sms["status"] == "succeeded"
    assert len(fakes.twilio.messages) == 1
    assert sms["attempts"][1]["detail"]["sids"] == [fakes.twilio.messages[0]["sid"]]


async def test_an_sms_refused_before_it_was_created_is_sent_on_retry(fakes: Fakes, start: Start) -> None:
    fakes.twilio.script.append(Reply(503, {"code": 20500, "message": "Internal Server Error", "status": 503}))
    harness = await start(fakes.policy())
    await harness.deliver(cost_alert())
    await harness.later(600)
    assert len(fakes.twilio.messages) == 1


async def test_an_alert_storm_is_coalesced_critical_first_within_the_slack_rate(fakes: Fakes, start: Start) -> None:
    rate = 20.0
    changes = fakes.policy()
    changes["escalation.slack"] = {
        **changes["escalation.slack"],
        "messages_per_second": rate,
        "channel": {"default": "#storm"},
    }
    changes["escalation.ladders.warning"] = [{"after": "0m", "channels": ["slack"]}]
    changes["escalation.ladders.critical"] = [{"after": "0m", "channels": ["slack"]}]
    changes["workers.escalation"] = 64
    harness = await start(changes)
    alerts = [
        critical(fingerprint=f"{i:016x}")
        | {"labels": {**critical()["labels"], "severity": "warning" if i % 2 else "critical"}}
        for i in range(500)
    ]
    started = time.monotonic()
    await harness.deliver(*alerts)
    parents = fakes.slack.parents()
    covered = sum(1 if "Alert storm" not in m.text else int(m.text.split()[2]) for m in parents)
    assert covered == 500
    assert len(parents) <= 500 / 10, f"{len(parents)} messages for 500 alerts"
    # Arrival times jitter pairwise on a loaded machine; the span of the whole burst does not.
    assert parents[-1].at - parents[0].at >= (len(parents) - 1) / rate * 0.9, "faster than the channel's rate"
    order = [s for m in parents for s in re.findall(r"(CRITICAL|WARNING) CostBudgetExceeded", json.dumps(m.blocks))]
    mean = {sev: statistics.mean(i for i, s in enumerate(order) if s == sev) for sev in ("CRITICAL", "WARNING")}
    print(
        f"storm: {len(parents)} messages; mean position critical {mean['CRITICAL']:.0f}, warning {mean['WARNING']:.0f}"
    )
    assert mean["CRITICAL"] < mean["WARNING"], "among the messages waiting for a turn, critical ones go first"
    assert time.monotonic() - started < 20


async def test_a_pacer_serves_waiting_callers_most_urgent_first() -> None:
    pacer = Pacer(per_second=50)
    served: list[int] = []

    async def wait(priority: int) -> None:
        await pacer.turn(priority)
        served.append(priority)

    await pacer.turn(0)  # the burst is spent: the rest wait
    await asyncio.gather(*(wait(p) for p in (30, 10, 20, 0)))
    assert served == [0, 10, 20, 30]


async def test_channels_without_credentials_go_to_the_console_with_a_warning(start: Start) -> None:
    harness = await start({"escalation.slack": {"bot_token": "${SLACK_BOT_TOKEN}"}})
    await harness.deliver(cost_alert())
    warnings = "\n".join(harness.responder.policy.channels.warnings)  # what serve logs at start
    assert "escalation.slack.bot_token: environment variable SLACK_BOT_TOKEN is not set" in warnings
    assert "sms: no credentials" in warnings
    out = harness.console.getvalue()
    assert "[slack] FIRING" in out and "[pagerduty] FIRING" in out and "[sms] FIRING" in out
    lines = describe(harness.responder.policy)
    assert (
        "  WARNING slack: no credentials (escalation.slack.bot_token(_file)); slack messages go to the console" in lines
    )


async def test_check_config_names_the_channels_and_never_a_credential(fakes: Fakes, start: Start) -> None:
    harness = await start(fakes.policy())
    text = "\n".join(describe(harness.responder.policy)) + repr(harness.responder.policy)
    assert "slack: " in text and "pagerduty: " in text and "sms: " in text
    for secret in ("xoxb-test-token", "slack-signing-secret", "R0123456789", "twilio-test-auth-token"):
        assert secret not in text
