"""PagerDuty Events API v2 (POST /v2/enqueue) over TLS: 202 with the dedup key, 400 with
`errors` for an invalid event or routing key, 429 when throttled; incidents kept by dedup key.
`stall_events`: events that are processed but whose answer never comes, as when the client dies mid-call."""

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import Reply

ROUTING_KEY = "R0123456789abcdef0123456789abcde"


@dataclass
class FakePagerDuty:
    routing_keys: set[str] = field(default_factory=lambda: {ROUTING_KEY})
    script: list[Reply] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    incidents: dict[str, str] = field(default_factory=dict)  # dedup_key -> status
    stall_events: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        return app

    async def _enqueue(self, request: web.Request) -> web.Response:
        if self.script:
            reply = self.script.pop(0)
            if reply.hang:
                await asyncio.sleep(3600)
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        try:
            event = json.loads(await request.read())
        except ValueError:
            return self._invalid("Event object is invalid: not JSON")
        problems = []
        if event.get("routing_key") not in self.routing_keys:
            problems.append("'routing_key' is invalid")
        action = event.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            problems.append("'event_action' is invalid")
        if action == "trigger":
            payload = event.get("payload") or {}
            problems += [
                f"'payload.{k}' is missing or blank" for k in ("summary", "source", "severity") if not payload.get(k)
            ]
        elif not event.get("dedup_key"):
            problems.append("'dedup_key' is required for acknowledge and resolve")
        if problems:
            return self._invalid("Event object is invalid", problems)
        self.events.append(event)
        key = event.get("dedup_key") or f"generated-{len(self.events)}"
        self.incidents[key] = {"trigger": "triggered", "acknowledge": "acknowledged", "resolve": "resolved"}[action]
        if self.stall_events > 0:
            self.stall_events -= 1
            await asyncio.sleep(3600)  # processed; the answer never comes
        return web.json_response({"status": "success", "message": "Event processed", "dedup_key": key}, status=202)

    @staticmethod
    def _invalid(message: str, errors: list[str] | None = None) -> web.Response:
        return web.json_response({"status": "invalid event", "message": message, "errors": errors or []}, status=400)
