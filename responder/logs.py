"""Structured JSON logs, one object per line, with correlation ids.

Fields passed through `extra=` land in the object. Secrets never reach here: they are `Secret`
objects (which print as ***) and request headers are never logged.
"""

import logging
import sys
import time
from typing import Any

import orjson

# orjson would write a dataclass field by field, a Secret's value included: these go through str().
_AS_TEXT = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str, option=_AS_TEXT).decode()


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.Formatter.converter = time.gmtime
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # No caller lookup (file, line, function) per record: no line carries it, and it was more than
    # half of what a log call cost (the logging HOWTO's "Optimization" section names this switch).
    logging._srcfile = None
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
