"""No log record carries a credential: header-shaped text, Bearer/Basic values and the policy's
configured secrets are scrubbed from messages, arguments, tracebacks and extra fields, at the
handler and at the loggers of aiohttp and asyncio themselves."""

import asyncio
import base64
import io
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from responder import logs
from responder.policy import Policy
from responder.secrets import secret_values
from responder.service import build_responder
from responder.web.app import create_app
from tests.conftest import TOKEN

SIGNING = "slack-signing-secret-9f8e7d"


@pytest.fixture
def scrubbed() -> Iterator[None]:
    logs.scrub_at_source()
    logs.protect([TOKEN, SIGNING])
    yield
    logs.protect([])
    for name in logs.SCRUBBED_AT_SOURCE:
        logging.getLogger(name).removeFilter(logs.REDACTOR)


def _raw_head_error() -> BaseException:
    head = f"POST /webhook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\x00\r\n\r\n".encode()
    try:
        raise ValueError(f"400, message: Invalid header value char: {head!r}")
    except ValueError as exc:
        return exc


def _everything(record: logging.LogRecord) -> str:
    text = logging.Formatter().format(record)
    return text + repr(vars(record))


@pytest.mark.usefixtures("scrubbed")
def test_aiohttps_error_handling_request_record_loses_the_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("aiohttp.server").error("Error handling request from %s", "127.0.0.1", exc_info=_raw_head_error())
    logging.getLogger("aiohttp.server").debug("head %r", f"Authorization: Basic {TOKEN}")
    [error, debug] = caplog.records
    assert debug.getMessage() == "head 'Authorization: ***'"
    assert "Error handling request from 127.0.0.1" in error.getMessage()
    assert "Invalid header value char" in _everything(error)
    assert all(TOKEN not in _everything(r) for r in caplog.records)


@pytest.mark.usefixtures("scrubbed")
def test_a_configured_secret_is_scrubbed_wherever_it_appears(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("asyncio").warning("callback said %s", SIGNING, extra={"detail": f"x{SIGNING}x"})
    [record] = caplog.records
    assert SIGNING not in _everything(record) and "callback said ***" in record.getMessage()


def test_the_json_handler_scrubs_records_of_any_logger() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    out = io.StringIO()
    try:
        logs.configure()
        logs.protect([SIGNING])
        root.handlers[0].setStream(out)  # type: ignore[attr-defined]
        logging.getLogger("some.library").error("sent %s, then Authorization: Bearer %s", SIGNING, TOKEN)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logs.protect([])
        for name in logs.SCRUBBED_AT_SOURCE:
            logging.getLogger(name).removeFilter(logs.REDACTOR)
    entry = json.loads(out.getvalue())
    assert TOKEN not in out.getvalue() and SIGNING not in out.getvalue()
    assert entry["msg"] == "sent ***, then Authorization: ***"


def test_the_policys_secrets_are_all_found(make_policy: Callable[..., Policy]) -> None:
    policy = make_policy()
    assert TOKEN in secret_values(policy)


@pytest.mark.usefixtures("scrubbed")
async def test_a_raw_request_with_a_nul_in_the_authorization_header_logs_no_token(
    make_policy: Callable[..., Policy],
    aiohttp_server: Callable[..., Awaitable[Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = await aiohttp_server(create_app(build_responder(make_policy(), console=io.StringIO())))
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(f"POST /webhook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\x00\r\n\r\n".encode())
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request")
    assert caplog.records, "aiohttp logged nothing about the malformed request: the test saw no needle"
    leaking = [r.name for r in caplog.records if TOKEN in _everything(r)]
    assert leaking == []


def test_basic_credentials_are_scrubbed_in_the_form_a_request_carries_them(
    make_policy: Callable[..., Policy], caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp logs a folded header's value without its name (the review's reproduction)."""
    policy = make_policy({"auth": {"basic": {"username": "am", "password": "BASICPASSWORD-xyz123"}}})
    sent = base64.b64encode(b"am:BASICPASSWORD-xyz123").decode()
    logs.scrub_at_source()
    logs.protect(policy.logged_secrets())
    try:
        caplog.set_level(logging.DEBUG)
        logging.getLogger("aiohttp.server").warning("Unexpected whitespace after header value: b' %s'", sent)
    finally:
        logs.protect([])
        for name in logs.SCRUBBED_AT_SOURCE:
            logging.getLogger(name).removeFilter(logs.REDACTOR)
    [record] = caplog.records
    assert sent not in _everything(record) and "BASICPASSWORD" not in _everything(record)
