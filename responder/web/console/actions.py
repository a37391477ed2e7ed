"""What a person does through the console: acknowledge an alert, restore or unfreeze a
deployment. Each POST carries its session's CSRF token; each calls the domain function the API,
the CLI and the Slack buttons call, as the logged-in person (`console:<name>`), so the journal and
the operations log name them. Then it sends the browser to the page that shows the result
(post, redirect, get: a reload never repeats the action)."""

import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from responder.acknowledgement import Acknowledge
from responder.remediation import OperatorResult
from responder.targets import Target
from responder.vocabulary import AckSource
from responder.web.console.forms import read_form
from responder.web.console.security import HOME_PATH, Handler, check_csrf, redirect, session_of
from responder.web.console.sessions import Sessions
from responder.web.errors import Problem, Refusal

ACK_VIA = AckSource.CONSOLE
MAX_FIELD = 253  # a Kubernetes name's bound


def _field(form: dict[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value or len(value) > MAX_FIELD:
        raise Refusal(400, Problem.INVALID, f"the form needs {name}; use the console's own buttons")
    return value


@dataclass(frozen=True)
class Actions:
    sessions: Sessions
    acknowledge: Acknowledge

    async def _form(self, request: web.Request) -> tuple[str, dict[str, str]]:
        """The acting person and the form, once its CSRF token was checked."""
        session = session_of(request)
        form = await read_form(request)
        check_csrf(request, self.sessions, session, form.get("csrf", ""))
        return session.actor, form

    async def ack(self, request: web.Request) -> web.StreamResponse:
        actor, form = await self._form(request)
        fingerprint, starts_at = _field(form, "fingerprint"), form.get("starts_at") or None
        await self.acknowledge(fingerprint, actor, ACK_VIA, starts_at)
        where = f"{HOME_PATH}alerts/{urllib.parse.quote(fingerprint, safe='')}"
        if starts_at:
            where += "?" + urllib.parse.urlencode({"starts_at": starts_at})
        return redirect(where)

    def undo(self, run: Callable[[Target, str], Awaitable[OperatorResult]]) -> Handler:
        """The handler that runs `run` (restore or unfreeze) on the deployment the form names."""

        async def handler(request: web.Request) -> web.StreamResponse:
            actor, form = await self._form(request)
            await run(Target(_field(form, "namespace"), _field(form, "deployment")), actor)
            return redirect(f"{HOME_PATH}operations")

        return handler
