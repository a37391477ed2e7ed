"""Twilio's Messages resource: create (form POST, 201), list with To/From filters, basic auth
with the account sid, Twilio's error bodies (code, message, more_info, status), and a hang
that keeps the message it was given, as a provider does when only the answer is lost;
`stall_before` hangs the next requests before anything is created, as a request lost on its way."""

import asyncio
import itertools
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from aiohttp import BasicAuth, web

from tests.fakes.server import Reply

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "twilio-test-auth-token"
SENDER = "+15550000001"


def _error(status: int, code: int, message: str) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


@dataclass
class FakeTwilio:
    script: list[Reply] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    stall_before: int = 0
    stalled: int = 0  # requests held by stall_before so far
    _sid: "itertools.count[int]" = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        path = "/2010-04-01/Accounts/{account}/Messages.json"
        app.router.add_post(path, self._create)
        app.router.add_get(path, self._list)
        return app

    def _authorized(self, request: web.Request) -> bool:
        try:
            auth = BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            return False
        return (auth.login, auth.password) == (ACCOUNT_SID, AUTH_TOKEN) and request.match_info["account"] == ACCOUNT_SID

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        if self.stall_before > 0:
            self.stall_before -= 1
            self.stalled += 1
            await asyncio.sleep(3600)
        form = await request.post()
        to, sender, body = str(form.get("To", "")), str(form.get("From", "")), str(form.get("Body", ""))
        if not to.startswith("+") or not to[1:].isdigit():
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if sender != SENDER:
            return _error(400, 21606, "The From phone number is not a valid, SMS-capable inbound phone number.")
        reply = self.script.pop(0) if self.script else None
        message = {
            "sid": f"SM{next(self._sid):032x}",
            "account_sid": ACCOUNT_SID,
            "to": to,
            "from": sender,
            "body": body,
            "status": "queued",
            "direction": "outbound-api",
            "num_segments": "1",
            "date_created": formatdate(usegmt=True),
            "date_updated": formatdate(usegmt=True),
            "date_sent": None,
            "price": None,
            "error_code": None,
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        }
        if reply is not None and not reply.hang:
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        self.messages.append(message)
        if reply is not None:  # accepted, but the answer never comes
            await asyncio.sleep(3600)
        return web.json_response(message, status=201)

    async def _list(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, 20003, "Authenticate")
        found = [
            m
            for m in reversed(self.messages)
            if m["to"] == request.query.get("To", m["to"]) and m["from"] == request.query.get("From", m["from"])
        ]
        size = int(request.query.get("PageSize", "50"))
        uri = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        return web.json_response(
            {
                "messages": found[:size],
                "end": min(size, len(found)) - 1,
                "first_page_uri": f"{uri}?PageSize={size}&Page=0",
                "next_page_uri": None,
                "previous_page_uri": None,
                "page": 0,
                "page_size": size,
                "start": 0,
                "uri": f"{uri}?PageSize={size}&Page=0",
            }
        )
