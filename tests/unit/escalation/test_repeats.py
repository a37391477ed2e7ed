"""A message whose first attempt may have gone out is not sent again, or says that it repeats:
Slack finds its earlier post by the step named in the message's metadata, the console marks an
interrupted step's line."""

import json
import logging
from collections.abc import Awaitable, Callable

import pytest

from responder.vocabulary import StepKind
from tests.conftest import alert_payload, cost_alert
from tests.unit.escalation.conftest import Fakes, Harness

Start = Callable[..., Awaitable[Harness]]
STEP_TIMEOUT = {"workers.step_timeout": "1s"}


async def test_a_slack_post_whose_answer_never_came_is_not_posted_again(fakes: Fakes, start: Start) -> None:
    fakes.slack.stall_posts = 1
    harness = await start(fakes.policy(**STEP_TIMEOUT))
    await harness.deliver(cost_alert(action="INVESTIGATE"))
    await harness.later(600)
    assert len(fakes.slack.parents()) == 1
    firing = [s for s in await harness.steps() if s["name"] == "slack" and s["params"]["event"] == "firing"]
    assert [a["status"] for a in firing[0]["attempts"]] == ["retry", "succeeded"]
    assert firing[0]["attempts"][1]["detail"]["summary"] == "posted by an earlier attempt"


async def test_a_thread_reply_whose_answer_never_came_is_not_posted_again(fakes: Fakes, start: Start) -> None:
    harness = await start(fakes.policy(**STEP_TIMEOUT))
    await harness.deliver(cost_alert(action="INVESTIGATE"))
    await harness.later(10)  # every reply the firing makes is out
    [parent] = fakes.slack.parents()
    fakes.slack.stall_posts = 1
    await harness.deliver(cost_alert("resolved", action="INVESTIGATE"), status="resolved")
    await harness.later(600)
    resolved = [m for m in fakes.slack.thread(parent.ts) if "Resolved." in m.text]
    assert len(resolved) == 1, [m.text for m in fakes.slack.thread(parent.ts)]
    [step] = [s for s in await harness.steps() if s["name"] == "slack" and s["params"]["event"] == "resolved"]
    assert [a["detail"].get("summary") for a in step["attempts"]] == [None, "replied in thread by an earlier attempt"]
    assert fakes.slack.updates, "the alert's message was still edited to say resolved"


async def test_a_look_up_slack_refuses_is_a_warning_and_the_message_still_goes_out(
    fakes: Fakes, start: Start, caplog: pytest.LogCaptureFixture
) -> None:
    harness = await start(fakes.policy(**STEP_TIMEOUT))
    await harness.deliver(cost_alert(action="INVESTIGATE"))
    await harness.later(10)
    [parent] = fakes.slack.parents()
    fakes.slack.stall_posts = 1
    fakes.slack.refuse["conversations.replies"] = "missing_scope"
    await harness.deliver(cost_alert("resolved", action="INVESTIGATE"), status="resolved")
    with caplog.at_level(logging.WARNING):
        await harness.later(600)
    resolved = [m for m in fakes.slack.thread(parent.ts) if "Resolved." in m.text]
    assert len(resolved) == 2, "without the thread's history the repeat cannot be seen: it is posted"
    [warning] = [r for r in caplog.records if "earlier attempt may have posted" in r.getMessage()]
    assert "channels:history" in str(warning.__dict__["hint"])


async def test_a_console_line_printed_again_after_an_interruption_says_so(start: Start) -> None:
    harness = await start({})
    await harness.deliver(cost_alert(action="INVESTIGATE"))
    printed = harness.console.getvalue().splitlines()
    assert printed and not any("REPEATED" in line for line in printed)
    harness.console.truncate(0)
    harness.console.seek(0)
    resolved = json.dumps(alert_payload(cost_alert("resolved", action="INVESTIGATE"), status="resolved"))
    await harness.responder.journal.append_notification(resolved.encode(), "test", harness.clock())
    await harness.responder.engine.ingest_once()
    assert await harness.responder.engine.claim(StepKind.ESCALATION), "no resolve message to cut short"
    await harness.later(harness.responder.policy.lease_seconds + 1)  # as if the process that claimed it had died
    repeated = harness.console.getvalue().splitlines()
    assert repeated and all("REPEATED" in line for line in repeated), repeated


async def test_a_message_of_another_app_naming_the_same_step_is_not_taken_for_ours(fakes: Fakes, start: Start) -> None:
    """Another responder (staging beside production) may post in the same channel."""
    harness = await start(fakes.policy(**STEP_TIMEOUT))
    await harness.deliver(cost_alert(action="INVESTIGATE"))
    await harness.later(10)
    [parent] = fakes.slack.parents()
    fakes.slack.stall_posts = 1
    await harness.deliver(cost_alert("resolved", action="INVESTIGATE"), status="resolved")
    [stalled] = [m for m in fakes.slack.thread(parent.ts) if "Resolved." in m.text]
    stalled.bot_id = "BSTAGING"
    await harness.later(600)
    resolved = [m for m in fakes.slack.thread(parent.ts) if "Resolved." in m.text]
    assert len(resolved) == 2, "ours was posted: the other app's message was not adopted"
