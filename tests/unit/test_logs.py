import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from responder import logs
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
