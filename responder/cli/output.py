"""How client commands print what they got: an aligned table for people (the default), or the
API's own data as JSON or YAML for scripts.

Colour is a courtesy on a terminal: only when standard output is one and NO_COLOR is not set,
and never the only carrier of meaning (every coloured word says what it means by itself). Every
cell passes through `one_line`: text from the API comes from alerts and is untrusted.
"""

import json
import os
import sys
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any, TextIO

from responder.escalation.content import one_line
from responder.yamlio import dump_yaml


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


class Tone(StrEnum):
    """ANSI colours for words that need attention (bad), that are fine (good), or are secondary (dim)."""

    BAD = "31"
    GOOD = "32"
    WARN = "33"
    DIM = "2"


def colour_on(stream: TextIO = sys.stdout) -> bool:
    """Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def paint(text: str, tone: Tone | None, on: bool) -> str:
    return f"\x1b[{tone}m{text}\x1b[0m" if on and tone is not None and text else text


Cell = str | tuple[str, Tone | None]


def table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], colour: bool = False) -> str:
    """Columns aligned on the widest cell, headers in capitals, as kubectl prints them."""
    plain = [[one_line(c if isinstance(c, str) else c[0]) for c in row] for row in rows]
    tones = [[None if isinstance(c, str) else c[1] for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in plain)]) for i, h in enumerate(headers)]
    lines = ["   ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row, row_tones in zip(plain, tones, strict=True):
        cells = [paint(c.ljust(w), t, colour) for c, t, w in zip(row, row_tones, widths, strict=True)]
        lines.append("   ".join(cells).rstrip())
    return "\n".join(lines)


def structured(data: Any, fmt: Format) -> str:
    """The API's data as JSON (keys sorted, so that output compares across runs) or YAML."""
    if fmt == Format.JSON:
        return json.dumps(data, indent=2, sort_keys=True)
    return dump_yaml(data).rstrip("\n")


def emit(data: Any, fmt: str, text: Callable[[], str]) -> None:
    """Print `data` in `fmt`; for a table, what `text` renders for people."""
    print(text() if fmt == Format.TABLE else structured(data, Format(fmt)))
