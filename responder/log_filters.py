"""Two guards on every log line: credentials are scrubbed out, and a line repeated in a flood is
written a bounded number of times.

`Redactor` is a `logging.Filter` that rewrites a record in place: its message (with its
arguments), its traceback and stack text, and every extra field that is text. It removes the
value of any `Authorization` header, any Bearer or Basic credential, and every configured secret
value. aiohttp logs the raw request head of a malformed request inside an exception, so the
traceback is rendered and scrubbed here, and the exception object (which still holds the head)
is dropped from the record.

`RepeatLimiter` decides, per logger and message, whether a line is written: at most `burst` per
`interval` seconds; the first line after a suppressed run is preceded by one line saying how
many were left out.
"""

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

REDACTED = "***"
_HEADER = re.compile(r"((?:proxy-)?authorization[\"']?\s*[:=]\s*)[^\r\n'\"]+", re.IGNORECASE)
_SCHEME = re.compile(r"\b(bearer|basic)(\s+)[^\s'\"]{6,}", re.IGNORECASE)
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_TRACEBACKS = logging.Formatter()


class Redactor(logging.Filter):
    """Scrubs credentials from every record it sees; never refuses one."""

    def __init__(self) -> None:
        super().__init__()
        self._values: re.Pattern[str] | None = None

    def protect(self, secrets: Iterable[str]) -> None:
        """Scrub these values too (the policy's credentials), in addition to header-shaped text."""
        values = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._values = re.compile("|".join(map(re.escape, values))) if values else None

    def scrub(self, text: str) -> str:
        text = _SCHEME.sub(rf"\1\2{REDACTED}", _HEADER.sub(rf"\1{REDACTED}", text))
        return self._values.sub(REDACTED, text) if self._values is not None else text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            # The exception object can still hold the credential: only its scrubbed text is kept.
            record.exc_text, record.exc_info = self.scrub(record.exc_text), None
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.scrub(value))
        return True


@dataclass
class _Run:
    window_start: float
    written: int = 0
    suppressed: int = 0


class RepeatLimiter:
    """At most `burst` lines per logger and message in `interval` seconds (callers hold a lock)."""

    MAX_KEYS = 1024

    def __init__(self, burst: int, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst, self.interval, self._clock = burst, interval, clock
        self._runs: dict[tuple[str, str], _Run] = {}

    def admit(self, record: logging.LogRecord) -> tuple[bool, int]:
        """(write this record?, how many repeats were left out before it and must be reported)."""
        now = self._clock()
        key = (record.name, _first_line(record))
        run = self._runs.get(key)
        if run is None or now - run.window_start >= self.interval:
            if len(self._runs) >= self.MAX_KEYS:
                self._forget_before(now)
            self._runs[key] = _Run(now, written=1)
            return True, run.suppressed if run is not None else 0
        if run.written < self.burst:
            run.written += 1
            return True, 0
        run.suppressed += 1
        return False, 0

    def _forget_before(self, now: float) -> None:
        self._runs = {k: r for k, r in self._runs.items() if now - r.window_start < self.interval}
        if len(self._runs) >= self.MAX_KEYS:
            self._runs.clear()

    def summary(self, record: logging.LogRecord, suppressed: int) -> logging.LogRecord:
        """The line that says how many repeats of `record`'s message were not written."""
        return logging.makeLogRecord(
            {
                "name": record.name,
                "levelno": logging.WARNING,
                "levelname": "WARNING",
                "msg": "%d repeats of a log line were not written (at most %d per %gs)",
                "args": (suppressed, self.burst, self.interval),
                "repeated": _first_line(record),
            }
        )


def _first_line(record: logging.LogRecord) -> str:
    """What makes two records "the same line": the first line of the message as logged, before its
    arguments (asyncio's message goes on with the socket, which differs each time)."""
    return str(record.msg).partition("\n")[0][:200]
