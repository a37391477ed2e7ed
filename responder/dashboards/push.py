"""`responder dashboards push`: import the generated dashboards through Grafana's HTTP API.

Grafana's classic endpoints, which every release from 8 to 12 serves: GET/POST /api/folders to
find or create the folder, then POST /api/dashboards/db with `overwrite` (the generator owns
these dashboards, so whatever someone changed in the UI is replaced, as the DO NOT EDIT note
says) and `folderUid`. The token goes in the Authorization header and nowhere else: not in
errors, not in logs, not in the repr of anything that holds it.
"""

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from responder.dashboards.build import BuiltDashboard

TOKEN_ENV = "GRAFANA_TOKEN"
TIMEOUT = aiohttp.ClientTimeout(total=30)


class PushError(Exception):
    """Grafana refused or could not be reached; the message says which and what to do."""


@dataclass(frozen=True)
class Token:
    value: str
    origin: str  # where it came from, for messages: the value itself is never shown

    def __repr__(self) -> str:
        return f"Token(from {self.origin})"

    @classmethod
    def from_environment(cls, path: Path | None, env: dict[str, str] | None = None) -> "Token":
        if path is not None:
            try:
                value = path.read_text("utf-8").strip()
            except OSError as exc:
                raise PushError(f"cannot read the token file {path}: {exc.strerror}") from exc
            origin = str(path)
        else:
            value = (os.environ if env is None else env).get(TOKEN_ENV, "").strip()
            origin = f"${TOKEN_ENV}"
        if not value:
            raise PushError(
                f"no Grafana token in {origin}; create a service account token with the Editor role "
                f"and pass it in ${TOKEN_ENV} or --token-file"
            )
        return cls(value, origin)


def folder_uid(title: str) -> str:
    """A folder uid from its title: lower case, dashes, at most 40 characters (Grafana's limit)."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "alert-responder"


def _explain(status: int, body: dict[str, Any], token: Token, what: str) -> str:
    message = str(body.get("message", "")) or "no message"
    if status == 401:
        return f"{what}: 401 {message}; the token from {token.origin} is invalid or expired"
    if status == 403:
        return f"{what}: 403 {message}; the token from {token.origin} needs the Editor role on the folder"
    if status == 412:
        return f"{what}: 412 {body.get('status', 'precondition failed')}: {message}"
    return f"{what}: {status} {message}"


class _Grafana:
    def __init__(self, session: aiohttp.ClientSession, url: str, token: Token) -> None:
        self.session, self.url, self.token = session, url.rstrip("/"), token

    async def call(self, method: str, path: str, what: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.token.value}", "Accept": "application/json"}
        try:
            async with self.session.request(method, self.url + path, json=body, headers=headers) as response:
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = {"message": (await response.text())[:200]}
                return response.status, answer if isinstance(answer, dict) else {"message": str(answer)}
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PushError(f"{what}: cannot reach Grafana at {self.url}: {exc or type(exc).__name__}") from exc

    async def ensure_folder(self, title: str, uid: str) -> str:
        status, body = await self.call("GET", f"/api/folders/{uid}", f"folder {uid}")
        if status == 200:
            return f"folder {title!r} ({uid}) exists"
        if status != 404:
            raise PushError(_explain(status, body, self.token, f"looking up folder {uid}"))
        status, body = await self.call("POST", "/api/folders", f"folder {uid}", {"uid": uid, "title": title})
        if status != 200:
            raise PushError(_explain(status, body, self.token, f"creating folder {title!r}"))
        return f"created folder {title!r} ({uid})"

    async def save(self, built: BuiltDashboard, folder: str, message: str) -> str:
        uid = built.model["uid"]
        request = {"dashboard": {**built.model, "id": None}, "folderUid": folder, "overwrite": True, "message": message}
        status, body = await self.call("POST", "/api/dashboards/db", f"dashboard {uid}", request)
        if status != 200:
            raise PushError(_explain(status, body, self.token, f"saving dashboard {uid}"))
        return f"pushed {uid} (version {body.get('version')}): {self.url}{body.get('url', '/d/' + uid)}"


async def push(
    url: str,
    token: Token,
    folder: str,
    uid: str | None,
    dashboards: list[BuiltDashboard],
    message: str = "",
    progress: Callable[[str], None] = lambda line: None,
) -> list[str]:
    """Create the folder when missing, then save every dashboard into it; one line per step,
    each also given to `progress` as soon as it is done (a slow Grafana shows how far it got)."""
    lines: list[str] = []

    def done(line: str) -> None:
        lines.append(line)
        progress(line)

    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        grafana = _Grafana(session, url, token)
        folder_id = uid or folder_uid(folder)
        done(await grafana.ensure_folder(folder, folder_id))
        for built in dashboards:
            done(await grafana.save(built, folder_id, message or "responder dashboards push"))
    return lines
