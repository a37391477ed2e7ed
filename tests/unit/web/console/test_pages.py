"""The console's pages over a real journal: what they show, that alert content is text, and the
actions they take as the logged-in person."""

import asyncio
from typing import Any

import markupsafe

from responder.journal import Listing
from responder.service import Responder
from tests.conftest import alert_payload, cost_alert
from tests.unit.web.conftest import AUTH
from tests.unit.web.console.conftest import csrf_of
from tests.unit.web.console.hostile import HOSTILE

FINGERPRINT = "4f1c2a9e8d7b6c5a"


async def _fire(client: Any, **overrides: Any) -> None:
    answer = await client.post("/webhook", json=alert_payload(cost_alert(**overrides)), headers=AUTH)
    assert answer.status == 200


def _hostile_alert() -> dict[str, Any]:
    alert = cost_alert(fingerprint="h0571le", runbook_url="javascript:alert(5)", summary=HOSTILE[0])
    alert["labels"].update({f"evil{i}": value for i, value in enumerate(HOSTILE)})
    return alert


async def test_now_lists_the_firing_alert_with_its_action_targets_and_acknowledge(service: Any, logged_in: Any) -> None:
    await _fire(logged_in)
    page = await (await logged_in.get("/console/")).text()
    assert "CostBudgetExceeded" in page and "CRITICAL" in page and "EMERGENCY_STOP" in page
    assert "autogen-council/o3-audit-proxy" in page
    assert 'action="/console/ack"' in page


async def test_filters_and_search_narrow_the_list(logged_in: Any) -> None:
    await _fire(logged_in)
    assert "CostBudgetExceeded" in await (await logged_in.get("/console/?team=builder-sre&q=cost")).text()
    for miss in ("?severity=warning", "?team=other", "?q=nothing-like-it", "?status=resolved"):
        assert "CostBudgetExceeded" not in await (await logged_in.get(f"/console/{miss}")).text(), miss


async def test_every_hostile_label_is_shown_as_text_on_every_page(logged_in: Any) -> None:
    answer = await logged_in.post("/webhook", json=alert_payload(_hostile_alert()), headers=AUTH)
    assert answer.status == 200
    for path in ("/console/", "/console/alerts/h0571le"):
        page = await (await logged_in.get(path)).text()
        for value in HOSTILE:
            assert value not in page or not any(c in value for c in "<>\"'&"), (path, value)
            assert str(markupsafe.escape(value)) in page, (path, value)
        assert 'href="javascript:' not in page


async def test_acknowledging_from_the_console_records_the_logged_in_person(service: Any, logged_in: Any) -> None:
    responder: Responder = service[0]
    await _fire(logged_in)
    token = await csrf_of(logged_in)
    data = {"csrf": token, "fingerprint": FINGERPRINT, "starts_at": "2026-11-23T13:00:00.123456Z"}  # as journaled
    answer = await logged_in.post("/console/ack", data=data)
    assert answer.status == 200 and str(answer.url.path) == f"/console/alerts/{FINGERPRINT}"
    [listed] = await responder.journal.listing(Listing(fingerprint=FINGERPRINT))
    assert listed["acknowledged"]["actor"] == "console:alice"
    assert "by console:alice via console" in await answer.text()
    assert "console:alice via console" in await (await logged_in.get("/console/")).text()
    log = await (await logged_in.get("/console/operations")).text()
    assert "console:alice" in log and "acknowledge via console" in log and "CostBudgetExceeded" in log


async def test_the_live_region_alone_is_sent_to_the_consoles_script(logged_in: Any) -> None:
    await _fire(logged_in)
    live = await (await logged_in.get("/console/", headers={"X-Console-Live": "1"})).text()
    assert 'id="live-region"' in live and "CostBudgetExceeded" in live and "<html" not in live
    holds = await (await logged_in.get("/console/holds", headers={"X-Console-Live": "1"})).text()
    assert 'id="live-region"' in holds and "<html" not in holds


async def test_the_timeline_shows_the_decision_and_every_step_with_its_attempts(logged_in: Any) -> None:
    await _fire(logged_in)
    for _ in range(50):  # the engine runs the planned step in plan mode
        page = await (await logged_in.get(f"/console/alerts/{FINGERPRINT}")).text()
        if "attempt-succeeded" in page:
            break
        await asyncio.sleep(0.05)
    assert "Daily cost budget exceeded" in page and "decision" in page
    assert "EMERGENCY_STOP" in page and "attempt-succeeded" in page
    assert 'href="https://runbooks.example.com/' in page


async def test_health_says_the_policy_in_words(logged_in: Any) -> None:
    page = await (await logged_in.get("/console/health")).text()
    assert "ready" in page and "Circuit breaker" in page and "Delivery failures" in page


async def test_a_confirmation_names_what_it_would_lift_or_says_nothing_is_held(logged_in: Any) -> None:
    page = await (await logged_in.get("/console/holds/confirm?undo=restore&namespace=shop&deployment=x")).text()
    assert "shop/x is not stopped now" in page
    assert (await logged_in.get("/console/holds/confirm?undo=delete&namespace=a&deployment=b")).status == 400


async def test_an_alert_without_summary_description_or_links_still_has_its_page(logged_in: Any) -> None:
    bare = cost_alert(fingerprint="b4re")
    for key in ("summary", "description", "runbook_url"):
        del bare["annotations"][key]
    assert (await logged_in.post("/webhook", json=alert_payload(bare), headers=AUTH)).status == 200
    page = await logged_in.get("/console/alerts/b4re")
    assert page.status == 200 and "CostBudgetExceeded" in await page.text()


async def test_an_unfreeze_from_the_console_is_an_operation_of_the_logged_in_person(
    service: Any, logged_in: Any
) -> None:
    responder: Responder = service[0]
    token = await csrf_of(logged_in)
    form = {"csrf": token, "namespace": "autogen-council", "deployment": "o3-audit-proxy"}
    answer = await logged_in.post("/console/unfreeze", data=form)
    assert answer.status == 200 and answer.url.path == "/console/operations"
    [operation] = await responder.journal.operations(5)
    assert (operation["actor"], operation["op"]) == ("console:alice", "UNFREEZE")
    assert "console:alice" in await answer.text() and "unfreeze" in await answer.text()
    missing = await logged_in.post("/console/restore", data={"csrf": token, "namespace": "shop"})
    assert missing.status == 400 and "deployment" in await missing.text()
