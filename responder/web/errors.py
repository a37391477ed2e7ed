"""Every error answer of the HTTP API, in one shape: {"error": <code>, "detail": <what was wrong
and what to do>, ...extra}, so clients and people read all of them the same way."""

from collections.abc import Mapping
from enum import StrEnum

from aiohttp import web


class Problem(StrEnum):
    INVALID = "invalid"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    NOT_CONFIGURED = "not_configured"
    TOO_LARGE = "too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    OVERLOADED = "overloaded"
    JOURNAL_UNAVAILABLE = "journal_unavailable"


def error(
    status: int, problem: Problem, detail: str, headers: Mapping[str, str] | None = None, **extra: str
) -> web.Response:
    return web.json_response({"error": problem, "detail": detail, **extra}, status=status, headers=headers)
