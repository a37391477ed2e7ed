"""The operator console: server-rendered pages served by the responder's own app.

GET  /                                    sends a browser to /console/
GET  /console/login, POST /console/login  the API's credentials exchanged for a session cookie
POST /console/logout
GET  /console/                            Now: alerts, most severe and latest first; filters, search
GET  /console/alerts/{fingerprint}        an alert instance's timeline (?starts_at= picks one)
GET  /console/holds                       deployments stopped and frozen, with Restore and Unfreeze
GET  /console/holds/confirm               the question before an undo
GET  /console/operations, /console/health
POST /console/ack, /console/restore, /console/unfreeze
GET  /console/static/console.css, .js     the console's CSS and JavaScript

The console's routes are opened by its session cookie only (see security.py); the login, its
static files and the redirect at / are public. Pages read through the journal protocol and act
through the domain functions the API calls (`Acknowledger`, the Operator's restore and unfreeze).
"""

import secrets
from dataclasses import dataclass

from aiohttp import web

from responder.service import Responder
from responder.web.auth import Check
from responder.web.console.actions import Actions
from responder.web.console.login import Login
from responder.web.console.pages import Pages
from responder.web.console.render import Renderer
from responder.web.console.security import HOME_PATH, LOGIN_PATH, SessionCheck, redirect, secured
from responder.web.console.sessions import Sessions, session_key
from responder.web.console.static_files import FILES, StaticFiles

STATIC_PATHS = {f"{HOME_PATH}static/{name}": name for name in FILES}
# (method, path) open to anyone: the redirect at /, the login and the console's files.
PUBLIC = frozenset({("GET", "/"), ("GET", LOGIN_PATH), ("POST", LOGIN_PATH), *(("GET", p) for p in STATIC_PATHS)})


@dataclass(frozen=True)
class Console:
    routes: list[web.RouteDef]
    checked: dict[tuple[str, str], Check]  # (method, path) opened by the session cookie, and only by it


async def _home(_: web.Request) -> web.StreamResponse:
    return redirect(HOME_PATH)


def console(responder: Responder) -> Console:
    policy, journal = responder.policy, responder.journal
    sessions = Sessions(session_key(policy, secrets.token_bytes(32)), responder.clock)
    renderer = Renderer(responder.clock)
    login = Login(policy, sessions, renderer)
    pages = Pages(journal, policy, responder.metrics, sessions, renderer)
    actions = Actions(sessions, responder.acknowledge)
    static = StaticFiles()
    public = [
        web.get("/", _home),
        web.get(LOGIN_PATH, secured(login.show)),
        web.post(LOGIN_PATH, secured(login.submit)),
        *(web.get(path, static.handler(name)) for path, name in STATIC_PATHS.items()),
    ]
    checked = [
        web.post(f"{HOME_PATH}logout", secured(login.logout)),
        web.get(HOME_PATH, secured(pages.now)),
        web.get(f"{HOME_PATH}alerts/{{fingerprint}}", secured(pages.alert)),
        web.get(f"{HOME_PATH}holds", secured(pages.holds)),
        web.get(f"{HOME_PATH}holds/confirm", secured(pages.confirm)),
        web.get(f"{HOME_PATH}operations", secured(pages.operations)),
        web.get(f"{HOME_PATH}health", secured(pages.health)),
        web.post(f"{HOME_PATH}ack", secured(actions.ack)),
        web.post(f"{HOME_PATH}restore", secured(actions.undo(responder.operator.restore))),
        web.post(f"{HOME_PATH}unfreeze", secured(actions.undo(responder.operator.unfreeze))),
    ]
    check = SessionCheck(sessions)
    return Console(routes=public + checked, checked={(r.method, r.path): check for r in checked})
