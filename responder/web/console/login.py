"""Logging in to the console and out of it.

GET  /console/login   the form; sets a pre-login cookie whose random value the form's CSRF
                      token is bound to (so another site cannot log a browser in as someone else)
POST /console/login   the API's credentials (the bearer token with the name of the person, or
                      the basic user and password) exchanged for the session cookie
POST /console/logout  ends the session (CSRF token required)

The login is read before authentication: its form is a few short fields within a small bound,
and credentials are compared in constant time (responder.web.auth). The cookie is HttpOnly,
SameSite=Strict, Secure when the console is served over TLS, scoped to /console/ and expires
with the session.
"""

from aiohttp import web

from responder.policy import Policy
from responder.web.auth import basic_valid, bearer_valid
from responder.web.console.forms import read_form
from responder.web.console.render import Renderer
from responder.web.console.security import (
    HOME_PATH,
    LOGIN_PATH,
    check_csrf,
    cross_site,
    forbidden,
    local_path,
    redirect,
    session_of,
)
from responder.web.console.sessions import COOKIE, LIFETIME_SECONDS, MAX_IDENTITY, Sessions

LOGIN_COOKIE = "responder_console_login"
_NO_CREDENTIALS = (
    "The console needs the credentials the API uses: set auth.bearer_token or auth.basic in responder.yaml, "
    "then restart the responder."
)


def _cookie(response: web.StreamResponse, request: web.Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=HOME_PATH, httponly=True, samesite="Strict", secure=request.secure
    )


def _identity(given: str) -> str:
    """A name fit for the operations log: printable, trimmed, at most MAX_IDENTITY characters."""
    return "".join(c for c in given if c.isprintable()).strip()[:MAX_IDENTITY]


class Login:
    def __init__(self, policy: Policy, sessions: Sessions, renderer: Renderer) -> None:
        self.policy, self.sessions, self.renderer = policy, sessions, renderer

    def _form(self, request: web.Request, error: str | None, status: int = 200) -> web.Response:
        nonce = self.sessions.login_nonce(request.cookies.get(LOGIN_COOKIE))
        context = {
            "title": "Log in",
            "error": error or (None if self.policy.authenticated else _NO_CREDENTIALS),
            "enabled": self.policy.authenticated,
            "bearer": self.policy.bearer_token is not None,
            "basic": self.policy.basic_password is not None,
            "login_token": self.sessions.login_token(nonce),
            "next": local_path(request.query.get("next")),
        }
        response = self.renderer.html("login.html", context, status)
        _cookie(response, request, LOGIN_COOKIE, nonce, LIFETIME_SECONDS)
        return response

    async def show(self, request: web.Request) -> web.StreamResponse:
        if self.sessions.read(request.cookies.get(COOKIE)) is not None:
            return redirect(local_path(request.query.get("next")))
        return self._form(request, None)

    async def submit(self, request: web.Request) -> web.StreamResponse:
        why = cross_site(request)
        if why is not None:
            raise forbidden(why)
        form = await read_form(request)
        if not self.sessions.login_valid(request.cookies.get(LOGIN_COOKIE, ""), form.get("login_token", "")):
            raise forbidden("the login form expired or came from elsewhere")
        if not self.policy.authenticated:
            return self._form(request, None, 503)
        user, secret = _identity(form.get("user", "")), form.get("secret", "")
        if basic_valid(self.policy, user, secret) or (bearer_valid(self.policy, secret) and user):
            identity = user
        else:
            words = "wrong credentials" if user else "give your name (it goes in the operations log) with the token"
            return self._form(request, f"Not logged in: {words}. Use the API's token or basic credentials.", 401)
        _session, cookie = self.sessions.issue(identity)
        response = redirect(local_path(form.get("next")))
        _cookie(response, request, COOKIE, cookie, LIFETIME_SECONDS)
        response.del_cookie(LOGIN_COOKIE, path=HOME_PATH)
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        session = session_of(request)
        form = await read_form(request)
        check_csrf(request, self.sessions, session, form.get("csrf", ""))
        self.sessions.revoke(session)
        response = redirect(LOGIN_PATH)
        response.del_cookie(COOKIE, path=HOME_PATH)
        return response
