"""A fake of Grafana's classic HTTP API, as much of it as `responder dashboards push` uses.

It keeps the semantics that matter to a client: bearer-token auth (401 with Grafana's error
body), folders by uid (404 when missing, 409 on a duplicate), and POST /api/dashboards/db with
its validation (400), version check when not overwriting (412 version-mismatch) and success
body. It runs on 127.0.0.1 on a free port in a thread of its own, so that synchronous callers
(the CLI's asyncio.run) can talk to it.
"""

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

UID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


@dataclass
class Saved:
    dashboard: dict[str, Any]
    folder_uid: str
    version: int
    message: str


@dataclass
class FakeGrafana:
    token: str
    folders: dict[str, str] = field(default_factory=dict)  # uid -> title
    dashboards: dict[str, Saved] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    authorizations: set[str] = field(default_factory=set)
    answer_next: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # path -> one canned answer

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/api/folders/{uid}", self._get_folder)
        app.router.add_post("/api/folders", self._create_folder)
        app.router.add_post("/api/dashboards/db", self._save_dashboard)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        header = request.headers.get("Authorization", "")
        self.authorizations.add(header)
        if header != f"Bearer {self.token}":
            return _error(401, "Invalid API key", messageId="api-key.invalid", statusCode=401, traceID="")
        if request.path in self.answer_next:
            status, body = self.answer_next.pop(request.path)
            return web.json_response(body, status=status)
        response: web.StreamResponse = await handler(request)
        return response

    async def _get_folder(self, request: web.Request) -> web.Response:
        uid = request.match_info["uid"]
        if uid not in self.folders:
            return _error(404, "folder not found", status="not-found")
        return web.json_response({"uid": uid, "title": self.folders[uid], "url": f"/dashboards/f/{uid}/"})

    async def _create_folder(self, request: web.Request) -> web.Response:
        body = await _json(request)
        if body is None or not str(body.get("title", "")).strip():
            return _error(400, "folder title cannot be empty")
        uid = str(body.get("uid", ""))
        if not UID.match(uid):
            return _error(400, "uid contains illegal characters or is too long")
        if uid in self.folders:
            return _error(409, "a folder with the same uid already exists")
        self.folders[uid] = str(body["title"])
        return web.json_response({"uid": uid, "title": body["title"], "url": f"/dashboards/f/{uid}/", "version": 1})

    async def _save_dashboard(self, request: web.Request) -> web.Response:
        body = await _json(request)
        if body is None or not isinstance(body.get("dashboard"), dict):
            return _error(400, "bad request data")
        dashboard = body["dashboard"]
        problem = _dashboard_problem(dashboard, body, self.folders)
        if problem:
            return _error(400, problem)
        uid = dashboard["uid"]
        existing = self.dashboards.get(uid)
        if existing and not body.get("overwrite") and dashboard.get("version") != existing.version:
            return _error(412, "The dashboard has been changed by someone else", status="version-mismatch")
        version = existing.version + 1 if existing else 1
        self.dashboards[uid] = Saved(dashboard, body["folderUid"], version, str(body.get("message", "")))
        slug = re.sub(r"[^a-z0-9]+", "-", dashboard["title"].lower()).strip("-")
        return web.json_response(
            {"id": len(self.dashboards), "uid": uid, "url": f"/d/{uid}/{slug}", "status": "success",
             "version": version, "slug": slug, "folderUid": body["folderUid"]}
        )  # fmt: skip


def _dashboard_problem(dashboard: dict[str, Any], body: dict[str, Any], folders: dict[str, str]) -> str | None:
    if not str(dashboard.get("title", "")).strip():
        return "Dashboard title cannot be empty"
    if not UID.match(str(dashboard.get("uid", ""))):
        return "uid contains illegal characters or is longer than 40 characters"
    if dashboard.get("id") is not None:
        return "Dashboard not found"  # an id from another Grafana names no dashboard here
    if "folderId" in body and "folderUid" in body:
        return "folderId and folderUid are mutually exclusive; send folderUid"
    if body.get("folderUid") not in folders:
        return "folder not found"
    if not isinstance(dashboard.get("schemaVersion"), int) or not isinstance(dashboard.get("panels"), list):
        return "dashboard JSON is not a classic dashboard model (schemaVersion, panels)"
    return None


async def _json(request: web.Request) -> dict[str, Any] | None:
    if request.content_type != "application/json":
        return None
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _error(http_status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"message": message, **extra}, status=http_status)


@contextmanager
def running(fake: FakeGrafana) -> Iterator[str]:
    """Serve `fake` on 127.0.0.1 on a free port in a background thread; yields its base URL."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(fake.app(), access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
