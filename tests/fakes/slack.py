"""The Slack Web API methods the responder calls, with Slack's semantics: HTTP 200 with
`ok: false` and an error code for API errors, 429 with Retry-After when rate limited,
`invalid_auth` for a wrong token, channel ids and message timestamps, message metadata returned
by conversations.history and conversations.replies only with `include_all_metadata`, and
`stall_posts`: posts that are made but whose answer never comes, as when the client dies mid-call."""

import asyncio
import hashlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import Reply

TOKEN = "xoxb-test-token"
BOT_ID = "BRESPONDER"  # the bot the token belongs to: what it posts carries this bot_id


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    at: float
    metadata: dict[str, Any] | None = None
    bot_id: str = BOT_ID

    def listed(self, with_metadata: bool) -> dict[str, Any]:
        """The message as conversations.history and conversations.replies list it."""
        listed: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text, "bot_id": self.bot_id}
        if self.thread_ts:
            listed["thread_ts"] = self.thread_ts
        if with_metadata and self.metadata:
            listed["metadata"] = self.metadata
        return listed


@dataclass
class FakeSlack:
    missing_channels: set[str] = field(default_factory=set)
    groups: dict[str, list[str]] = field(default_factory=dict)
    script: list[Reply] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    ephemeral: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # every method called, in order
    names: dict[str, str] = field(default_factory=dict)  # channel id -> the name it was posted to by
    stall_posts: int = 0
    refuse: dict[str, str] = field(default_factory=dict)  # method -> the error it answers, e.g. missing_scope
    _ts: "itertools.count[int]" = field(default_factory=lambda: itertools.count(1))

    @staticmethod
    def channel_id(name: str) -> str:
        return "C" + hashlib.sha256(name.encode()).hexdigest()[:8].upper()

    def parents(self) -> list[Message]:
        return [m for m in self.messages if m.thread_ts is None]

    def thread(self, ts: str) -> list[Message]:
        return [m for m in self.messages if m.thread_ts == ts]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if self.script:
            reply = self.script.pop(0)
            if reply.hang:
                await asyncio.sleep(3600)
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        if request.method == "GET":
            args: dict[str, Any] = dict(request.query)
        elif request.content_type == "application/json":
            args = await request.json()
        else:
            args = dict(await request.post())
        method = request.match_info["method"]
        self.calls.append(method)
        if method in self.refuse:
            return web.json_response({"ok": False, "error": self.refuse[method]})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        answer = handler(args)
        if method == "chat.postMessage" and answer["ok"] and self.stall_posts > 0:
            self.stall_posts -= 1
            await asyncio.sleep(3600)  # the post is made; its answer never comes
        return web.json_response(answer)

    def _resolve(self, channel: str) -> str | None:
        if channel in self.missing_channels:
            return None
        if channel.startswith("C"):
            return channel
        self.names[self.channel_id(channel)] = channel
        return self.channel_id(channel)

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(str(args.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = f"{1_800_000_000 + next(self._ts)}.000100"
        message = Message(
            channel,
            ts,
            args.get("text", ""),
            args.get("blocks", []),
            args.get("thread_ts"),
            time.monotonic(),
            _json_arg(args.get("metadata")),
        )
        self.messages.append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": message.text, "ts": ts}}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        found = next((m for m in self.messages if m.ts == args.get("ts") and m.channel == args.get("channel")), None)
        if found is None:
            return {"ok": False, "error": "message_not_found"}
        found.text, found.blocks = args.get("text", found.text), args.get("blocks", found.blocks)
        self.updates.append(args)
        return {"ok": True, "channel": found.channel, "ts": found.ts, "text": found.text}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self.ephemeral.append(args)
        return {"ok": True, "message_ts": f"{1_800_000_000 + next(self._ts)}.000200"}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "bot_id": BOT_ID, "user_id": "UBOT", "team_id": "T1"}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not channel.startswith("C"):
            return {"ok": False, "error": "channel_not_found"}
        found = [m for m in reversed(self.messages) if m.channel == channel and m.thread_ts is None]
        listed = [m.listed(_flag(args.get("include_all_metadata"))) for m in found[: int(args.get("limit", 100))]]
        return {"ok": True, "messages": listed, "has_more": len(found) > len(listed)}

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        parent = next((m for m in self.messages if m.channel == channel and m.ts == ts), None)
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        thread = [parent, *(m for m in self.messages if m.channel == channel and m.thread_ts == ts)]
        listed = [m.listed(_flag(args.get("include_all_metadata"))) for m in thread[: int(args.get("limit", 100))]]
        return {"ok": True, "messages": listed, "has_more": len(thread) > len(listed)}

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        """Every channel posted to by name so far: the fake makes a channel when it is first named."""
        channels = [{"id": cid, "name": name.removeprefix("#")} for cid, name in sorted(self.names.items())]
        return {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup", ""))
        if group not in self.groups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": self.groups[group]}


def _json_arg(value: Any) -> dict[str, Any] | None:
    """A JSON-valued argument: an object in a JSON body, a JSON string in a form."""
    if isinstance(value, str):
        decoded: dict[str, Any] = json.loads(value)
        return decoded
    return value if isinstance(value, dict) else None


def _flag(value: Any) -> bool:
    return value in (True, "true", "1", 1)
