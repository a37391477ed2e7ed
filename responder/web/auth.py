"""Authentication the way Alertmanager's http_config sends it: bearer token or basic auth.

Credentials are compared in constant time; the header itself is never logged.
"""

import base64
import hmac

from aiohttp import web

from responder.policy import Policy


def _equal(given: str, expected: str) -> bool:
    # surrogateescape: a header with bytes that are not UTF-8 compares unequal instead of raising.
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())


def authorized(request: web.Request, policy: Policy) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and policy.bearer_token is not None:
        return _equal(credentials.strip(), policy.bearer_token.value)
    if scheme.lower() == "basic" and policy.basic_password is not None:
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII input
            return False
        user, _, password = decoded.partition(":")
        # Both compared, always, so timing does not reveal which one was wrong.
        user_ok = _equal(user, policy.basic_username or "")
        return _equal(password, policy.basic_password.value) and user_ok
    return not policy.authenticated


def unauthorized() -> web.Response:
    return web.json_response(
        {
            "error": "unauthorized",
            "detail": "send the bearer token or basic credentials configured in responder.yaml",
        },
        status=401,
        headers={"WWW-Authenticate": 'Bearer realm="alert-responder"'},
    )
