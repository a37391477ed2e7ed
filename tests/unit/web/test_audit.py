import asyncio
import json
from typing import Any

import pytest

from responder.service import Responder
from tests.conftest import alert_payload, cost_alert
from tests.unit.web.conftest import AUTH

JSON = {**AUTH, "Content-Type": "application/json"}


async def _settled(responder: Responder, client: Any, fingerprint: str) -> dict[str, Any]:
    for _ in range(100):
        answer = await (await client.get(f"/api/v1/alerts/{fingerprint}", headers=AUTH)).json()
        steps = answer.get("instances", [{}])[0].get("steps", [])
        if steps and all(s["status"] == "succeeded" for s in steps):
            return dict(answer)
        await asyncio.sleep(0.02)
    raise AssertionError(f"steps did not finish: {answer}")


async def test_the_timeline_shows_decision_steps_and_attempts(service: tuple[Responder, Any]) -> None:
    responder, client = service
    await client.post("/webhook", data=json.dumps(alert_payload(cost_alert())), headers=JSON)
    answer = await _settled(responder, client, "4f1c2a9e8d7b6c5a")
    [instance] = answer["instances"]
    assert instance["events"][0]["kind"] == "firing"
    stop = instance["steps"][0]
    assert stop["name"] == "EMERGENCY_STOP"
    assert stop["attempts"][0]["detail"]["would"].startswith("record the current replica count on deployment o3")


async def test_listing_filters_and_needs_auth(service: tuple[Responder, Any]) -> None:
    responder, client = service
    await client.post("/webhook", data=json.dumps(alert_payload(cost_alert())), headers=JSON)
    await _settled(responder, client, "4f1c2a9e8d7b6c5a")
    assert (await client.get("/api/v1/alerts")).status == 401
    firing = await (await client.get("/api/v1/alerts?status=firing&action=EMERGENCY_STOP", headers=AUTH)).json()
    resolved = await (await client.get("/api/v1/alerts?status=resolved", headers=AUTH)).json()
    assert [a["alertname"] for a in firing["alerts"]] == ["CostBudgetExceeded"]
    assert resolved["alerts"] == []
    assert (await client.get("/api/v1/alerts?limit=lots", headers=AUTH)).status == 400


async def test_an_unknown_fingerprint_is_404_with_a_hint(client: Any) -> None:
    response = await client.get("/api/v1/alerts/deadbeef", headers=AUTH)
    assert response.status == 404
    assert "/api/v1/alerts" in (await response.json())["detail"]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("status=bogus", "use one of firing, resolved"),
        ("limit=-1", "from 1 to 1000"),
        ("limit=0", "from 1 to 1000"),
        ("limit=lots", "from 1 to 1000"),
        ("limit=1001", "from 1 to 1000"),
        ("limit=" + "9" * 5000, "from 1 to 1000"),
        ("limit=%D9%A3", "from 1 to 1000"),  # an Arabic-Indic three: a digit, but not ours
        ("stauts=firing", "unknown parameter 'stauts'"),
        ("status=firing&status=resolved", "status is given more than once"),
    ],
)
async def test_a_query_the_listing_cannot_honour_is_400_saying_why(client: Any, query: str, fragment: str) -> None:
    response = await client.get(f"/api/v1/alerts?{query}", headers=AUTH)
    assert response.status == 400
    assert fragment in (await response.json())["detail"]


async def test_a_limit_in_range_is_honoured(client: Any) -> None:
    assert (await client.get("/api/v1/alerts?limit=1000&status=resolved", headers=AUTH)).status == 200
