"""Finding a Slack message an earlier attempt of a step may already have posted.

Slack's API has no idempotency key, and a post can succeed without its answer ever arriving (the
process killed mid-call, a timeout). So every message the responder posts carries message
metadata naming the steps it is for, each with its alert instance (a step id alone could be
another journal's, or one reused after pruning), and an attempt after the first looks for it
before posting again, among this bot's own messages only: a thread reply among its thread's
replies, an alert's own message among the channel's latest messages. Looking needs the bot's
`channels:history` (`groups:history` for a private channel) and, for a channel configured by
name, `channels:read` to find its id. When a look-up fails, the message is posted anyway and the
step's outcome says that it may repeat: a second message is better than none.
"""

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from responder.journal import Step

STEP_EVENT = "alert_responder_steps"
HISTORY_LIMIT = 200  # the channel's latest messages searched for an alert's own message
CHANNEL_PAGES = 20  # conversations.list pages read to find a channel's id by its name


def _named(step: Step) -> str:
    return f"{step.id}/{step.instance.holder}"


def metadata(steps: list[Step]) -> dict[str, Any]:
    """The metadata that names the steps a message is for (several for a storm digest)."""
    return {"event_type": STEP_EVENT, "event_payload": {"steps": [_named(s) for s in steps]}}


def _for_step(message: dict[str, Any], step: Step, bot: str) -> bool:
    data = message.get("metadata") or {}
    steps = (data.get("event_payload") or {}).get("steps") or []
    return message.get("bot_id") == bot and data.get("event_type") == STEP_EVENT and _named(step) in steps


class Recall:
    """Looks up earlier posts; remembers channel ids by name for the life of the process."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._ids: dict[str, str] = {}
        self._bot: str | None = None

    async def _bot_id(self) -> str:
        """This app's bot, whose messages alone are looked at (auth.test, asked once)."""
        if self._bot is None:
            self._bot = str((await self._client.auth_test()).get("bot_id") or "")
        return self._bot

    def learn(self, name: str, channel_id: str) -> None:
        """A post to `name` answered with `channel_id`: no look-up needed for it later."""
        self._ids[name] = channel_id

    async def parent(self, step: Step, channel: str) -> dict[str, Any] | None:
        """The alert's own message for `step` in `channel`, as the journal keeps it, if an
        earlier attempt posted it."""
        channel_id = await self._channel_id(channel)
        if channel_id is None:
            return None
        answer = await self._client.conversations_history(
            channel=channel_id, limit=HISTORY_LIMIT, include_all_metadata=True
        )
        bot = await self._bot_id()
        for message in answer.get("messages") or []:
            if _for_step(message, step, bot):
                steps = message["metadata"]["event_payload"]["steps"]
                return {"channel": channel_id, "ts": message["ts"], **({"digest": True} if len(steps) > 1 else {})}
        return None

    async def reply(self, step: Step, state: dict[str, Any]) -> str | None:
        """The ts of `step`'s reply in the alert's thread, if an earlier attempt posted it."""
        answer = await self._client.conversations_replies(
            channel=state["channel"], ts=state["ts"], limit=HISTORY_LIMIT, include_all_metadata=True
        )
        bot = await self._bot_id()
        return next((str(m["ts"]) for m in answer.get("messages") or [] if _for_step(m, step, bot)), None)

    async def _channel_id(self, channel: str) -> str | None:
        """A channel id as given, or found by name among the conversations the bot can see."""
        name = channel.removeprefix("#")
        if name[:1] in ("C", "G") and name.isupper() and name.isalnum():
            return name
        if channel in self._ids:
            return self._ids[channel]
        cursor = ""
        for _ in range(CHANNEL_PAGES):
            answer = await self._client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=cursor or None
            )
            for found in answer.get("channels") or []:
                if found.get("name") == name:
                    self._ids[channel] = str(found["id"])
                    return self._ids[channel]
            cursor = ((answer.get("response_metadata") or {}).get("next_cursor")) or ""
            if not cursor:
                break
        return None
