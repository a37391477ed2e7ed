"""Structured JSON logs, one object per line, with correlation ids.

Fields passed through `extra=` land in the object. Secrets are `Secret` objects (which print as
***), and every record is scrubbed by `log_filters.Redactor` besides: at the handler, and at the
loggers of aiohttp and asyncio themselves, which log raw request heads and exceptions that can
carry an `Authorization` header. A line repeated in a flood (asyncio logs one per failed accept)
is written at most `REPEATS_PER_INTERVAL` times per `REPEAT_INTERVAL_SECONDS`. Text from an
alert is always inside a field: orjson escapes control characters, and the line separators and
bidi controls it leaves as they are are escaped after it, so no value can end or reorder a line.
"""

import logging
import sys
import time
from collections.abc import Iterable
from typing import Any

import orjson

from responder.log_filters import Redactor, RepeatLimiter

# orjson would write a dataclass field by field, a Secret's value included: these go through str().
_AS_TEXT = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# orjson writes these unescaped (valid JSON); some viewers break lines or reorder text at them.
_INVISIBLE = {
    c: f"\\u{c:04x}"
    for c in (0x0085, 0x2028, 0x2029, 0x200E, 0x200F, 0x061C, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
}
# Loggers whose records carry text from the network; a filter on a logger sees only its own records.
SCRUBBED_AT_SOURCE = (
    "",
    "asyncio",
    "aiohttp",
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.internal",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.websocket",
    "responder",
)
REPEATS_PER_INTERVAL = 20
REPEAT_INTERVAL_SECONDS = 10.0

REDACTOR = Redactor()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return orjson.dumps(entry, default=str, option=_AS_TEXT).decode().translate(_INVISIBLE)


class JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes JSON lines to standard error, each scrubbed. Floods of one warning or error (a
    socket error repeated for every connection, a failing checkpoint) are cut short; information
    lines are one per event and always written, correlation ids and all."""

    def __init__(self, limiter: RepeatLimiter) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(JsonFormatter())
        self.addFilter(REDACTOR)
        self._limiter = limiter

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING:  # one line per event (a notification, a step): never cut
            super().emit(record)
            return
        write, suppressed = self._limiter.admit(record)
        if suppressed:
            super().emit(self._limiter.summary(record, suppressed))
        if write:
            super().emit(record)


def protect(secrets: Iterable[str]) -> None:
    """Scrub these values (the policy's credentials) from every log record from now on."""
    REDACTOR.protect(secrets)


def scrub_at_source() -> None:
    """Install the redactor on the loggers that log network text, so every handler sees it scrubbed."""
    for name in SCRUBBED_AT_SOURCE:
        logger = logging.getLogger(name)
        if REDACTOR not in logger.filters:
            logger.addFilter(REDACTOR)


def configure(level: str = "INFO") -> None:
    """JSON lines on standard error, scrubbed at their source; `protect` adds the policy's secrets
    once it is loaded."""
    scrub_at_source()
    logging.Formatter.converter = time.gmtime
    root = logging.getLogger()
    root.handlers[:] = [JsonHandler(RepeatLimiter(REPEATS_PER_INTERVAL, REPEAT_INTERVAL_SECONDS))]
    root.setLevel(level)
    # No caller lookup (file, line, function) per record: no line carries it, and it was more than
    # half of what a log call cost (the logging HOWTO's "Optimization" section names this switch).
    logging._srcfile = None
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
