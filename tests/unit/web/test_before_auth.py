"""Before authentication nothing costs much: a request that cannot be authentic is answered
before its body is read, and its connection closed; a body is read only up to its route's limit
and within a deadline; connections are bounded; a request that cannot be parsed is not echoed.
Raw sockets against the app served as `serve` serves it."""

import asyncio
import contextlib
import io
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from responder.policy import Policy
from responder.service import build_responder
from responder.web.app import create_app
from responder.web.bodies import CALLBACK_BODY
from responder.web.server import LINGER_SECONDS, MAX_CONNECTIONS, MAX_HEADERS, MAX_LINE_BYTES, listen
from responder.web.webhook import WEBHOOK_BODY_SECONDS
from tests.conftest import TOKEN
from tests.fakes.channels import channel_policy
from tests.fakes.tls import make_ca
from tests.unit.web.conftest import AUTH

MIB = 1024 * 1024
NOWHERE = "http://127.0.0.1:9"  # the channels are configured but never called here


@pytest.fixture
async def start(make_policy: Callable[..., Policy], tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[int]]]:
    """Start the app as `serve` does (with at most `max_connections`); its port."""
    urls = {"slack": NOWHERE, "pagerduty": NOWHERE.replace("http:", "https:"), "twilio": NOWHERE}
    changes = channel_policy(urls, make_ca(tmp_path).ca_file)
    started: list[tuple[web.AppRunner, asyncio.Server]] = []

    async def start_app(max_connections: int = MAX_CONNECTIONS) -> int:
        app = create_app(build_responder(make_policy(changes), console=io.StringIO()))
        started.append(await listen(app, "127.0.0.1", 0, max_connections))
        return int(started[-1][1].sockets[0].getsockname()[1])

    yield start_app
    for runner, listener in started:
        listener.close()
        await runner.cleanup()


@pytest.fixture
async def port(start: Callable[..., Awaitable[int]]) -> int:
    return await start()


def _exchange(port: int, head: bytes, body: bytes, wait: float) -> tuple[bytes, float, float | None]:
    """Send `head` and the start of a body that never ends; (the answer, seconds until its first
    byte, seconds until the server closed the connection, or None if it had not within `wait`)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as conn:
        conn.sendall(head + body)
        answer, first, closed = b"", None, None
        while time.monotonic() - started < wait:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                closed = time.monotonic() - started
                break
            if not chunk:
                closed = time.monotonic() - started
                break
            first = first or time.monotonic() - started
            answer += chunk
        return answer, first or wait, closed


def _head(path: str, length: int, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: x", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _send(port: int, head: bytes, body: bytes = b"{", wait: float = 10.0) -> tuple[bytes, float, float | None]:
    return await asyncio.to_thread(_exchange, port, head, body, wait)


@pytest.mark.parametrize(
    ("path", "headers", "reason"),
    [
        ("/slack/actions", {}, b"missing X-Slack-Request-Timestamp or X-Slack-Signature"),
        ("/slack/actions", {"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=0"}, b"more than 5 minutes"),
        ("/pagerduty/webhook", {}, b"missing X-PagerDuty-Signature"),
        ("/webhook", {"Content-Type": "application/json"}, b"send the bearer token"),
    ],
    ids=["slack unsigned", "slack stale", "pagerduty unsigned", "webhook without credentials"],
)
async def test_a_request_that_cannot_be_authentic_is_refused_before_its_body_and_let_go(
    port: int, path: str, headers: dict[str, str], reason: bytes
) -> None:
    """A body declared at 1 MiB - 1 that never comes: 401 at once, the connection closed soon."""
    answer, first, closed = await _send(port, _head(path, MIB - 1, **headers))
    assert answer.startswith(b"HTTP/1.1 401") and reason in answer
    assert first < 1.0
    assert closed is not None and closed < LINGER_SECONDS + 1.0


async def test_a_callback_declaring_more_than_its_limit_is_413_before_its_body(port: int) -> None:
    signed = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=0"}
    head = _head("/slack/actions", CALLBACK_BODY.max_bytes + 1, **signed)
    answer, first, closed = await _send(port, head)
    assert answer.startswith(b"HTTP/1.1 413") and b"64 KiB" in answer
    assert first < 1.0 and closed is not None


async def test_a_signed_callback_whose_body_trickles_is_408_within_its_deadline(port: int) -> None:
    head = _head("/pagerduty/webhook", 1000, **{"X-PagerDuty-Signature": "v1=00"})
    answer, first, closed = await _send(port, head)
    assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive within 5 s" in answer
    assert CALLBACK_BODY.seconds <= first < CALLBACK_BODY.seconds + 1.0
    assert closed is not None


async def test_an_authenticated_webhook_whose_body_trickles_is_503_to_retry_and_counted(port: int) -> None:
    head = _head("/webhook", 1000, **{**AUTH, "Content-Type": "application/json"})
    answer, first, closed = await _send(port, head, wait=WEBHOOK_BODY_SECONDS + 5)
    assert answer.startswith(b"HTTP/1.1 503") and b"Retry-After" in answer
    assert WEBHOOK_BODY_SECONDS <= first < WEBHOOK_BODY_SECONDS + 1.0
    assert closed is not None
    metrics, _, _ = await _send(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"")
    assert b'responder_notifications_total{outcome="timeout"} 1.0' in metrics


async def test_an_authenticated_webhook_over_the_limit_is_413_before_its_body(port: int) -> None:
    head = _head("/webhook", 10 * MIB, **{**AUTH, "Content-Type": "application/json"})
    answer, first, closed = await _send(port, head)
    assert answer.startswith(b"HTTP/1.1 413") and b"server.max_body_bytes" in answer
    assert first < 1.0
    assert closed is not None and closed < LINGER_SECONDS + 1.0


@pytest.mark.parametrize(
    "head",
    [
        b"POST /webhook HTTP/1.1\nHost: x\nAuthorization: Bearer %s\n\n",  # the reproduction
        b"POST /webhook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\x00\r\n\r\n",
        b"POST /web hook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
        b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-Odd: a\x00b\r\nAuthorization: Bearer %s\r\n\r\n",
    ],
    ids=["bare newlines", "NUL after the token", "malformed request line", "NUL in another header"],
)
async def test_a_request_that_cannot_be_parsed_is_answered_without_echoing_it(port: int, head: bytes) -> None:
    answer, _, closed = await _send(port, head % TOKEN.encode(), b"", wait=5.0)
    assert answer.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400")), answer
    assert TOKEN.encode() not in answer and b"Bearer" not in answer
    assert b"send a well-formed request" in answer
    assert closed is not None


@pytest.mark.parametrize(
    "extra",
    [
        {f"X-Pad-{i}": "x" for i in range(MAX_HEADERS + 1)},
        {"X-Pad": "x" * (MAX_LINE_BYTES + 1)},
    ],
    ids=["too many headers", "a header too long"],
)
async def test_headers_past_their_bound_are_refused_before_authentication(port: int, extra: dict[str, str]) -> None:
    """What one connection makes the server hold before authentication is bounded by its headers."""
    answer, _, closed = await _send(port, _head("/webhook", 0, **extra), b"", wait=5.0)
    assert answer.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400")), answer[:200]
    assert closed is not None


async def test_idle_connections_cannot_hold_the_bound_against_a_probe(start: Callable[..., Awaitable[int]]) -> None:
    """Connections that send nothing (or nothing more after an answer) make room for new ones:
    a flood of them cannot make the liveness probe fail."""
    port = await start(max_connections=3)
    held = []
    try:
        for _ in range(20):
            held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            await asyncio.sleep(0.02)  # accepted, in the place of the connection idle the longest
        answer, _, _ = await _send(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"", 5.0)
        assert answer.startswith(b"HTTP/1.1 200"), answer
        closed = 0
        for conn in held:
            conn.settimeout(0.5)
            with contextlib.suppress(TimeoutError):
                closed += conn.recv(1) == b""
        assert closed == 18, "the idle connections were closed to make room, all but the last two"
    finally:
        for conn in held:
            conn.close()


async def test_connections_that_send_part_of_a_head_now_and_then_cannot_hold_the_bound(
    start: Callable[..., Awaitable[int]],
) -> None:
    """A byte now and then is no request: such connections make room like idle ones."""
    port = await start(max_connections=3)
    held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
    try:
        for conn in held:
            conn.sendall(b"G")
            await asyncio.sleep(0.02)
        answer, _, _ = await _send(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"", 5.0)
        assert answer.startswith(b"HTTP/1.1 200"), answer
    finally:
        for conn in held:
            conn.close()


async def test_connections_over_the_bound_in_the_middle_of_requests_are_503_and_the_bound_frees_up(
    start: Callable[..., Awaitable[int]],
) -> None:
    port = await start(max_connections=3)
    held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
    try:
        for conn in held:  # requests being answered: the webhook waits for the rest of each body
            conn.sendall(_head("/webhook", 1000, **{**AUTH, "Content-Type": "application/json"}) + b"{")
        await asyncio.sleep(0.2)  # the server has read all three
        answer, first, closed = await _send(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", b"", wait=5.0)
        assert answer.startswith(b"HTTP/1.1 503") and b"Retry-After: 5" in answer
        assert first < 1.0 and closed is not None
    finally:
        for conn in held:
            conn.close()
    await asyncio.sleep(0.2)  # the server has seen them close
    answer, _, _ = await _send(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"", wait=5.0)
    assert answer.startswith(b"HTTP/1.1 200")


async def test_expect_100_continue_invites_no_body_before_authentication(port: int) -> None:
    """aiohttp answers Expect before any middleware: without credentials the answer is the 401."""
    expect = {"Content-Type": "application/json", "Expect": "100-continue"}
    refused, _, closed = await _send(port, _head("/webhook", MIB, **expect), b"", wait=5.0)
    assert refused.startswith(b"HTTP/1.1 401"), refused[:200]
    assert b"100 Continue" not in refused and closed is not None
    invited, _, _ = await _send(port, _head("/webhook", MIB, **expect, **AUTH), b"", wait=1.0)
    assert invited.startswith(b"HTTP/1.1 100 Continue"), invited[:200]
