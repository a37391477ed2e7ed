"""Finding a key that a JSON object names twice.

Parsers disagree on which of two equal keys counts (msgspec, orjson and Python's json keep the
last; others keep the first or refuse), so a body that names one twice can mean one thing to a
proxy or a log reader and another to the responder. No sender the responder serves writes one:
every body that does is refused.
"""

import json
from typing import Any


class TooDeep(ValueError):
    """The document nests deeper than the exact check can follow."""


class _Named(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _refuse_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Named(key)
        found[key] = value
    return found


def first_duplicate_key(document: bytes | str) -> str | None:
    """The first key some object of `document` (a JSON document) names twice, or None. Raises
    TooDeep for nesting the standard library's parser cannot follow."""
    try:
        json.loads(document, object_pairs_hook=_refuse_twice)
    except _Named as named:
        return named.key
    except RecursionError:
        raise TooDeep("it is nested too deeply to read") from None
    return None
