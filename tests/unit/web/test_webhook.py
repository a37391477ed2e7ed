import asyncio
import base64
import io
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from responder.policy import Policy
from responder.service import Responder, build_responder
from responder.web.app import create_app
from tests import journal_rows
from tests.conftest import TOKEN, alert_payload, cost_alert
from tests.unit.web.conftest import AUTH

BODY = json.dumps(alert_payload(cost_alert())).encode()
JSON = {**AUTH, "Content-Type": "application/json"}


async def post(client: Any, body: bytes = BODY, headers: dict[str, str] | None = None) -> Any:
    return await client.post("/webhook", data=body, headers=JSON if headers is None else headers)


async def test_a_notification_is_committed_before_the_200(service: tuple[Responder, Any]) -> None:
    responder, client = service
    response = await post(client)
    assert response.status == 200
    accepted = await response.json()
    stored = journal_rows.body(responder.policy.journal_path, accepted["id"])  # independent of the responder
    assert stored == BODY


async def test_a_notification_arrives_when_its_request_does_not_when_its_body_is_finished(
    service: tuple[Responder, Any],
) -> None:
    """The journal's arrival time is what the time to a first remediation is counted from; taken
    once the body was read and checked, it left out however long that took."""
    responder, client = service

    async def slow_body() -> Any:
        yield BODY[:10]  # the headers go with the first chunk
        await asyncio.sleep(0.3)
        yield BODY[10:]

    before = time.time()
    response = await client.post("/webhook", data=slow_body(), headers=JSON)
    assert response.status == 200
    [received_at] = journal_rows.received_times(responder.policy.journal_path)
    assert before <= received_at < before + 0.25


async def test_a_journal_that_cannot_write_answers_503_not_200(service: tuple[Responder, Any]) -> None:
    responder, client = service
    await responder.journal.close()
    response = await post(client)
    assert response.status == 503
    assert response.headers["Retry-After"]
    assert (await response.json())["error"] == "journal_unavailable"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Type": "application/json"}, 401),
        ({"Authorization": "Bearer wrong-token-000000000", "Content-Type": "application/json"}, 401),
        ({"Authorization": "Basic !!!notbase64", "Content-Type": "application/json"}, 401),
        ({**AUTH, "Content-Type": "text/plain"}, 415),
    ],
)
async def test_unauthenticated_and_wrongly_typed_requests_are_refused(
    client: Any, headers: dict[str, str], status: int
) -> None:
    response = await post(client, headers=headers)
    assert response.status == status
    assert (await response.json())["detail"]


async def test_basic_auth_as_alertmanager_sends_it(
    make_policy: Callable[..., Policy], aiohttp_client: Callable[..., Awaitable[Any]]
) -> None:
    policy = make_policy({"auth": {"basic": {"username": "am", "password": "correct-horse-battery"}}})
    client = await aiohttp_client(create_app(build_responder(policy, console=io.StringIO())))
    good = base64.b64encode(b"am:correct-horse-battery").decode()
    bad = base64.b64encode(b"am:wrong-horse-battery").decode()
    ok = await post(client, headers={"Authorization": f"Basic {good}", "Content-Type": "application/json"})
    refused = await post(client, headers={"Authorization": f"Basic {bad}", "Content-Type": "application/json"})
    assert (ok.status, refused.status) == (200, 401)


@pytest.mark.parametrize(
    ("body", "path", "fragment"),
    [
        (b"{not json", None, "not a JSON document"),
        (b"[" * 100_000, None, "not a JSON document"),  # nesting deeper than any parser's stack
        (b"[1, 2", None, "not a JSON document"),
        (b"\xff\xfe\x00garbage", None, "not a JSON document"),
        (json.dumps({"version": "5", "status": "firing", "alerts": []}).encode(), "$.version", "not supported"),
        (json.dumps(alert_payload({**cost_alert(), "status": "burning"})).encode(), "$.alerts[0].status", "burning"),
        # Matches the schema's pattern but is no time: refused now, not accepted and dropped later.
        (
            json.dumps(alert_payload(cost_alert(starts_at="2026-13-01T00:00:00Z"))).encode(),
            "$.alerts[0].startsAt",
            "month",
        ),
        (BODY.replace(b'"version": "4"', b'"version": "3", "version": "4"'), "$", "names the key 'version' more"),
    ],
)
async def test_bad_input_is_400_saying_what_is_wrong(client: Any, body: bytes, path: str | None, fragment: str) -> None:
    response = await post(client, body)
    assert response.status == 400
    answer = await response.json()
    assert fragment in answer["detail"]
    assert answer.get("path") == path


async def test_a_body_over_the_limit_is_413_declared_or_streamed(
    make_policy: Callable[..., Policy], aiohttp_client: Callable[..., Awaitable[Any]]
) -> None:
    client = await aiohttp_client(
        create_app(build_responder(make_policy({"server.max_body_bytes": 4096}), console=io.StringIO()))
    )
    big = json.dumps(alert_payload(*(cost_alert(fingerprint=f"f{i}") for i in range(20)))).encode()
    declared = await post(client, big)

    async def stream() -> Any:
        yield big  # chunked: no Content-Length to check up front

    streamed = await client.post("/webhook", data=stream(), headers=JSON)
    assert (declared.status, streamed.status) == (413, 413)


async def test_over_the_backlog_bound_is_503_so_alertmanager_retries(
    make_policy: Callable[..., Policy], aiohttp_client: Callable[..., Awaitable[Any]]
) -> None:
    """The first notification's stop is unfinished work that nothing runs: over a bound of 1."""
    responder = build_responder(make_policy({"server.max_backlog": 1}), console=io.StringIO())
    client = await aiohttp_client(create_app(responder))
    await responder.engine.stop()  # nothing drains the backlog
    statuses = [(await post(client)).status for _ in range(2)]
    assert statuses == [200, 503]


async def test_secrets_never_appear_in_logs_errors_audit_or_metrics(
    service: tuple[Responder, Any], caplog: pytest.LogCaptureFixture
) -> None:
    _, client = service
    caplog.set_level(logging.DEBUG)
    texts = [await (await post(client, headers={"Authorization": f"Bearer {TOKEN}x"})).text()]
    texts.append(await (await post(client)).text())
    texts.append(await (await client.get("/api/v1/alerts", headers=AUTH)).text())
    texts.append(await (await client.get("/metrics")).text())
    texts.append(await (await client.get("/readyz")).text())
    texts.append(caplog.text)
    assert not [t for t in texts if TOKEN in t]


async def test_metrics_count_each_outcome(client: Any) -> None:
    await post(client)
    await post(client, headers={"Content-Type": "application/json"})
    await post(client, b"{")
    text = await (await client.get("/metrics")).text()
    for outcome in ("accepted", "unauthorized", "invalid"):
        assert f'responder_notifications_total{{outcome="{outcome}"}} 1.0' in text
    assert 'responder_notifications_total{outcome="overloaded"} 0.0' in text


async def test_health_and_readiness(service: tuple[Responder, Any]) -> None:
    responder, client = service
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 200
    await responder.journal.close()
    assert (await client.get("/readyz")).status == 503


@pytest.mark.parametrize("credentials", [b"Bearer \xff\xfe", b"Basic \xc3\xa9", b"Basic \xff"])
async def test_credentials_that_are_not_ascii_are_401_not_500(
    make_policy: Callable[..., Policy], aiohttp_client: Callable[..., Awaitable[Any]], credentials: bytes
) -> None:
    policy = make_policy(
        {"auth": {"bearer_token": TOKEN, "basic": {"username": "am", "password": "correct-horse-battery"}}}
    )
    client = await aiohttp_client(create_app(build_responder(policy, console=io.StringIO())))
    reader, writer = await asyncio.open_connection("127.0.0.1", client.port)
    writer.write(
        b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: "
        + credentials
        + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=10)
    writer.close()
    assert status_line.split()[1] == b"401", status_line
