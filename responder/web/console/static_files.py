"""The console's CSS and JavaScript, shipped in the package and served from memory: a fixed
list of files read once, each its own route, so a request can name nothing else."""

from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Final

from aiohttp import web

TYPES: Final = {".css": "text/css", ".js": "text/javascript"}
FILES: Final = ("console.css", "console.js")


class StaticFiles:
    def __init__(self) -> None:
        folder = resources.files("responder.web.console").joinpath("static")
        self.files = {name: folder.joinpath(name).read_bytes() for name in FILES}

    def handler(self, name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        body, kind = self.files[name], TYPES[name[name.rfind(".") :]]
        headers = {"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"}

        async def serve(_: web.Request) -> web.StreamResponse:
            return web.Response(body=body, content_type=kind, headers=headers)

        return serve
