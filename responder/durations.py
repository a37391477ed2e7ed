"""Prometheus durations ("90s", "1h30m") as seconds."""

import re

_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PART = re.compile(r"([0-9]+)(ms|s|m|h|d|w|y)")
_WHOLE = re.compile(r"^(?:[0-9]+(?:ms|s|m|h|d|w|y))+$")


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration; ValueError says what a valid one looks like."""
    if not _WHOLE.match(text):
        raise ValueError(f"{text!r} is not a Prometheus duration; write e.g. 30s, 5m, 1h30m")
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _PART.findall(text))
