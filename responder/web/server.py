"""How `serve` runs the app: what a connection may hold, how many there may be, and what an
unreadable request is told.

Every byte before authentication is hostile, so a connection is cheap to keep and quick to lose:
- an idle one (before its first request or between two) is closed after KEEPALIVE_SECONDS;
- the unread body of a request answered early (a refusal) is drained for at most
  LINGER_SECONDS, then the connection is closed;
- past MAX_CONNECTIONS open connections a new one is answered 503 and closed before anything of
  it is read, so descriptors run out for connections, never for the journal;
- a request aiohttp cannot parse (a malformed request line, a NUL in a header) is answered in
  fixed words: aiohttp's own answer quotes the request head, Authorization header included.
`listen` starts the app this way; `serve` and the tests that run the app as a server use it.
"""

import asyncio
import logging
import resource
import signal
from typing import Final, cast

from aiohttp import web
from aiohttp.web_request import BaseRequest

log = logging.getLogger("responder.web.server")

# Alertmanager reuses a connection within seconds while it has notifications to send, and its
# client retries a request on a connection the server closed while idle.
KEEPALIVE_SECONDS: Final = 15.0
LINGER_SECONDS: Final = 2.0
# Alertmanager replicas, the providers' callbacks, probes and scrapers need a few dozen at most.
MAX_CONNECTIONS: Final = 256
# What one connection may make the server hold before authentication: a request line and at most
# 32 headers of 4 KiB (Alertmanager sends about ten, each short), so the connection bound also
# bounds memory: 256 connections x 32 x 4 KiB = 32 MiB at most.
MAX_LINE_BYTES: Final = 4096
MAX_HEADERS: Final = 32
BACKLOG: Final = 128
SHUTDOWN_SECONDS: Final = 10.0
_FULL_TEXT: Final = b"too many open connections; retry in a few seconds\n"
_FULL: Final = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 5\r\nConnection: close\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_FULL_TEXT), _FULL_TEXT)
)
# aiohttp reads a None access log as none at all (run_app passes it so); its annotation says Logger.
_NO_ACCESS_LOG: Final = cast(logging.Logger, None)
_UNREADABLE: Final = (
    "the request is not HTTP/1.1 this server can read (a malformed request line or header); send a well-formed request"
)


class _Handler(web.RequestHandler):
    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        """A request aiohttp could not parse (4xx) is answered in fixed words: its own `message`
        quotes what it could not parse. A handler's crash (500) keeps aiohttp's own generic words."""
        if status >= 500:
            return super().handle_error(request, status, exc, message)
        return super().handle_error(request, status, exc, f"{status}: {_UNREADABLE}")


class _Full(asyncio.Protocol):
    """A connection over the bound: told 503 and closed, nothing read."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(_FULL)
        transport.close()


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit, so connections meet MAX_CONNECTIONS
    before a default of 1024 (or less); the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as exc:
        log.warning("could not raise the open-files limit", extra={"soft": soft, "hard": hard, "error": str(exc)})
        return soft
    return hard


async def listen(
    app: web.Application, host: str, port: int, max_connections: int = MAX_CONNECTIONS
) -> tuple[web.AppRunner, asyncio.Server]:
    """The app started (its cleanup context entered) and listening; stop with `listener.close()`
    then `runner.cleanup()`."""
    runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_SECONDS)
    await runner.setup()
    server = runner.server
    assert server is not None  # set by setup()
    loop = asyncio.get_running_loop()

    def connection() -> asyncio.Protocol:
        if len(server.connections) >= max_connections:
            return _Full()
        return _Handler(
            server,
            loop=loop,
            keepalive_timeout=KEEPALIVE_SECONDS,
            lingering_time=LINGER_SECONDS,
            max_line_size=MAX_LINE_BYTES,
            max_field_size=MAX_LINE_BYTES,
            max_headers=MAX_HEADERS,
            access_log=_NO_ACCESS_LOG,
        )

    listener = await loop.create_server(connection, host, port, backlog=BACKLOG, reuse_address=True)
    return runner, listener


def run(app: web.Application, host: str, port: int) -> None:
    """Serve `app` until SIGINT or SIGTERM, then close: the app's cleanup stops the engine and
    the journal."""

    async def until_stopped() -> None:
        runner, listener = await listen(app, host, port)
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopped.set)
        try:
            await stopped.wait()
        finally:
            listener.close()
            await runner.cleanup()

    asyncio.run(until_stopped())
