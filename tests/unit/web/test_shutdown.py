"""Stopping the server (SIGTERM, a rolling update): a request already being received is read
whole and answered before the app and its journal close, and the stop does not wait out its
body's deadline."""

import asyncio
import io
import json
import socket
import time
from collections.abc import Callable
from concurrent.futures import Future

from responder.policy import Policy
from responder.service import build_responder
from responder.web.app import create_app
from responder.web.server import listen
from responder.web.webhook import WEBHOOK_BODY_SECONDS
from tests.conftest import TOKEN, alert_payload, cost_alert


def _post_in_two_halves(port: int, body: bytes, between: Callable[[], None]) -> bytes:
    """Send a webhook's head and half its body, call `between`, send the rest; the answer."""
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


async def test_a_webhook_half_received_when_the_server_stops_is_read_whole_and_accepted(
    make_policy: Callable[..., Policy],
) -> None:
    app = create_app(build_responder(make_policy(), console=io.StringIO()))
    runner, listener = await listen(app, "127.0.0.1", 0)
    port = int(listener.sockets[0].getsockname()[1])
    loop = asyncio.get_running_loop()
    stopping: list[Future[None]] = []

    async def stop() -> None:
        listener.close()
        await runner.cleanup()

    def stop_the_server() -> None:  # on the client's thread, while the body's second half waits
        time.sleep(0.2)  # the head has arrived: the request is being answered
        stopping.append(asyncio.run_coroutine_threadsafe(stop(), loop))
        time.sleep(0.2)  # the shutdown has begun

    body = json.dumps(alert_payload(cost_alert())).encode()
    started = time.monotonic()
    answer = await asyncio.to_thread(_post_in_two_halves, port, body, stop_the_server)
    await asyncio.wrap_future(stopping[0])
    took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    assert b'"status":"accepted"' in answer
    assert took < WEBHOOK_BODY_SECONDS / 2, f"the stop waited {took:.1f}s: the body's deadline, not the body"
