"""One middleware authenticates every route but the public ones, listed in one place: a route
added later is refused without credentials unless it is named public on purpose."""

import io
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from responder.policy import Policy
from responder.service import Responder, build_responder
from responder.web.app import PUBLIC_ROUTES, create_app
from responder.web.auth import Gate
from tests.unit.web.conftest import AUTH

CONSOLE = "/console/"  # its pages are opened by its session (tests/unit/web/console), not by credentials


def _routes(client: Any) -> list[tuple[str, str, bool]]:
    """(method, a path that matches the route, whether it is public) for every route of the app."""
    return [
        (
            route.method,
            re.sub(r"\{[^}]+\}", "x", route.resource.canonical),
            ("GET" if route.method == "HEAD" else route.method, route.resource.canonical) in PUBLIC_ROUTES,
        )
        for route in client.app.router.routes()
        if route.resource is not None
    ]


def _unauthorized_count(responder: Responder) -> float | None:
    return responder.metrics.registry.get_sample_value("responder_notifications_total", {"outcome": "unauthorized"})


async def test_every_route_but_the_public_ones_refuses_a_request_without_credentials(
    service: tuple[Responder, Any],
) -> None:
    responder, client = service
    private = [(m, p) for m, p, public in _routes(client) if not public and not p.startswith(CONSOLE)]
    assert {"/webhook", "/api/v1/alerts", "/api/v1/alerts/x/ack", "/api/v1/restore"} <= {p for _, p in private}
    for method, path in private:
        response = await client.request(method, path)
        assert response.status == 401, (method, path)
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="alert-responder"'
        if method != "HEAD":
            assert (await response.json())["error"] == "unauthorized"
    # Only the webhook counts its refusals, as a notification outcome.
    assert _unauthorized_count(responder) == len([p for _, p in private if p == "/webhook"]) == 1


async def test_the_public_routes_exist_and_answer_without_credentials(service: tuple[Responder, Any]) -> None:
    _, client = service
    public = [(method, path) for method, path, is_public in _routes(client) if is_public]
    assert {(method, path) for method, path in public if method != "HEAD"} == PUBLIC_ROUTES
    for method, path in public:
        response = await client.request(method, path)
        assert "WWW-Authenticate" not in response.headers, (method, path)
    for probe in ("/healthz", "/readyz", "/metrics"):
        assert (await client.get(probe)).status == 200


async def test_a_request_with_credentials_reaches_the_handler(client: Any) -> None:
    response = await client.get("/api/v1/alerts", headers=AUTH)
    assert response.status == 200
    assert (await response.json())["alerts"] == []


async def test_a_path_no_route_matches_is_404_and_a_wrong_method_405_with_or_without_credentials(
    client: Any,
) -> None:
    assert (await client.get("/nowhere")).status == 404
    assert (await client.get("/webhook")).status == 405
    assert (await client.get("/nowhere", headers=AUTH)).status == 404


async def test_a_method_added_to_a_public_path_is_not_public(
    make_policy: Callable[..., Policy], aiohttp_client: Callable[..., Awaitable[Any]]
) -> None:
    async def handler(_: web.Request) -> web.Response:
        return web.json_response({"reached": True})

    app = create_app(build_responder(make_policy(), console=io.StringIO()))
    app.router.add_post("/metrics", handler)
    client = await aiohttp_client(app)
    assert (await client.post("/metrics")).status == 401
    assert (await client.post("/metrics", headers=AUTH)).status == 200
    assert (await client.get("/metrics")).status == 200


async def test_two_authorization_headers_are_400_whichever_comes_first(client: Any) -> None:
    for first, second in ((AUTH["Authorization"], "Bearer wrong"), ("Bearer wrong", AUTH["Authorization"])):
        response = await client.get("/api/v1/alerts", headers=[("Authorization", first), ("Authorization", second)])
        assert response.status == 400
        assert "more than one Authorization header" in (await response.json())["detail"]


async def test_a_route_with_its_own_check_is_opened_by_that_check_only(
    make_policy: Callable[..., Policy], aiohttp_client: Callable[..., Awaitable[Any]]
) -> None:
    async def handler(_: web.Request) -> web.Response:
        return web.json_response({"reached": True})

    def check(request: web.Request) -> web.StreamResponse | None:
        return None if request.headers.get("X-Pass") == "yes" else web.Response(status=403, text="no pass")

    gate = Gate(make_policy(), PUBLIC_ROUTES, {}, {("GET", "/own"): check})
    app = web.Application(middlewares=[gate.middleware()])
    app.router.add_get("/own", handler)
    app.router.add_get("/api", handler)
    client = await aiohttp_client(app)
    assert (await client.get("/own", headers=AUTH)).status == 403  # the API's credentials do not open it
    assert (await client.get("/own", headers={"X-Pass": "yes"})).status == 200
    assert (await client.head("/own", headers={"X-Pass": "yes"})).status == 200
    assert (await client.get("/api", headers={"X-Pass": "yes"})).status == 401  # its check opens nothing else
    assert (await client.get("/api", headers=AUTH)).status == 200
