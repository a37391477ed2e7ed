"""Reading and decoding a request body, the one way every route does it.

Every byte before authentication is hostile, so a body is read only after the request's
credentials or signature headers were checked, up to a limit sized for the route (checked on
the declared length before reading and again as bytes arrive, for chunked bodies) and within a
deadline for the whole read. Every JSON body goes through `decode_json`: orjson refuses text
that is not UTF-8 and stops at 1024 levels of nesting on its own (no Python recursion), and every
refusal is a 400 that says what was wrong and what to send.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import StreamReader, web

from responder.duplicate_keys import TooDeep, first_duplicate_key
from responder.web.errors import Problem, Refusal

KIB = 1024
_RETRY = {"Retry-After": "5"}  # seconds


@dataclass(frozen=True)
class BodyLimit:
    """How much a route reads, and for how long. `name` is what the 413 says to change. A body
    that does not arrive in time is answered `late` (408; the webhook says 503 and Retry-After,
    because Alertmanager retries a 5xx and drops every 4xx), and the connection is closed."""

    max_bytes: int
    seconds: float
    name: str
    late: int = 408


# The API's own bodies are a handful of short fields ({"actor": ...}, a namespace and a
# deployment or selector).
API_BODY = BodyLimit(16 * KIB, 10.0, "the API's body limit (16 KiB)")
# A Slack block_actions payload echoes the message the button is on (ours: a headline, a few
# fields and the buttons, a few KiB) with the user, channel and container, URL-encoded; a
# PagerDuty v3 webhook carries one event with the incident's summary, typically 2-5 KiB. 64 KiB
# is over ten times either, and Slack stops waiting for an answer after 3 seconds anyway.
CALLBACK_BODY = BodyLimit(64 * KIB, 5.0, "the callback body limit (64 KiB)")


async def read_body(request: web.Request, limit: BodyLimit) -> bytes:
    """The whole body, or a Refusal: 413 past `limit.max_bytes`, 408 (and the connection
    closed) when it has not all arrived within `limit.seconds`. A body already received in full,
    as a small one usually is with its headers, is read without arming a timer."""
    length = request.content_length
    if length is not None and length > limit.max_bytes:
        raise _too_large(limit, length)
    if request.content.is_eof():
        return await _read(request.content, limit)
    try:
        async with asyncio.timeout(limit.seconds):
            return await _read(request.content, limit)
    except TimeoutError:
        raise Refusal(
            limit.late,
            Problem.TIMEOUT,
            f"the body did not arrive within {limit.seconds:g} s; send it at once, with its Content-Length",
            close=True,
            headers=_RETRY if limit.late == 503 else None,
        ) from None


async def _read(stream: StreamReader, limit: BodyLimit) -> bytes:
    chunks, size = [], 0
    while chunk := await stream.readany():
        size += len(chunk)
        if size > limit.max_bytes:
            raise _too_large(limit, size)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: BodyLimit, size: int) -> Refusal:
    return Refusal(
        413,
        Problem.TOO_LARGE,
        f"body of {size} bytes or more exceeds {limit.name}; send at most {limit.max_bytes} bytes",
        close=True,
    )


def decode_json(body: bytes | str, send: str) -> Any:
    """The JSON document in `body`, or a 400 Refusal saying why not and that the client should
    send `send` (for example 'a JSON object like {"actor": "alice"}'). A key named twice in one
    object is refused too (see `duplicate_keys`)."""
    try:
        document = orjson.loads(body)
        twice = first_duplicate_key(body)
    except (orjson.JSONDecodeError, TooDeep) as exc:
        raise Refusal(400, Problem.INVALID, f"the body is not JSON we can read ({exc}); send {send}") from None
    if twice is not None:
        raise Refusal(400, Problem.INVALID, f"the body names the key {twice!r} more than once; send {send}")
    return document


async def read_json(request: web.Request, limit: BodyLimit, send: str) -> Any:
    """`decode_json` of `read_body`: the one way a route reads a JSON body."""
    return decode_json(await read_body(request, limit), send)
