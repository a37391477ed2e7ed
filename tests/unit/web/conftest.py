import io
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from responder.policy import Policy
from responder.service import Responder, build_responder
from responder.web.app import create_app
from tests.conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def service(
    make_policy: Callable[..., Policy], aiohttp_client: Callable[..., Awaitable[Any]]
) -> tuple[Responder, Any]:
    responder = build_responder(make_policy(), console=io.StringIO())
    return responder, await aiohttp_client(create_app(responder))


@pytest.fixture
async def client(service: tuple[Responder, Any]) -> Any:
    return service[1]
