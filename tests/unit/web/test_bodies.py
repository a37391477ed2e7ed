"""Every JSON body of the authenticated API goes through one decoder with one error path:
nesting as deep as anyone likes, text that is not UTF-8, a key named twice in one object and
shapes we do not read are each a 400
that says what is wrong and what to send, never a 500. The provider callbacks' bodies are tested
with their signatures in tests/unit/escalation/test_callbacks.py."""

from typing import Any

import pytest

from tests.unit.web.conftest import AUTH

JSON = {**AUTH, "Content-Type": "application/json"}
ROUTES = ["/api/v1/restore", "/api/v1/unfreeze", "/api/v1/alerts/4f1c2a9e8d7b6c5a/ack", "/webhook"]
BODIES = {
    "1,000 levels of lists": b"[" * 1000 + b"]" * 1000,
    "1,000 levels of objects": b'{"actor":' * 1000 + b'"alice"' + b"}" * 1000,
    "5,000 levels": b"[" * 5000 + b"]" * 5000,
    "not UTF-8": b'{"namespace": "shop\xff", "deployment": "web"}',
    "not JSON": b'{"namespace": ',
}


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
async def test_every_json_body_that_cannot_be_read_is_a_400_that_says_what_to_send(
    client: Any, path: str, body: bytes
) -> None:
    response = await client.post(path, data=body, headers=JSON)
    assert response.status == 400, await response.text()
    answer = await response.json()
    assert answer["error"] == "invalid"
    assert "send" in answer["detail"] or "JSON" in answer["detail"]


@pytest.mark.parametrize("path", ROUTES[:3])
async def test_a_key_named_twice_is_a_400_naming_it(client: Any, path: str) -> None:
    body = b'{"namespace": "shop", "deployment": "web", "actor": "alice", "namespace": "prod"}'
    response = await client.post(path, data=body, headers=JSON)
    assert response.status == 400
    assert "names the key 'namespace' more than once" in (await response.json())["detail"]


@pytest.mark.parametrize("body", [b'["alice"]', b'{"actor": ["alice"]}', b'"alice"'])
async def test_an_ack_body_of_another_shape_is_refused_not_ignored(client: Any, body: bytes) -> None:
    response = await client.post("/api/v1/alerts/4f1c2a9e8d7b6c5a/ack", data=body, headers=JSON)
    assert response.status == 400
    assert '{"actor": "alice"}' in (await response.json())["detail"]
