"""Every error answer of the HTTP API, in one shape: {"error": <code>, "detail": <what was wrong
and what to do>, ...extra}, so clients and people read all of them the same way."""

import json
from collections.abc import Mapping
from enum import StrEnum

from aiohttp import web


class Problem(StrEnum):
    INVALID = "invalid"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    NOT_CONFIGURED = "not_configured"
    TOO_LARGE = "too_large"
    TIMEOUT = "timeout"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    OVERLOADED = "overloaded"
    JOURNAL_UNAVAILABLE = "journal_unavailable"
    JOURNAL_FULL = "journal_full"


def error(
    status: int, problem: Problem, detail: str, headers: Mapping[str, str] | None = None, **extra: str
) -> web.Response:
    return web.json_response({"error": problem, "detail": detail, **extra}, status=status, headers=headers)


class Refusal(web.HTTPException):
    """An error answer raised from deep inside a handler (reading or decoding its body): aiohttp
    sends a raised HTTPException as the answer, so every route refuses a body the same way."""

    def __init__(
        self,
        status: int,
        problem: Problem,
        detail: str,
        *,
        close: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status_code = status
        body = json.dumps({"error": problem, "detail": detail})
        super().__init__(text=body, content_type="application/json", headers=headers)
        if close:  # the body was not read: nothing of it is worth waiting for
            self.force_close()
