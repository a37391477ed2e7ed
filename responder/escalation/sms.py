"""SMS through twilio's async client: a text a person can act on from a lock screen.

Never twice for the same step. Before each message goes to Twilio a mark (step, recipient) is
committed to the journal with a full fsync. A retry that finds a mark with Twilio's message
sid skips that recipient; one that finds a mark without a sid (the call timed out, or the
process died in it) asks Twilio for the messages to that number sent since the mark and looks
for the step's reference before sending anything. Since the mark, not the last few: in a storm
the on-call number receives many texts between a send whose answer was lost and its retry
(other steps', other replicas'), and the one looked for must not have scrolled out of sight.
Newest first, page by page, until a message older than the mark by more than the two clocks
may disagree (and at least the newest LOOKBACK_MESSAGES whatever the clocks say). A definite
refusal from Twilio means nothing was created, so the mark is harmless: the lookup finds
nothing and the retry sends.
"""

import asyncio
import time
from collections.abc import Callable

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.base.page import Page
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from responder.channel_policy import SmsPolicy
from responder.escalation.content import links, one_line, priority, summary
from responder.escalation.pacing import Pacer
from responder.journal import Step, StepResult
from responder.journal.escalation import EscalationStore

CHANNEL = "sms"
LOOKBACK_MESSAGES = 20
LOOKBACK_PAGE = 1000  # Twilio's largest page
CLOCK_SKEW_SECONDS = 300.0  # how far Twilio's clock and this host's may disagree
_WORDS = {"firing": "", "remediation_failed": "REMEDIATION FAILED ", "resolved": "RESOLVED "}


def sms_text(step: Step) -> str:
    """Alert, severity, action, one link and the step reference, in about one SMS."""
    inst = step.instance
    link = next((url for _, url in links(inst)), "")
    event = _WORDS.get(step.params.get("event", ""), "")
    head = f"{event}[{(inst.severity or 'none').upper()}] {one_line(inst.alertname)}"
    body = f"{head}: {summary(inst)}. Action: {inst.action or 'notify only'}."
    if step.params.get("reason"):
        body += " NOT remediated."
    return f"{body} {link} ref {reference(step)}".replace("  ", " ")


def reference(step: Step) -> str:
    return f"s{step.id}"


class SmsNotifier:
    def __init__(self, policy: SmsPolicy, store: EscalationStore, clock: Callable[[], float] = time.time) -> None:
        self._policy = policy
        self._store = store
        self._clock = clock
        self._client: Client | None = None
        self._pacer = Pacer(policy.messages_per_second)

    def _twilio(self) -> Client:
        """Made on first use: the async HTTP client opens its session on the running loop."""
        if self._client is None:
            token = self._policy.auth_token.value if self._policy.auth_token else None
            client = Client(self._policy.account_sid, token, http_client=AsyncTwilioHttpClient())
            client.api.base_url = self._policy.base_url
            self._client = client
        return self._client

    async def notify(self, step: Step) -> StepResult:
        inst, event = step.instance, step.params.get("event", "")
        if event not in _WORDS:
            return StepResult("succeeded", {"channel": CHANNEL, "summary": f"no SMS for {event}"})
        numbers = self._policy.to.pick(inst.labels.get("team", ""), inst.severity)
        if not numbers:
            return StepResult("succeeded", {"channel": CHANNEL, "summary": "no numbers for this team or severity"})
        sids: dict[str, str] = {}
        for number in numbers:
            try:
                sids[number] = await self._send_once(step, number)
            except TwilioRestException as exc:
                return _rest_error(exc, sids)
            except (aiohttp.ClientError, TimeoutError) as exc:
                return StepResult(
                    "retry", {"channel": CHANNEL, "error": f"no answer: {type(exc).__name__}", "sent": sids}
                )
        return StepResult(
            "succeeded", {"channel": CHANNEL, "summary": f"texted {len(sids)} number(s)", "sids": sorted(sids.values())}
        )

    async def _send_once(self, step: Step, number: str) -> str:
        mark = await self._store.begin_delivery(step.id, number, self._clock())
        if mark is not None and mark.provider_id:
            return mark.provider_id
        client, ref = self._twilio(), reference(step)
        if mark is not None:
            earlier = await self._sent_since(client, number, ref, mark.marked_at)
            if earlier is not None:
                await self._store.confirm_delivery(step.id, number, earlier)
                return earlier
        await self._pacer.turn(priority(step))
        async with asyncio.timeout(self._policy.timeout_seconds):
            message = await client.messages.create_async(to=number, from_=self._policy.sender, body=sms_text(step))
        sid = str(message.sid)
        await self._store.confirm_delivery(step.id, number, sid)
        return sid

    async def _sent_since(self, client: Client, number: str, ref: str, marked_at: float) -> str | None:
        """The sid of the message to `number` that ends with `ref`, among those created since
        `marked_at` (see the module's docstring); None when there is none."""
        oldest, seen = marked_at - CLOCK_SKEW_SECONDS, 0
        async with asyncio.timeout(self._policy.timeout_seconds):
            page: Page | None = await client.messages.page_async(
                to=number, from_=self._policy.sender, page_size=LOOKBACK_PAGE
            )
        while page is not None:
            for message in page:
                if message.sid and message.body and message.body.endswith(f"ref {ref}"):
                    return str(message.sid)
                seen += 1
                created = message.date_created
                if seen >= LOOKBACK_MESSAGES and created is not None and created.timestamp() < oldest:
                    return None
            async with asyncio.timeout(self._policy.timeout_seconds):
                page = await page.next_page_async()
        return None

    async def close(self) -> None:
        if self._client is not None and isinstance(self._client.http_client, AsyncTwilioHttpClient):
            await self._client.http_client.close()


def _rest_error(exc: TwilioRestException, sent: dict[str, str]) -> StepResult:
    detail = {"channel": CHANNEL, "status": exc.status, "code": exc.code, "error": exc.msg, "sent": sent}
    if exc.status == 429:
        return StepResult("retry", detail, 1.0)
    if exc.status >= 500:
        return StepResult("retry", detail)
    return StepResult("failed", {**detail, "hint": "check escalation.sms (account, token, from, numbers)"})
