"""Stopping the server (SIGTERM, a rolling update): a request already on its way is read whole
and answered before the app and its journal close, with `Connection: close`, and the stop does
not wait out its body's deadline."""

import asyncio
import io
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web

from responder.policy import Policy
from responder.service import build_responder
from responder.web.app import create_app
from responder.web.server import listen, stop
from responder.web.webhook import WEBHOOK_BODY_SECONDS
from tests.conftest import TOKEN, alert_payload, cost_alert

READ = 0.5  # for the server to have read what was sent: generous, on a shared machine


class Serving:
    """The app as `serve` runs it, and a stop that says when aiohttp has begun closing the
    connections (its pre-shutdown): a connection closed then would lose the rest of a body."""

    def __init__(self, runner: web.AppRunner, listener: asyncio.Server) -> None:
        self.runner, self.listener = runner, listener
        self.port = int(listener.sockets[0].getsockname()[1])
        self.closing = threading.Event()
        server = runner.server
        assert server is not None
        pre_shutdown = server.pre_shutdown

        def closing() -> None:
            pre_shutdown()
            self.closing.set()

        server.pre_shutdown = closing  # type: ignore[method-assign]  # observed, not changed

    async def stop(self) -> None:
        if self.listener.is_serving():  # once: the fixture stops what a test did not
            await stop(self.runner, self.listener)


@pytest.fixture
async def serving(make_policy: Callable[..., Policy]) -> AsyncIterator[Serving]:
    app = create_app(build_responder(make_policy(), console=io.StringIO()))
    serving = Serving(*await listen(app, "127.0.0.1", 0))
    yield serving
    await serving.stop()


def _post_in_two_halves(port: int, body: bytes, between: Callable[[], None]) -> bytes:
    """Send a webhook's head and half its body, call `between`, send the rest; the answer,
    read until the server closes the connection."""
    head = (
        f"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    half = len(body) // 2
    with socket.create_connection(("127.0.0.1", port), timeout=WEBHOOK_BODY_SECONDS * 2) as conn:
        conn.sendall(head + body[:half])
        between()
        conn.sendall(body[half:])
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        return answer


async def test_a_webhook_half_received_when_the_server_stops_is_read_whole_and_accepted(serving: Serving) -> None:
    loop = asyncio.get_running_loop()
    stopped: list[asyncio.Future[None]] = []

    def stop_the_server() -> None:  # on the client's thread, while the body's second half waits
        time.sleep(READ)
        stopped.append(asyncio.wrap_future(asyncio.run_coroutine_threadsafe(serving.stop(), loop), loop=loop))
        assert serving.closing.wait(WEBHOOK_BODY_SECONDS), "the server did not begin to close its connections"

    body = json.dumps(alert_payload(cost_alert())).encode()
    started = time.monotonic()
    answer = await asyncio.to_thread(_post_in_two_halves, serving.port, body, stop_the_server)
    await stopped[0]
    took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert b'"status":"accepted"' in answer
    assert b"Connection: close" in answer, "the client is told the connection ends with this answer"
    assert took < WEBHOOK_BODY_SECONDS / 2, f"the stop waited {took:.1f}s: the body's deadline, not the body"


async def test_an_idle_connection_does_not_hold_up_the_stop(serving: Serving) -> None:
    with socket.create_connection(("127.0.0.1", serving.port), timeout=WEBHOOK_BODY_SECONDS) as conn:
        await asyncio.sleep(READ)
        started = time.monotonic()
        await serving.stop()
        assert time.monotonic() - started < WEBHOOK_BODY_SECONDS / 2
        assert await asyncio.to_thread(conn.recv, 1) == b"", "closed by the stop"
