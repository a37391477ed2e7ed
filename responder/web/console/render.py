"""Rendering the console's pages: Jinja2 templates from the package, every value escaped.

Autoescaping is on for every template: labels, annotations, evidence and log lines are printed
as text, whatever they contain. No template marks a value safe. Times are printed absolute (UTC)
and relative; the console's script rewrites the absolute one in the viewer's zone.
"""

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import jinja2
from aiohttp import web

from responder.web.console.security import HEADERS

LIVE_HEADER = "X-Console-Live"  # the console's script asks for the live region only


def absolute(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(ts: float | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def relative(ts: float | None, now: float) -> str:
    """'5m ago', 'in 12m': whole units, the largest that fits."""
    if ts is None:
        return ""
    delta = now - ts
    size = abs(delta)
    for unit, seconds in (("d", 86400), ("h", 3600), ("m", 60)):
        if size >= seconds:
            amount = f"{int(size // seconds)}{unit}"
            break
    else:
        amount = f"{int(size)}s"
    return f"{amount} ago" if delta >= 0 else f"in {amount}"


def starts(starts_at: str) -> float | None:
    """An alert's startsAt (RFC 3339) as unix seconds, or None when it does not parse."""
    try:
        return datetime.fromisoformat(starts_at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class Renderer:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("responder.web.console", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(absolute=absolute, iso=iso, starts=starts)

    def html(self, template: str, context: Mapping[str, Any], status: int = 200) -> web.Response:
        now = self.clock()
        text = self.env.get_template(template).render(
            **context, now=now, relative=lambda ts: relative(ts, now), **_defaults(context)
        )
        return web.Response(text=text, status=status, content_type="text/html", charset="utf-8", headers=HEADERS)

    def page(self, request: web.Request, template: str, context: Mapping[str, Any]) -> web.Response:
        """The whole page, or only its live region when the console's script asks for it."""
        live = request.headers.get(LIVE_HEADER) == "1"
        return self.html(template, {**context, "live_only": live})


def _defaults(context: Mapping[str, Any]) -> dict[str, Any]:
    """What the base template reads, for pages that do not set it."""
    return {k: v for k, v in {"live_only": False, "session": None, "csrf": ""}.items() if k not in context}
