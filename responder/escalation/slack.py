"""Slack through slack-sdk's AsyncWebClient: one message per alert instance, updates in its
thread, the message edited on acknowledge and on resolve.

Each message names the steps it is for in its metadata, and an attempt after the first looks for
the message an earlier one may have posted before posting again (see `slack_recall`).

The first message for each channel goes out at once; messages that pile up behind Slack's
rate limit (about one per second per channel) are coalesced into one storm digest, most severe
first. Where the message is (channel id and ts) is kept in the journal, so a restart or another
step finds the thread.
"""

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from responder.channel_policy import SlackPolicy
from responder.escalation.content import one_line, priority
from responder.escalation.pacing import Coalescer, Pacer
from responder.escalation.slack_blocks import DIGEST_MAX, digest_blocks, escape, headline, parent_blocks, reply_text
from responder.escalation.slack_recall import Recall, metadata
from responder.journal import Step, StepResult
from responder.journal.escalation import EscalationStore

# What a call to Slack's API raises when it fails: an error answer (SlackApiError), or no answer at
# all: connection refused or reset, a name that does not resolve, a timeout (aiohttp's errors and
# OSError, TimeoutError included).
SLACK_FAILURES = (SlackClientError, aiohttp.ClientError, OSError)

log = logging.getLogger("responder.escalation.slack")
T = TypeVar("T")
RECALL_SCOPES = "grant the Slack app channels:history, groups:history and channels:read, then reinstall it"

CHANNEL = "slack"
# Errors worth another try; every other `ok: false` is a configuration problem a retry cannot fix.
TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
PARENT_EVENTS = ("firing", "remediation_failed")
WAIT_FOR_PARENT_SECONDS = 5.0


@dataclass(frozen=True)
class _Parent:
    step: Step
    channel: str


def client_for(policy: SlackPolicy) -> AsyncWebClient:
    """Retries are the journal's (with backoff and Retry-After), so the client makes none itself."""
    token = policy.bot_token.value if policy.bot_token else None
    return AsyncWebClient(token=token, base_url=policy.base_url, timeout=15, retry_handlers=[])


def slack_error(exc: SlackApiError) -> StepResult:
    status = exc.response.status_code
    error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
    detail = {"channel": CHANNEL, "status": status, "error": error or f"HTTP {status}"}
    if status == 429 or error == "ratelimited":
        return StepResult("retry", detail, float(exc.response.headers.get("Retry-After", "1")))
    if status >= 500 or error in TRANSIENT_ERRORS:
        return StepResult("retry", detail)
    return StepResult("failed", {**detail, "hint": "check escalation.slack (token scopes, channel, bot invited)"})


class SlackNotifier:
    def __init__(self, policy: SlackPolicy, store: EscalationStore, client: AsyncWebClient) -> None:
        self.policy = policy
        self.client = client
        self._store = store
        self._recall = Recall(client)
        self._pacers: dict[str, Pacer] = {}
        self._parents: dict[str, Coalescer[_Parent, dict[str, Any]]] = {}

    @property
    def interactive(self) -> bool:
        return self.policy.signing_secret is not None

    def pacer(self, channel: str) -> Pacer:
        if channel not in self._pacers:
            self._pacers[channel] = Pacer(self.policy.messages_per_second)
        return self._pacers[channel]

    async def notify(self, step: Step) -> StepResult:
        try:
            return await self._notify(step)
        except SlackApiError as exc:
            result = slack_error(exc)
            if result.retry_after is not None:
                self.pacer(self._channel(step)).hold(result.retry_after)
            return result
        except (aiohttp.ClientError, TimeoutError) as exc:
            return StepResult("retry", {"channel": CHANNEL, "error": f"{type(exc).__name__}: {exc}"})

    def _channel(self, step: Step) -> str:
        inst = step.instance
        return self.policy.channel.pick(inst.labels.get("team", ""), inst.severity)

    async def _notify(self, step: Step) -> StepResult:
        inst, event = step.instance, step.params.get("event", "")
        state = await self._store.channel_state(inst.id, CHANNEL)
        if state is None:
            if event not in PARENT_EVENTS:
                # The alert's own message has not gone out yet (it is queued or retrying): wait for it.
                return StepResult(
                    "retry", {"channel": CHANNEL, "waiting": "the alert's message"}, WAIT_FOR_PARENT_SECONDS
                )
            channel = self._channel(step)
            earlier = await self._looked_up(self._recall.parent(step, channel)) if step.attempts > 1 else None
            state = earlier or await self._coalescer(channel).submit(_Parent(step, channel))
            await self._store.save_channel_state(inst.id, CHANNEL, state["ts"], state)
            if earlier is not None and event == "firing" and "fallback_from" not in step.params:
                return StepResult("succeeded", {"channel": CHANNEL, "summary": "posted by an earlier attempt", **state})
            if event == "firing" and "fallback_from" not in step.params:
                return StepResult("succeeded", {"channel": CHANNEL, "summary": "posted", **state})
        elif event == "firing" and "fallback_from" not in step.params:
            return StepResult("succeeded", {"channel": CHANNEL, "summary": "already posted", **state})
        if event == "update" and state.get("digest"):
            # A storm's digest thread gets acknowledgements, resolves and failures, not every
            # remediation result: those would outrun the rate limit the digest exists for.
            return StepResult("succeeded", {"channel": CHANNEL, "summary": "in a storm digest; see the audit API"})
        stopped = await self._store.stopped_rungs(inst.id) if event == "resolved" else step.params.get("stopped", [])
        summary = "replied in thread"
        if step.attempts > 1 and await self._looked_up(self._recall.reply(step, state)) is not None:
            summary = "replied in thread by an earlier attempt"
        else:
            text = reply_text(inst, step.params, stopped, state.get("digest", False))
            await self.pacer(state["channel"]).turn(priority(step))
            await self.client.chat_postMessage(
                channel=state["channel"], thread_ts=state["ts"], text=text, metadata=metadata([step])
            )
        if event in ("acknowledged", "resolved") and not state.get("digest"):
            await self._edit_parent(step, state)  # an edit repeated is the same edit
        return StepResult("succeeded", {"channel": CHANNEL, "summary": summary, "ts": state["ts"]})

    async def _looked_up(self, lookup: Awaitable[T]) -> T | None:
        """An earlier attempt's post, or None; also None when Slack refuses the look-up for good
        (a missing scope): the message is then posted, though it may repeat. A transient
        failure is raised: the step is retried, look-up first."""
        try:
            return await lookup
        except SlackApiError as exc:
            if slack_error(exc).status == "retry":
                raise
            log.warning(
                "could not look for the message an earlier attempt may have posted; posting it, which may repeat it",
                extra={"error": slack_error(exc).detail["error"], "hint": RECALL_SCOPES},
            )
            return None

    async def _edit_parent(self, step: Step, state: dict[str, Any]) -> None:
        inst, params = step.instance, step.params
        ack = await self._store.acknowledgement(inst.id)
        if params["event"] == "resolved":
            status = "Resolved" + (f" (acknowledged by {escape(one_line(ack.actor))})" if ack else "")
        else:
            actor, via = (escape(one_line(str(params.get(k, "?")))) for k in ("actor", "via"))
            status = f"Acknowledged by {actor} via {via}"  # mrkdwn: a name cannot ping or link
        blocks = parent_blocks(inst, None, status, self.interactive, acknowledged=True)
        await self.pacer(state["channel"]).turn(priority(step))
        await self.client.chat_update(
            channel=state["channel"], ts=state["ts"], text=f"[{status}] {headline(inst)}", blocks=blocks
        )

    def _coalescer(self, channel: str) -> Coalescer[_Parent, dict[str, Any]]:
        if channel not in self._parents:
            self._parents[channel] = Coalescer(
                self.pacer(channel), self._post_parents, lambda p: priority(p.step), DIGEST_MAX
            )
        return self._parents[channel]

    async def _post_parents(self, parents: list[_Parent]) -> list[dict[str, Any]]:
        channel = parents[0].channel
        if len(parents) == 1:
            step = parents[0].step
            blocks = parent_blocks(step.instance, step.params.get("reason"), None, self.interactive)
            response = await self.client.chat_postMessage(
                channel=channel, text=headline(step.instance), blocks=blocks, metadata=metadata([step])
            )
            self._recall.learn(channel, response["channel"])
            return [{"channel": response["channel"], "ts": response["ts"]}]
        items = [(p.step.instance, p.step.params.get("reason")) for p in parents]
        response = await self.client.chat_postMessage(
            channel=channel,
            text=f"Alert storm: {len(parents)} alerts",
            blocks=digest_blocks(channel, items, self.interactive),
            metadata=metadata([p.step for p in parents]),
        )
        self._recall.learn(channel, response["channel"])
        log.warning("slack storm digest", extra={"channel": channel, "alerts": len(parents)})
        return [{"channel": response["channel"], "ts": response["ts"], "digest": True} for _ in parents]
