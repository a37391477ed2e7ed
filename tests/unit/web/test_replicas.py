"""Several replicas on a real PostgreSQL server, as operators see them: /readyz fails with the
reason while the database is unreachable (and repeats a server's durability warning while
ready), the webhook answers 503 with Retry-After and never 200 for what was not committed, work
resumes once the server is back, and /api/v1/leases shows which replica holds which step."""

import asyncio
import io
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from responder.journal.postgres import PostgresJournal
from responder.policy import load_policy
from responder.service import build_responder
from responder.vocabulary import StepKind
from responder.web.app import create_app
from responder.web.replicas import ONE_PROCESS
from tests.conftest import alert_payload, cost_alert, started, write_policy
from tests.postgres import PostgresServer, running_server
from tests.unit.journal.plans import NOW, claim, due, plan
from tests.unit.web.conftest import AUTH
from tests.unit.web.test_readiness import readiness
from tests.unit.web.test_webhook import post

Client = Callable[..., Awaitable[Any]]


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    """A server of this module's own: one test stops and starts it."""
    with running_server() as started_server:
        yield started_server


async def _client(tmp_path: Path, dsn: str, aiohttp_client: Client) -> Any:
    path = write_policy(tmp_path)
    document = yaml.safe_load(path.read_text())
    document["journal"] = {"postgresql": {"dsn": dsn}}
    path.write_text(yaml.safe_dump(document))
    return await aiohttp_client(create_app(build_responder(load_policy(path, env={}), console=io.StringIO())))


def _body(fingerprint: str) -> bytes:
    return json.dumps(alert_payload(cost_alert(fingerprint=fingerprint))).encode()


async def _until(condition: Callable[[], Awaitable[bool]], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        await asyncio.sleep(0.1)


async def test_an_unreachable_database_is_not_ready_503_and_back_by_itself(
    server: PostgresServer, tmp_path: Path, aiohttp_client: Client
) -> None:
    dsn = server.fresh_dsn()
    client = await _client(tmp_path, dsn, aiohttp_client)
    assert (await post(client, _body("before"))).status == 200
    server.stop("immediate")
    try:
        # Nothing posted yet: the engine's own reads find the database gone.
        await _until(lambda: _not_ready(client))
        body = (await readiness(client))[1]
        assert f"PostgreSQL {dsn.rsplit('/', 1)[1]} on 127.0.0.1:{server.port}" in body["journal"]
        assert "check that the server is up and reachable" in body["journal"]
        assert "postgresql://" not in json.dumps(body), "the database by host, port and name only"
        during = await post(client, _body("during"))
        assert during.status == 503 and during.headers["Retry-After"]
        refused = await during.json()
        assert refused["error"] == "journal_unavailable" and "check that the server is up" in refused["detail"]
    finally:
        server.start()
    await _until(lambda: _ready(client))
    assert (await post(client, _body("after"))).status == 200
    listed = await (await client.get("/api/v1/alerts", headers=AUTH)).json()
    assert sorted(a["fingerprint"] for a in listed["alerts"]) == ["after", "before"], "503 stored nothing"


async def _ready(client: Any) -> bool:
    return (await readiness(client))[0] == 200


async def _not_ready(client: Any) -> bool:
    return (await readiness(client))[0] == 503


async def test_leases_show_which_replica_holds_which_step(
    server: PostgresServer, tmp_path: Path, aiohttp_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn = server.fresh_dsn()
    async with started(PostgresJournal(dsn, replica="other")) as other:
        await plan(other, *due(StepKind.ESCALATION, 2))
        held = await claim(other, StepKind.ESCALATION, 2, NOW, 3600)  # due and leased in the future: kept
    monkeypatch.setenv("RESPONDER_REPLICA", "web")
    client = await _client(tmp_path, dsn, aiohttp_client)
    assert (await client.get("/api/v1/leases")).status == 401
    answer = await (await client.get("/api/v1/leases", headers=AUTH)).json()
    assert answer["shared"] is True and answer["replica"] == "web"
    assert [(lease["replica"], lease["step"]) for lease in answer["leases"]] == [("other", s.id) for s in held]
    assert {lease["lease_until"] for lease in answer["leases"]} == {NOW + 3600}


async def test_a_server_without_fsync_is_shown_by_readyz_which_stays_ready(
    tmp_path: Path, aiohttp_client: Client
) -> None:
    with running_server({"fsync": "off"}) as unsafe:
        client = await _client(tmp_path, unsafe.fresh_dsn(), aiohttp_client)
        status, body = await readiness(client)
        await client.close()
    assert status == 200 and body["status"] == "ready"
    assert body["durability"].startswith("the PostgreSQL server runs with fsync = off"), body


async def test_on_sqlite_the_leases_endpoint_says_one_process_runs_every_step(client: Any) -> None:
    answer = await (await client.get("/api/v1/leases", headers=AUTH)).json()
    assert answer == {"shared": False, "detail": ONE_PROCESS}
    assert "durability" not in (await readiness(client))[1]
