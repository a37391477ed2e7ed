"""A synthetic exporter: serves /metrics in the Prometheus text format with values a test sets.

Prometheus scrapes it like any service; a test moves a gauge across an alert's threshold and
back, and records when it did, so the time to the remediation can be measured from there.
"""

import threading
import time

from aiohttp import web

Labels = tuple[tuple[str, str], ...]


def _render(name: str, labels: Labels, value: float) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in labels)
    return f"{name}{{{inner}}} {value!r}" if inner else f"{name} {value!r}"


class Exporter:
    def __init__(self) -> None:
        self._values: dict[tuple[str, Labels], float] = {}
        self._lock = threading.Lock()

    def set(self, name: str, value: float, **labels: str) -> float:
        """Set a gauge; returns the wall-clock time of the change (what the responder's clock reads)."""
        with self._lock:
            self._values[(name, tuple(sorted(labels.items())))] = value
            return time.time()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        return app

    async def _metrics(self, _: web.Request) -> web.Response:
        with self._lock:
            lines = [_render(name, labels, value) for (name, labels), value in sorted(self._values.items())]
        return web.Response(text="\n".join([*lines, ""]), content_type="text/plain")
