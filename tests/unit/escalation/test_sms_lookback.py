"""An SMS whose answer was lost is looked for among every text the number received since its
mark, not only the newest few: in a storm, other steps' texts to the same on-call number pile
up between the lost answer and the retry."""

import time
from collections.abc import Awaitable, Callable

from tests.conftest import cost_alert
from tests.fakes.server import Reply
from tests.unit.escalation.conftest import Clock, Fakes, Harness

Start = Callable[..., Awaitable[Harness]]
OTHERS = 60  # texts to the same number after the lost answer, from other steps


async def test_an_sms_is_not_sent_twice_when_many_texts_followed_its_lost_answer(fakes: Fakes, start: Start) -> None:
    fakes.twilio.script.append(Reply(201, {}, hang=True))  # Twilio keeps the message; the answer never comes
    clock = Clock()
    clock.now = time.time()  # the mark's time and Twilio's clock agree, as on a real host
    harness = await start(fakes.policy(), clock)
    await harness.deliver(cost_alert())
    [ours] = fakes.twilio.messages
    fakes.twilio.messages += [
        {**ours, "sid": f"SM{n:032x}", "body": f"another alert ref s{1000 + n}"} for n in range(OTHERS)
    ]
    await harness.later(600)
    [sms] = [s for s in await harness.steps() if s["kind"] == "escalation" and s["name"] == "sms"]
    assert sms["status"] == "succeeded"
    assert len(fakes.twilio.messages) == OTHERS + 1, "the retry found the text it had sent, and sent none"
    assert sms["attempts"][1]["detail"]["sids"] == [ours["sid"]]
