"""Authentication the way Alertmanager's http_config sends it: bearer token or basic auth,
checked for every route but the public ones by one middleware.

Credentials are compared in constant time; the header itself is never logged. A request with
more than one Authorization header is refused (400): which one counts would be our guess.
A refusal runs before any handler reads the body and closes the connection after answering (what
of the body is already on its way is discarded, see web/server.py).
"""

import base64
import hmac
from collections.abc import Callable, Collection, Mapping

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from aiohttp.web_urldispatcher import _default_expect_handler  # aiohttp's own 100 Continue

from responder.policy import Policy
from responder.web.errors import Problem, error

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="alert-responder"'}


def _equal(given: str, expected: str) -> bool:
    # surrogateescape: a header with bytes that are not UTF-8 compares unequal instead of raising.
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())


def bearer_valid(policy: Policy, token: str) -> bool:
    """`token` is the policy's bearer token (False when it configures none)."""
    return policy.bearer_token is not None and _equal(token, policy.bearer_token.value)


def basic_valid(policy: Policy, user: str, password: str) -> bool:
    """`user` and `password` are the policy's basic credentials (False when it configures none)."""
    if policy.basic_password is None:
        return False
    # Both compared, always, so timing does not reveal which one was wrong.
    user_ok = _equal(user, policy.basic_username or "")
    return _equal(password, policy.basic_password.value) and user_ok


def authorized(request: web.Request, policy: Policy) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and policy.bearer_token is not None:
        return bearer_valid(policy, credentials.strip())
    if scheme.lower() == "basic" and policy.basic_password is not None:
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII input
            return False
        user, _, password = decoded.partition(":")
        return basic_valid(policy, user, password)
    return not policy.authenticated


def unauthorized() -> web.Response:
    refusal = error(
        401,
        Problem.UNAUTHORIZED,
        "send the bearer token or basic credentials configured in responder.yaml",
        headers=_CHALLENGE,
    )
    refusal.force_close()
    return refusal


def _ambiguous() -> web.Response:
    refusal = error(
        400,
        Problem.INVALID,
        "the request has more than one Authorization header; send exactly one, with the credentials "
        "configured in responder.yaml",
    )
    refusal.force_close()
    return refusal


# A route's own authentication: the refusal, or None to let the request pass.
Check = Callable[[web.Request], web.StreamResponse | None]


class Gate:
    """Who may pass: every route but those in `public`, as (method, canonical path), needs the
    policy's credentials; HEAD counts as the GET it mirrors. `checked` names the routes that
    authenticate otherwise, each with its own check (the console's session cookie), and only so:
    the Authorization header opens none of them, and their check opens no other route.
    `on_refusal` names what to do on a refusal per path (the webhook counts it). A request that
    matched no route passes, to its 404 or 405. Used twice: by the middleware, and for
    `Expect: 100-continue`, which aiohttp answers before any middleware runs."""

    def __init__(
        self,
        policy: Policy,
        public: Collection[tuple[str, str]],
        on_refusal: Mapping[str, Callable[[], None]],
        checked: Mapping[tuple[str, str], Check] | None = None,
    ) -> None:
        self.policy, self.public, self.on_refusal = policy, public, on_refusal
        self.checked: Mapping[tuple[str, str], Check] = checked or {}

    def refusal(self, request: web.Request) -> web.StreamResponse | None:
        """The answer that refuses `request`, or None when it may pass."""
        route = request.match_info.route
        resource = route.resource
        if resource is None:
            return None
        key = ("GET" if route.method == "HEAD" else route.method, resource.canonical)
        if key in self.public:
            return None
        check = self.checked.get(key)
        if check is not None:
            return check(request)
        if len(request.headers.getall("Authorization", ())) > 1:
            return _ambiguous()
        if authorized(request, self.policy):
            return None
        refused = self.on_refusal.get(resource.canonical)
        if refused is not None:
            refused()
        return unauthorized()

    def middleware(self) -> Middleware:
        @web.middleware
        async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
            return self.refusal(request) or await handler(request)

        return authenticate

    async def expect(self, request: web.Request) -> web.StreamResponse | None:
        """An `expect_handler`: `100 Continue` only for a request that may pass, so no body is
        invited before authentication; the refusal otherwise, and the connection closed."""
        refused = self.refusal(request)
        if refused is not None:
            return refused
        await _default_expect_handler(request)
        return None
