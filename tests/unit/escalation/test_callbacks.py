"""Acknowledge from the API, the CLI, Slack and PagerDuty; Restore and Unfreeze from Slack;
and every callback refused, with a reason, when its signature is missing, wrong or stale."""

import asyncio
import itertools
import json
import socket
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from responder import cli
from responder.web.app import create_app
from tests.conftest import TOKEN, cost_alert
from tests.unit.escalation.conftest import Fakes, Harness, critical, pagerduty_signed, slack_signed

FP = "4f1c2a9e8d7b6c5a"
LATER = "2026-11-23T14:00:00Z"  # a new instance of FP
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Client = Any


async def _serve(harness: Harness, aiohttp_client: Callable[..., Awaitable[Client]]) -> Client:
    return await aiohttp_client(create_app(harness.responder, lifecycle=False))  # the harness drives the engine


_TRIGGERS = itertools.count(1)


def _button(action_id: str, user: str = "UALLOWED", value: str = FP) -> bytes:
    """One click: Slack gives each its own trigger_id."""
    payload = {
        "type": "block_actions",
        "trigger_id": f"{next(_TRIGGERS)}.1234.abcdef",
        "user": {"id": user},
        "channel": {"id": "CINCIDENTS"},
        "actions": [{"action_id": action_id, "value": value, "block_id": "alert_actions"}],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


async def _press(client: Client, body: bytes) -> Any:
    return await client.post("/slack/actions", data=body, headers=slack_signed(body, int(time.time())))


@pytest.fixture
async def firing(fakes: Fakes, start: Callable[..., Awaitable[Harness]]) -> Harness:
    harness = await start(fakes.policy())
    await harness.deliver(critical())
    await harness.later(10)
    return harness


async def test_the_ack_api_stops_the_ladder_and_records_the_actor(
    firing: Harness, fakes: Fakes, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    client = await _serve(firing, aiohttp_client)
    response = await client.post(f"/api/v1/alerts/{FP}/ack", json={"actor": "alice"}, headers=AUTH)
    assert response.status == 200
    assert (await response.json())["ladder_cancelled"] == ["sms (rung 1)"]
    again = await client.post(f"/api/v1/alerts/{FP}/ack", headers=AUTH)
    assert (await again.json())["already_acknowledged_by"] == "alice"
    await firing.later(3600)
    assert not fakes.twilio.messages
    [ack] = [e for e in await firing.events() if e["kind"] == "acknowledged"]
    assert ack["detail"] == {"actor": "alice", "via": "api", "ladder_cancelled": ["sms (rung 1)"]}


async def test_the_ack_api_needs_the_token_and_a_firing_alert(
    firing: Harness, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    client = await _serve(firing, aiohttp_client)
    assert (await client.post(f"/api/v1/alerts/{FP}/ack")).status == 401
    missing = await client.post("/api/v1/alerts/0000000000000000/ack", headers=AUTH)
    assert missing.status == 404 and "no firing alert" in (await missing.json())["detail"]


async def test_the_cli_acknowledges_on_a_running_responder(
    firing: Harness,
    aiohttp_client: Callable[..., Awaitable[Client]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = await _serve(firing, aiohttp_client)
    token = tmp_path / "token"  # the token the CLI sends
    token.write_text(TOKEN)
    url = str(client.make_url("")).rstrip("/")
    argv = ["ack", FP, "--url", url, "--actor", "bob", "--token-file", str(token)]
    assert await asyncio.to_thread(cli.main, argv) == 0
    assert "acknowledged 4f1c2a9e8d7b6c5a as bob; ladder stopped: sms (rung 1)" in capsys.readouterr().out


async def test_the_slack_acknowledge_button_stops_the_ladder_and_edits_the_message(
    firing: Harness, fakes: Fakes, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    client = await _serve(firing, aiohttp_client)
    response = await _press(client, _button("ack", user="UANYONE"))
    assert response.status == 200
    await firing.later(3600)
    assert not fakes.twilio.messages
    [parent] = fakes.slack.parents()
    assert "Acknowledged by slack:UANYONE via slack" in json.dumps(parent.blocks)
    assert any("Acknowledged by <@UANYONE> via slack" in m.text for m in fakes.slack.thread(parent.ts))


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing X-Slack-Request-Timestamp"),
        ({"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=00"}, "more than 5 minutes"),
        ({"X-Slack-Signature": "v0=" + "0" * 64}, "signature does not match"),
    ],
    ids=["missing", "stale", "bad"],
)
async def test_a_slack_request_without_a_good_fresh_signature_is_401_with_the_reason(
    firing: Harness, aiohttp_client: Callable[..., Awaitable[Client]], headers: dict[str, str], reason: str
) -> None:
    client = await _serve(firing, aiohttp_client)
    body = _button("ack")
    if "X-Slack-Signature" in headers and "X-Slack-Request-Timestamp" not in headers:
        headers = {**headers, "X-Slack-Request-Timestamp": str(int(time.time()))}
    response = await client.post("/slack/actions", data=body, headers=headers)
    assert response.status == 401
    assert reason in (await response.json())["detail"]
    assert not [e for e in await firing.events() if e["kind"] == "acknowledged"]


async def test_restore_from_slack_runs_the_operator_for_an_allowed_user_and_records_who(
    fakes: Fakes, start: Callable[..., Awaitable[Harness]], aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    harness = await start(fakes.policy())
    await harness.deliver(cost_alert())
    client = await _serve(harness, aiohttp_client)
    response = await _press(client, _button("restore"))
    assert "plan mode: would scale deployment o3-audit-proxy" in (await response.json())["text"]
    [done] = [e for e in await harness.events() if e["kind"] == "operator_action"]
    assert done["detail"]["actor"] == "slack:UALLOWED" and done["detail"]["ok"] is True
    assert done["detail"]["target"] == {"namespace": "autogen-council", "deployment": "o3-audit-proxy"}
    await harness.later(10)
    [parent] = fakes.slack.parents()
    assert any("<@UALLOWED> pressed Restore" in m.text for m in fakes.slack.thread(parent.ts))


async def test_a_signed_slack_request_sent_again_does_nothing_the_second_time(
    fakes: Fakes, start: Callable[..., Awaitable[Harness]], aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    """Within the signature's five minutes a captured Restore could be replayed after a new stop."""
    harness = await start(fakes.policy())
    await harness.deliver(cost_alert())
    client = await _serve(harness, aiohttp_client)
    click = _button("restore")
    assert "would scale" in (await (await _press(client, click)).json())["text"]
    again = await _press(client, click)
    assert again.status == 200 and "Already handled" in (await again.json())["text"]
    assert len([e for e in await harness.events() if e["kind"] == "operator_action"]) == 1
    missing = urllib.parse.urlencode(
        {"payload": json.dumps({**json.loads(urllib.parse.parse_qs(click.decode())["payload"][0]), "trigger_id": ""})}
    ).encode()
    refused = await _press(client, missing)
    assert refused.status == 400 and "trigger_id" in (await refused.json())["detail"]


async def test_restore_from_slack_is_allowed_to_members_of_an_allowed_group(
    fakes: Fakes, start: Callable[..., Awaitable[Harness]], aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    fakes.slack.groups["SONCALL"] = ["UONCALL"]
    harness = await start(fakes.policy())
    await harness.deliver(cost_alert())
    client = await _serve(harness, aiohttp_client)
    await _press(client, _button("restore", user="UONCALL"))
    assert [e["detail"]["actor"] for e in await harness.events() if e["kind"] == "operator_action"] == ["slack:UONCALL"]


async def test_restore_from_slack_is_refused_to_anyone_else_and_the_attempt_recorded(
    fakes: Fakes, start: Callable[..., Awaitable[Harness]], aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    harness = await start(fakes.policy())
    await harness.deliver(cost_alert(action="FREEZE_DEPLOYMENTS"))
    client = await _serve(harness, aiohttp_client)
    response = await _press(client, _button("unfreeze", user="UINTRUDER"))
    assert "not allowed to unfreeze" in (await response.json())["text"]
    kinds = [e["kind"] for e in await harness.events()]
    assert "operator_action" not in kinds and "operator_action_refused" in kinds
    assert fakes.slack.ephemeral[-1]["user"] == "UINTRUDER"


def _incident_acknowledged(title: str, event_id: str = "01ABC") -> bytes:
    event = {
        "id": event_id,
        "event_type": "incident.acknowledged",
        "resource_type": "incident",
        "occurred_at": "2026-11-23T13:05:00Z",
        "agent": {"id": "PUSER1", "summary": "Dana On-Call", "type": "user_reference"},
        "data": {"id": "PINC1", "type": "incident", "title": title, "status": "acknowledged"},
    }
    return json.dumps({"event": event}).encode()


async def test_acknowledging_in_pagerduty_stops_the_ladder(
    firing: Harness, fakes: Fakes, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    client = await _serve(firing, aiohttp_client)
    body = _incident_acknowledged(fakes.pagerduty.events[0]["payload"]["summary"])
    response = await client.post("/pagerduty/webhook", data=body, headers=pagerduty_signed(body))
    assert (await response.json())["status"] == "acknowledged"
    await firing.later(3600)
    assert not fakes.twilio.messages
    assert [e["event_action"] for e in fakes.pagerduty.events] == ["trigger"], "PagerDuty already knows"
    [ack] = [e for e in await firing.events() if e["kind"] == "acknowledged"]
    assert ack["detail"]["actor"] == "pagerduty:Dana On-Call"


async def test_acknowledging_a_resolved_instances_incident_leaves_the_new_instance_firing(
    firing: Harness, fakes: Fakes, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    client = await _serve(firing, aiohttp_client)
    old_incident = fakes.pagerduty.events[0]["payload"]["summary"]
    await firing.deliver(critical() | {"status": "resolved"}, status="resolved")
    await firing.deliver(critical(starts_at=LATER))
    await firing.later(10)
    body = _incident_acknowledged(old_incident)
    response = await client.post("/pagerduty/webhook", data=body, headers=pagerduty_signed(body))
    assert (response.status, await response.json()) == (200, {"status": "ignored", "detail": "already resolved"})
    old, new = await firing.responder.journal.timeline(FP)
    assert (old["status"], new["status"]) == ("resolved", "firing")
    assert [s["status"] for s in new["steps"] if s["name"] == "sms"] == ["pending"]
    assert "acknowledged" not in [e["kind"] for e in old["events"] + new["events"]]
    assert _acknowledgements_observed(await (await client.get("/metrics")).text()) == 0
    await firing.later(3600)
    assert fakes.twilio.messages, "the new instance's SMS rung went out"


async def test_the_same_pagerduty_event_delivered_again_is_200_and_changes_nothing(
    firing: Harness, fakes: Fakes, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    client = await _serve(firing, aiohttp_client)
    body = _incident_acknowledged(fakes.pagerduty.events[0]["payload"]["summary"])
    first = await client.post("/pagerduty/webhook", data=body, headers=pagerduty_signed(body))
    assert (await first.json())["status"] == "acknowledged"
    await firing.later(10)
    before = await firing.responder.journal.timeline(FP)
    again = await client.post("/pagerduty/webhook", data=body, headers=pagerduty_signed(body))
    assert again.status == 200
    replayed = {"status": "ignored", "detail": "already processed: this event id was delivered before"}
    assert await again.json() == replayed
    await firing.later(10)
    assert await firing.responder.journal.timeline(FP) == before
    assert _acknowledgements_observed(await (await client.get("/metrics")).text()) == 1


async def test_an_old_messages_acknowledge_button_leaves_a_newer_instance_firing(
    firing: Harness, fakes: Fakes, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    """A Slack button names its instance (fingerprint@startsAt), as PagerDuty's dedup key does."""
    client = await _serve(firing, aiohttp_client)
    [old_message] = fakes.slack.parents()
    [value] = [
        element["value"]
        for block in old_message.blocks
        for element in block.get("elements", [])
        if element.get("action_id") == "ack"
    ]
    assert value.startswith(f"{FP}@2026-11-23T13:00:00"), value
    await firing.deliver(critical() | {"status": "resolved"}, status="resolved")
    await firing.deliver(critical(starts_at=LATER))
    await firing.later(10)
    answer = await _press(client, _button("ack", value=value))
    assert (await answer.json())["text"] == "Already acknowledged, or no longer firing."
    old, new = await firing.responder.journal.timeline(FP)
    assert (old["status"], new["status"]) == ("resolved", "firing")
    assert [s["status"] for s in new["steps"] if s["name"] == "sms"] == ["pending"]
    assert "acknowledged" not in [e["kind"] for e in old["events"] + new["events"]]
    newer = await _press(client, _button("ack", value=f"{FP}@{new['starts_at']}"))
    assert (await newer.json())["text"] == "Acknowledged."


def _acknowledgements_observed(metrics: str) -> float:
    [count] = [
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith('responder_acknowledgement_seconds_count{via="pagerduty"}')
    ]
    return count


async def test_a_pagerduty_webhook_with_a_wrong_signature_is_401(
    firing: Harness, fakes: Fakes, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    client = await _serve(firing, aiohttp_client)
    body = _incident_acknowledged(fakes.pagerduty.events[0]["payload"]["summary"])
    response = await client.post("/pagerduty/webhook", data=body, headers=pagerduty_signed(body, "another-secret"))
    assert response.status == 401 and "no signature matches" in (await response.json())["detail"]
    missing = await client.post("/pagerduty/webhook", data=body)
    assert missing.status == 401 and "missing X-PagerDuty-Signature" in (await missing.json())["detail"]


DEEP = "[" * 1000 + "]" * 1000


@pytest.mark.parametrize(
    "form",
    [
        urllib.parse.urlencode({"payload": DEEP}).encode(),
        urllib.parse.urlencode({"payload": '{"user": "UALLOWED", "actions": "ack"}'}).encode(),
        urllib.parse.urlencode({"payload": '{"user": '}).encode(),
        b"payload=%7B%22user%22%3A%20%22%FF%22%7D",  # the JSON is not UTF-8
        b"payload=\xff",  # the form is not UTF-8
    ],
    ids=["1,000 levels", "a shape we do not read", "not JSON", "JSON not UTF-8", "form not UTF-8"],
)
async def test_a_signed_slack_body_we_cannot_read_is_400_saying_what_to_send(
    firing: Harness, aiohttp_client: Callable[..., Awaitable[Client]], form: bytes
) -> None:
    client = await _serve(firing, aiohttp_client)
    response = await _press(client, form)
    assert response.status == 400
    assert "block_actions payload" in (await response.json())["detail"]


async def test_a_slack_payload_whose_channel_is_not_an_object_still_acknowledges(
    firing: Harness, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    client = await _serve(firing, aiohttp_client)
    payload = {
        "user": {"id": "UALLOWED"},
        "channel": "CINCIDENTS",
        "trigger_id": "1.2.3",
        "actions": [{"action_id": "ack", "value": FP}],
    }
    response = await _press(client, urllib.parse.urlencode({"payload": json.dumps(payload)}).encode())
    assert response.status == 200
    assert [e for e in await firing.events() if e["kind"] == "acknowledged"]


@pytest.mark.parametrize(
    "body",
    [
        DEEP.encode(),
        b'{"event": ' * 1000 + b"1" + b"}" * 1000,
        b'{"event": []}',
        b'{"event": {"event_type": "incident.acknowledged", "data": []}}',
        b'{"event": {"event_type": "incident.acknowledged", "data": {}}}',
        b'{"event": {"id": 7, "event_type": "incident.acknowledged", "data": {}}}',
        b'{"event": "\xff"}',
    ],
    ids=[
        "1,000 levels of lists",
        "1,000 levels of objects",
        "event a list",
        "data a list",
        "no event id",
        "event id a number",
        "not UTF-8",
    ],
)
async def test_a_signed_pagerduty_body_we_cannot_read_is_400_saying_what_to_send(
    firing: Harness, aiohttp_client: Callable[..., Awaitable[Client]], body: bytes
) -> None:
    client = await _serve(firing, aiohttp_client)
    response = await client.post("/pagerduty/webhook", data=body, headers=pagerduty_signed(body))
    answer = await response.json()
    assert response.status == 400 and "v3 webhook payload" in answer["detail"]


async def test_a_pagerduty_agent_that_is_not_an_object_still_acknowledges(
    firing: Harness, fakes: Fakes, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    client = await _serve(firing, aiohttp_client)
    document = json.loads(_incident_acknowledged(fakes.pagerduty.events[0]["payload"]["summary"]))
    document["event"]["agent"] = "Dana"
    body = json.dumps(document).encode()
    response = await client.post("/pagerduty/webhook", data=body, headers=pagerduty_signed(body))
    assert (response.status, (await response.json())["status"]) == (200, "acknowledged")


def _closed_port() -> str:
    """The URL of a port on this machine where nothing listens: Slack, unreachable."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"


async def test_an_action_recorded_is_answered_200_when_slack_cannot_be_reached(
    fakes: Fakes, start: Callable[..., Awaitable[Harness]], aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    changes = fakes.policy()
    changes["escalation.slack"] = {**changes["escalation.slack"], "base_url": _closed_port()}
    harness = await start(changes)
    await harness.deliver(critical())
    client = await _serve(harness, aiohttp_client)
    acked = await _press(client, _button("ack", user="UANYONE"))  # its ephemeral reply cannot be sent
    assert acked.status == 200 and (await acked.json())["text"] == "Acknowledged."
    assert [e["kind"] for e in await harness.events()].count("acknowledged") == 1
    refused = await _press(client, _button("restore", user="UNOTLISTED"))  # its user-group lookup fails
    assert refused.status == 200 and "not allowed to restore" in (await refused.json())["text"]
    assert "operator_action_refused" in [e["kind"] for e in await harness.events()]


async def test_a_name_given_with_an_acknowledgement_cannot_ping_or_link_in_slack(
    firing: Harness, fakes: Fakes, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    client = await _serve(firing, aiohttp_client)
    hostile = "<!channel> <https://evil.example|runbook>"
    assert (await client.post(f"/api/v1/alerts/{FP}/ack", json={"actor": hostile}, headers=AUTH)).status == 200
    await firing.later(1)
    edited = json.dumps(fakes.slack.updates[-1]["blocks"])
    assert "<!channel>" not in edited and "&lt;!channel&gt;" in edited
    assert "<https://evil.example" not in edited
