"""How `serve` runs the app: what a connection may hold, how many there may be, and what an
unreadable request is told.

Every byte before authentication is hostile, so a connection is cheap to keep and quick to lose:
- an idle one (before its first request or between two) is closed after KEEPALIVE_SECONDS;
- the unread body of a request answered early (a refusal) is drained for at most
  LINGER_SECONDS, then the connection is closed;
- at MAX_CONNECTIONS open connections a new one takes the place of the one idle the longest
  (no whole request being answered on it; part of a head is no request); when none is idle
  (every one has a request being answered) it is answered 503 and closed before anything of it
  is read, so descriptors run out for connections, never for the journal;
- a request aiohttp cannot parse (a malformed request line, a NUL in a header) is answered in
  fixed words: aiohttp's own answer quotes the request head, Authorization header included.
`listen` starts the app this way; `serve` and the tests that run the app as a server use it.

`run` binds the port before it starts the app (opening the journal), and announces the address
only once both succeeded: a taken port never touches the journal, and "listening" is true when
printed. Either failure leaves as a StartupError, one line saying what and what to do.
"""

import asyncio
import errno
import logging
import os
import resource
import signal
import socket
import time
from collections.abc import Callable
from typing import Any, Final, cast

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
SHUTDOWN_POLL_SECONDS: Final = 0.02  # how often a closing connection looks whether its answer is written
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


_BIND_ADVICE: Final = {
    errno.EADDRINUSE: "another process (another responder?) listens there; stop it, or set server.listen "
    "in the policy to a free port",
    errno.EACCES: "ports below 1024 need privileges; set server.listen to a port above 1024",
    errno.EADDRNOTAVAIL: "that host is not an address of this machine; set server.listen to one of its "
    "addresses, or 0.0.0.0 for all",
}


class StartupError(Exception):
    """The server could not start; the message says what and what to do, on one line."""


class _Handler(web.RequestHandler):
    """A connection, and since when it has been idle: opened or answered, and no whole request
    being answered since. Closing an idle one loses no request being answered (a part of a head
    is no request: sending a byte now and then must not make a connection unevictable); the
    client's next request opens a new connection (Alertmanager's client retries on one closed
    while idle)."""

    def __init__(self, listed: set["_Handler"], *args: Any, **kwargs: Any) -> None:
        """`listed`: the listener's open connections, this one among them from now until it is lost."""
        super().__init__(*args, **kwargs)
        self.idle_since: float | None = _now()
        self.closing = False  # the server stops (`stop`): the connection closes once quiet
        self._heard = False  # bytes arrived since the last answer was written: a request may be on its way
        self._closed = False  # aiohttp's close was called: it ignores what arrives from then on
        self._listed = listed
        listed.add(self)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._listed.discard(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._heard = True
        super().data_received(data)

    def log_access(self, request: BaseRequest, response: web.StreamResponse, time: float | None) -> None:
        """Called as each answer is written: from here the connection is idle again, or, while
        the server stops, closed (before aiohttp would start on another request)."""
        super().log_access(request, response, time)
        self.idle_since = _now()
        self._heard = False
        if self.closing:
            self._close_now()

    def close(self) -> None:
        """aiohttp's close, which ignores all that arrives from then on: the rest of a body
        included. While the server stops (`stop`), a connection receiving or answering a
        request is left to close once its answer is written, else a request half received
        at the stop would wait out its body's deadline (10 s for the webhook)."""
        if not (self.closing and self._busy):
            self._close_now()

    async def shutdown(self, timeout: float | None = SHUTDOWN_SECONDS) -> None:
        """Let the request on its way be read whole and answered, within `timeout` (None: the
        default, not aiohttp's "no limit"); then close, and aiohttp's shutdown gets what is left
        of `timeout`, at least a moment, as 0 would mean no limit to it."""
        deadline = _now() + (SHUTDOWN_SECONDS if timeout is None else timeout)
        while self._busy and self.transport is not None and _now() < deadline:
            await asyncio.sleep(SHUTDOWN_POLL_SECONDS)
        self._close_now()
        await super().shutdown(max(deadline - _now(), SHUTDOWN_POLL_SECONDS))

    def _close_now(self) -> None:
        self._closed = True
        super().close()

    @property
    def _busy(self) -> bool:
        """Receiving or answering a request, and still reading: a request on its way."""
        return not self._closed and (self.idle_since is None or self._heard)

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


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port and listening (connections queue until the app serves them);
    StartupError when the address cannot be had."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=BACKLOG)
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}; set server.listen to an address") from None
    except OSError as exc:
        advice = _BIND_ADVICE.get(exc.errno or 0, "set server.listen in the policy to an address this host may use")
        reason = os.strerror(exc.errno) if exc.errno else str(exc)  # create_server appends the address to its own
        raise StartupError(f"cannot listen on {host}:{port}: {reason}; {advice}") from None


def _now() -> float:
    return time.monotonic()


def _close_longest_idle(connections: set[_Handler]) -> bool:
    """Make room at the bound: close the connection idle the longest, if one is. Idle connections
    cannot hold the bound against a new one (a probe, Alertmanager), however many are opened."""
    # Only a connection already made: closing one the loop has yet to make would leave its socket open.
    idle = [c for c in connections if c.idle_since is not None and c.transport is not None]
    if not idle:
        return False
    longest = min(idle, key=lambda c: c.idle_since or 0.0)
    longest.idle_since = None  # closing: it stays listed until the loop has closed it
    longest.force_close()
    return True


async def listen(
    app: web.Application,
    host: str,
    port: int,
    max_connections: int = MAX_CONNECTIONS,
    sock: socket.socket | None = None,
) -> tuple[web.AppRunner, asyncio.Server]:
    """The app started (its cleanup context entered) and listening, on `sock` when given (see
    `bind`); stop with `listener.close()` then `runner.cleanup()`."""
    runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_SECONDS)
    await runner.setup()
    server = runner.server
    assert server is not None  # set by setup()
    loop = asyncio.get_running_loop()

    # Counted as each is accepted: the server's own list learns of a connection a loop turn
    # later, and a burst of them would all pass a bound checked against it.
    listed: set[_Handler] = set()
    answer = server.request_handler

    async def answering(request: BaseRequest) -> web.StreamResponse:
        """A whole request head arrived: its connection is busy until the answer is written."""
        protocol = request.protocol
        if isinstance(protocol, _Handler):
            protocol.idle_since = None
        response = await answer(request)
        if isinstance(protocol, _Handler) and protocol.closing:
            response.force_close()  # the client is told the connection ends with this answer
        return response

    server.request_handler = answering  # each connection takes it as it is made

    def connection() -> asyncio.Protocol:
        if len(listed) >= max_connections and not _close_longest_idle(listed):
            return _Full()
        return _Handler(
            listed,
            server,
            loop=loop,
            keepalive_timeout=KEEPALIVE_SECONDS,
            lingering_time=LINGER_SECONDS,
            max_line_size=MAX_LINE_BYTES,
            max_field_size=MAX_LINE_BYTES,
            max_headers=MAX_HEADERS,
            access_log=_NO_ACCESS_LOG,
        )

    try:
        if sock is not None:
            listener = await loop.create_server(connection, sock=sock, backlog=BACKLOG)
        else:
            listener = await loop.create_server(connection, host, port, backlog=BACKLOG, reuse_address=True)
    except BaseException:
        await runner.cleanup()
        raise
    return runner, listener


async def stop(runner: web.AppRunner, listener: asyncio.Server) -> None:
    """Stop serving: no new connection, and each open one closes once quiet, its request on the
    way read whole and answered (within SHUTDOWN_SECONDS); then the app's cleanup runs (the
    engine, then the journal, stop)."""
    listener.close()
    for connection in runner.server.connections if runner.server is not None else []:
        if isinstance(connection, _Handler):
            connection.closing = True
    await runner.cleanup()


def run(app: web.Application, host: str, port: int, listening: Callable[[], None] = lambda: None) -> None:
    """Serve `app` until SIGINT or SIGTERM, then close: the app's cleanup stops the engine and
    the journal. `listening` is called once the port is bound and the app started."""
    sock = bind(host, port)

    async def until_stopped() -> None:
        runner, listener = await listen(app, host, port, sock=sock)
        listening()
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopped.set)
        try:
            await stopped.wait()
            log.info("stopping: no new connection; the requests in flight finish, then the engine stops")
        finally:
            await stop(runner, listener)

    try:
        asyncio.run(until_stopped())
    finally:
        sock.close()
