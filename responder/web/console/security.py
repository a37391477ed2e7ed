"""What every console answer carries, and what every console request must show.

Answers: a Content-Security-Policy that allows the console's own static files and nothing else
(no inline script or style, no frames, forms posting only here), X-Frame-Options DENY, no
sniffing, no referrer to other sites, no caching of pages that show alert data.

Requests: a console route is opened by the session cookie only (`SessionCheck`, given to the
app's Gate); the Authorization header opens none of them, so a browser's remembered basic
credentials cannot act through the console without its CSRF token. A state-changing request
also needs its session's CSRF token and, when the browser says where it comes from (Origin,
Sec-Fetch-Site), to come from the console itself.
"""

import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from responder.web.console.sessions import COOKIE, Session, Sessions
from responder.web.errors import Problem, Refusal

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSION: Final = web.RequestKey("console.session", Session)  # the request's Session, set by SessionCheck
LOGIN_PATH: Final = "/console/login"
HOME_PATH: Final = "/console/"
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS: Final = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make a form's Origin "null"
    "Cache-Control": "no-store",
}


def secured(handler: Handler) -> Handler:
    """`handler` with the console's headers on every answer, a refusal raised included."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers.update(HEADERS)
            raise
        response.headers.update(HEADERS)
        return response

    return wrapped


def redirect(where: str) -> web.Response:
    """303 See Other: after a form, the browser gets the page that shows its result."""
    return web.Response(status=303, headers={"Location": where, **HEADERS})


def local_path(target: str | None) -> str:
    """`target` when it is a path of the console (where a login may send a person on to), else
    the console's home: never another site (`//host`, `/\\host`, a scheme)."""
    if not target or not target.startswith(HOME_PATH) or "\\" in target or target.startswith("//"):
        return HOME_PATH
    if not (target.isascii() and target.isprintable()):  # it goes into a Location header
        return HOME_PATH
    parsed = urllib.parse.urlsplit(target)
    return target if not parsed.scheme and not parsed.netloc else HOME_PATH


class SessionCheck:
    """The Gate's check for console routes: the request's session, kept on it under SESSION,
    or the refusal (a page is sent to the login, anything else is told 401)."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions

    def __call__(self, request: web.Request) -> web.StreamResponse | None:
        session = self.sessions.read(request.cookies.get(COOKIE))
        if session is not None:
            request[SESSION] = session
            return None
        if request.method in ("GET", "HEAD"):
            where = urllib.parse.urlencode({"next": request.rel_url.path_qs})
            refusal = redirect(f"{LOGIN_PATH}?{where}")
        else:
            refusal = web.Response(
                status=401, text="not logged in, or the session expired; log in at /console/login", headers=HEADERS
            )
        return refusal


def session_of(request: web.Request) -> Session:
    """The session SessionCheck found (every console route but the login and its files has one)."""
    return request[SESSION]


def cross_site(request: web.Request) -> str | None:
    """Why `request` seems to come from another site, or None. Browsers send Origin with a POST
    and Sec-Fetch-Site with every request; a client that sends neither is judged by its token."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return f"the request came from a {site} page"
    origin = request.headers.get("Origin")
    # The host only: behind a proxy that ends TLS the browser's https origin reaches us as http.
    if origin is not None and urllib.parse.urlsplit(origin).netloc != request.host:
        return "the request came from another origin"
    return None


def forbidden(why: str) -> Refusal:
    return Refusal(
        403, Problem.INVALID, f"refused: {why}; reload the console page and use its own buttons", headers=HEADERS
    )


def check_csrf(request: web.Request, sessions: Sessions, session: Session, token: str) -> None:
    """Raise a 403 Refusal unless `token` is `session`'s CSRF token and the request is same-site."""
    why = cross_site(request)
    if why is None and not sessions.csrf_valid(session, token):
        why = "the form's CSRF token is missing or not this session's"
    if why is not None:
        raise forbidden(why)
