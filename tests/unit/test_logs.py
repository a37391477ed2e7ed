import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from responder import logs
from responder.log_filters import RepeatLimiter
from responder.secrets import Secret


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs.configure()
    out = io.StringIO()
    root.handlers[0].setStream(out)  # type: ignore[attr-defined]
    yield out
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_record_is_one_json_object_with_its_extra_fields(stream: io.StringIO) -> None:
    logging.getLogger("responder.test").info("step finished", extra={"correlation_id": "p-1/fp", "attempt": 2})
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["msg"] == "step finished" and entry["level"] == "info" and entry["logger"] == "responder.test"
    assert (entry["correlation_id"], entry["attempt"]) == ("p-1/fp", 2)


def test_a_secret_in_extra_is_written_as_stars_never_field_by_field(stream: io.StringIO) -> None:
    logging.getLogger("responder.test").warning("wired", extra={"token": Secret("xoxb-real"), "path": Path("/x")})
    entry = json.loads(stream.getvalue())
    assert entry["token"] == "Secret(***)" and entry["path"] == "/x"
    assert "xoxb-real" not in stream.getvalue()


def test_an_exception_is_kept_with_its_traceback(stream: io.StringIO) -> None:
    try:
        raise RuntimeError("disk full")
    except RuntimeError:
        logging.getLogger("responder.test").exception("journal append failed")
    assert "RuntimeError: disk full" in json.loads(stream.getvalue())["exception"]


def test_information_lines_are_one_per_event_and_never_cut() -> None:
    handler = logs.JsonHandler(RepeatLimiter(burst=3, interval=10.0, clock=lambda: 0.0))
    out = io.StringIO()
    handler.setStream(out)
    for n in range(50):
        record = logging.makeLogRecord({"name": "responder.engine", "levelno": logging.INFO, "levelname": "INFO"})
        record.msg, record.correlation_id = "notification applied", f"c-{n}"
        handler.handle(record)
    assert len(out.getvalue().splitlines()) == 50


def test_a_flood_of_one_line_is_cut_short_and_the_left_out_repeats_are_counted() -> None:
    now = [0.0]
    handler = logs.JsonHandler(RepeatLimiter(burst=3, interval=10.0, clock=lambda: now[0]))
    out = io.StringIO()
    handler.setStream(out)
    flood = logging.getLogger("asyncio")

    def log(message: str) -> None:
        handler.handle(flood.makeRecord("asyncio", logging.ERROR, "", 0, message, (), None))

    for fd in range(1000):
        log(f"socket.accept() out of system resource\nsocket: <socket fd={fd}>")
    log("another line")
    assert len(out.getvalue().splitlines()) == 4
    now[0] = 10.5
    log("socket.accept() out of system resource\nsocket: <socket fd=7>")
    entries = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(entries) == 6
    summary = entries[4]
    assert summary["level"] == "warning" and summary["logger"] == "asyncio"
    assert summary["msg"].startswith("997 repeats of a log line were not written")
    assert summary["repeated"] == "socket.accept() out of system resource"
    assert entries[5]["msg"].startswith("socket.accept()")


def test_alert_text_stays_inside_its_field_whatever_characters_it_holds(stream: io.StringIO) -> None:
    forged = 'Cost\n{"level": "info", "msg": "forged"}\r\u2028\u2029\x85\u202e\x1b[2K\x00'
    logging.getLogger("responder.test").warning("alert %s", forged, extra={"alertname": forged})
    [line] = stream.getvalue().split("\n")[:-1]
    assert not any(c in line for c in "\r\u2028\u2029\x85\u202e\x1b\x00")
    entry = json.loads(line)
    assert entry["msg"] == f"alert {forged}" and entry["alertname"] == forged
