"""A pass-through in front of the real API server, for the two things the server will not do on demand.

- Pod logs: with no kubelet, the real server cannot serve `pods/log`, so those requests go to a `FakeKube`
  holding the logs; everything else (the pods themselves included) comes from the real server.
- A race: `race(path, write, after=n)` runs `write` (someone else's change, made as the administrator) right
  after the real server answered a GET of `path` (the next one, or the one after `n` more) and before the
  responder hears the answer, so the responder's conditional write that follows meets the real server's 409.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager

import aiohttp
from aiohttp import web

from tests.fakes.kube import FakeKube, serve
from tests.fakes.thread import AppThread
from tests.kube.cluster import RealCluster

FORWARDED = ("Authorization", "Content-Type", "Accept")
SESSION = web.AppKey("session", aiohttp.ClientSession)


class Proxy:
    def __init__(self, cluster: RealCluster, logs_url: str) -> None:
        self._cluster = cluster
        self._logs_url = logs_url
        self._races: dict[str, tuple[int, Callable[[], None]]] = {}
        self.url = ""

    def race(self, path: str, write: Callable[[], None], after: int = 0) -> None:
        self._races[path] = (after, write)

    def app(self) -> web.Application:
        app = web.Application()
        app.cleanup_ctx.append(self._session)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        return app

    async def _session(self, app: web.Application) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(ssl=self._cluster.ssl_context())
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as session:
            app[SESSION] = session
            yield

    async def _forward(self, request: web.Request) -> web.Response:
        upstream = self._logs_url if request.path.endswith("/log") else self._cluster.url
        headers = {k: v for k, v in request.headers.items() if k in FORWARDED}
        async with request.app[SESSION].request(
            request.method, upstream + request.path_qs, headers=headers, data=await request.read()
        ) as answer:
            body = await answer.read()
            status, content_type = answer.status, answer.headers.get("Content-Type", "application/json")
        if request.method == "GET" and request.path in self._races:
            after, write = self._races.pop(request.path)
            if after:
                self._races[request.path] = (after - 1, write)
            else:
                await asyncio.get_running_loop().run_in_executor(None, write)
        return web.Response(body=body, status=status, headers={"Content-Type": content_type})


@contextmanager
def proxied(cluster: RealCluster, logs: FakeKube) -> Iterator[Proxy]:
    """The proxy served on 127.0.0.1 (plain http, this process only) for as long as the block runs."""
    with serve(logs) as fake:
        proxy = Proxy(cluster, fake.url)
        with AppThread(proxy.app()) as server:
            proxy.url = server.url
            yield proxy
