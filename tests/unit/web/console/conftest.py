"""A responder's app under the test client, and a client logged in to its console."""

import io
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from responder.policy import Policy
from responder.service import Responder, build_responder
from responder.web.app import create_app
from tests.conftest import TOKEN

TOKEN_FIELD = re.compile(r'name="(?:login_token|csrf)" value="([^"]+)"')


def form_token(html: str) -> str:
    found = TOKEN_FIELD.search(html)
    assert found, "the page has no form token"
    return found.group(1)


async def log_in(client: Any, user: str = "alice", secret: str = TOKEN) -> Any:
    page = await client.get("/console/login")
    token = form_token(await page.text())
    data = {"login_token": token, "user": user, "secret": secret, "next": "/console/"}
    return await client.post("/console/login", data=data, allow_redirects=False)


async def csrf_of(client: Any, path: str = "/console/") -> str:
    return form_token(await (await client.get(path)).text())


@pytest.fixture
async def console(
    make_policy: Callable[..., Policy], aiohttp_client: Callable[..., Awaitable[Any]]
) -> tuple[Responder, Any]:
    responder = build_responder(make_policy(), console=io.StringIO())
    return responder, await aiohttp_client(create_app(responder))


@pytest.fixture
async def logged_in(console: tuple[Responder, Any]) -> Any:
    client = console[1]
    answer = await log_in(client)
    assert answer.status == 303
    return client
