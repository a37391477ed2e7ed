"""A client logged in to the console of the app under test, and reading its form tokens."""

import re
from typing import Any

import pytest

from responder.service import Responder
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
async def logged_in(service: tuple[Responder, Any]) -> Any:
    """The app of the `service` fixture (tests/unit/web/conftest.py), logged in as alice."""
    client = service[1]
    answer = await log_in(client)
    assert answer.status == 303
    return client
