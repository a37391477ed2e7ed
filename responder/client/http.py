"""Calls to a running responder's API, and what a refusal or a silence means in one line.

Every answer that is not 2xx becomes a `ClientError` naming the URL, the status, the server's
own `detail` and which credentials were sent (where they came from, never their value), so a
401 at 3 a.m. says which token file to look at instead of failing on a missing field.
"""

import json
import urllib.error
import urllib.request
from http import HTTPStatus
from typing import Any

from responder.client.config import Connection
from responder.escalation.content import one_line

TIMEOUT_SECONDS = 30.0
_MAX_DETAIL = 300
_HINTS = {
    401: "check that the token is the one the responder's policy names in auth",
    403: "check that the token is the one the responder's policy names in auth",
    404: "check the URL and the name or fingerprint",
}


class ClientError(Exception):
    """A request that did not succeed; the message is one line, ready to print."""


def _detail(status: int, body: bytes) -> str:
    """The server's reason in its own words (its `detail` or `message`), on one line."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        text = answer.get("detail") or answer.get("message") or answer.get("journal") or answer.get("error")
        if isinstance(text, str) and text:
            return one_line(text[:_MAX_DETAIL])  # text from the network: no escape sequence reaches the terminal
    text = body.decode("utf-8", "replace").strip()[:_MAX_DETAIL]
    if text:
        return one_line(text)
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "no reason given"


class Client:
    """A running responder at `connection.url`, asked with its credentials."""

    def __init__(self, connection: Connection, timeout: float = TIMEOUT_SECONDS) -> None:
        self.connection = connection
        self._timeout = timeout

    def get(self, path: str, accept: tuple[int, ...] = ()) -> Any:
        """The decoded JSON answer to GET `path`; `accept` lists non-2xx statuses that are answers too."""
        return self._call("GET", path, None, accept)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, json.dumps(body).encode(), ())

    def _call(self, method: str, path: str, data: bytes | None, accept: tuple[int, ...]) -> Any:
        url = f"{self.connection.url}{path}"
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.connection.credentials.token is not None:
            headers["Authorization"] = f"Bearer {self.connection.credentials.token.value}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
            if status not in accept:
                raise ClientError(self._refused(method, url, status, body)) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            reason = reason.strerror or reason if isinstance(reason, OSError) else reason
            raise ClientError(
                f"{method} {url}: cannot reach the responder ({reason}); is `responder serve` running there?"
                f"{self._where()}"
            ) from None
        try:
            return json.loads(body)
        except ValueError:
            raise ClientError(f"{method} {url}: the {status} answer is not JSON; is this URL a responder?") from None

    def _refused(self, method: str, url: str, status: int, body: bytes) -> str:
        hint = _HINTS.get(status)
        return f"{method} {url}: {status} {_detail(status, body)} (sent {self.connection.credentials.origin})" + (
            f"; {hint}" if hint else ""
        )

    def _where(self) -> str:
        name = self.connection.context
        return f" (context {name}; give --url or --context to ask another)" if name else ""
