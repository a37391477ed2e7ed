"""The Slack Web API methods the responder calls, with Slack's semantics: HTTP 200 with
`ok: false` and an error code for API errors, 429 with Retry-After when rate limited,
`invalid_auth` for a wrong token, channel ids and message timestamps."""

import asyncio
import hashlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import Reply

TOKEN = "xoxb-test-token"


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    at: float


@dataclass
class FakeSlack:
    missing_channels: set[str] = field(default_factory=set)
    groups: dict[str, list[str]] = field(default_factory=dict)
    script: list[Reply] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    ephemeral: list[dict[str, Any]] = field(default_factory=list)
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
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        return web.json_response(handler(args))

    def _resolve(self, channel: str) -> str | None:
        if channel in self.missing_channels:
            return None
        return channel if channel.startswith("C") else self.channel_id(channel)

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(str(args.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = f"{1_800_000_000 + next(self._ts)}.000100"
        message = Message(
            channel, ts, args.get("text", ""), args.get("blocks", []), args.get("thread_ts"), time.monotonic()
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

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup", ""))
        if group not in self.groups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": self.groups[group]}
