"""The console in a real browser: a person logs in, sees an alert Alertmanager posted appear
without reloading, reads its timeline, acknowledges it, restores the deployment its emergency
stop scaled to zero, and logs out; a forged form and hostile labels get nowhere."""

import asyncio
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from responder.journal import Listing
from tests.browser.conftest import LIVE_SECONDS, Console, log_in, screenshots, script_errors
from tests.conftest import TOKEN, cost_alert
from tests.unit.web.console.hostile import HOSTILE

if TYPE_CHECKING:  # imported by the fixtures only when installed: without it, these tests skip
    from playwright.async_api import BrowserContext, Page

FINGERPRINT = "4f1c2a9e8d7b6c5a"
TARGET = ("autogen-council", "o3-audit-proxy")


async def _until(check: Any, seconds: float = 5.0) -> None:
    """Wait for the journal or the fake to reach a state the engine reaches on its own."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "the state was not reached in time"
        await asyncio.sleep(0.05)


async def _stopped(console: Console) -> None:
    """The alert fired and its emergency stop held the deployment at zero."""
    await console.fire(cost_alert())

    async def held() -> bool:
        return bool(await console.responder.journal.holds("stopped"))

    await _until(held)


async def _no_reload_since(page: "Page") -> bool:
    return bool(await page.evaluate("window.__sameDocument === true"))


async def test_an_alert_appears_live_is_acknowledged_from_its_timeline_and_leaves_live_when_resolved(
    console: Console, browser: "BrowserContext"
) -> None:
    page = await browser.new_page()
    errors = script_errors(page)
    await page.goto(console.url)
    await screenshots(page, "login")
    await log_in(page, console.url)
    assert "No firing alerts match" in await page.inner_text("#live")
    await page.evaluate("window.__sameDocument = true")

    await console.fire(cost_alert())
    row = page.locator("a.row-link", has_text="CostBudgetExceeded")
    await row.wait_for(timeout=LIVE_SECONDS * 1000 + 500)  # one poll, plus rendering
    assert await _no_reload_since(page)
    assert "CRITICAL" in await page.inner_text("#live")  # the word, not only the colour
    await _until(lambda: _has_text(page, "EMERGENCY_STOP succeeded: autogen-council/o3-audit-proxy 3 → 0"))
    await screenshots(page, "now")

    await page.keyboard.press("j")  # keyboard: the first alert, then open it
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/console/alerts/{FINGERPRINT}**")
    assert "Daily cost budget exceeded" in await page.inner_text("main")
    assert await page.locator(".attempt-succeeded").count() >= 1
    runbook = page.locator('.links a[href^="https://runbooks.example.com/"]')
    assert await runbook.count() == 1
    await screenshots(page, "alert")

    await page.click("text=Acknowledge this alert")
    await page.wait_for_selector("text=by console:alice via console")
    [listed] = await console.responder.journal.listing(Listing(fingerprint=FINGERPRINT))
    assert listed["acknowledged"]["actor"] == "console:alice"

    await page.click("nav >> text=Now")
    await page.evaluate("window.__sameDocument = true")
    await console.fire(cost_alert(status="resolved"))
    await page.wait_for_selector("text=No firing alerts match", timeout=LIVE_SECONDS * 1000 + 500)
    assert await _no_reload_since(page)
    assert errors == []


async def _has_text(page: "Page", text: str) -> bool:
    return text in await page.inner_text("main")


async def test_a_stopped_deployment_is_restored_after_a_confirmation_naming_its_replicas(
    console: Console, browser: "BrowserContext"
) -> None:
    await _stopped(console)
    fake = console.cluster.fake
    assert fake.deployment(*TARGET)["spec"]["replicas"] == 0
    page = await browser.new_page()
    await log_in(page, console.url)
    await page.goto(f"{console.url}/console/holds")
    assert "autogen-council/o3-audit-proxy" in await page.inner_text("#live")
    assert "recorded replicas: 3" in await page.inner_text("#live")
    assert "may proceed" in await page.inner_text("#live")  # the deploy gate's answer: stopped, not frozen
    await screenshots(page, "holds")

    await page.click("text=Restore")
    question = await page.inner_text("main")
    assert "autogen-council/o3-audit-proxy" in question and "3 replicas" in question
    await screenshots(page, "confirm")
    writes_before = len(fake.writes)
    await page.click("button.danger")
    await page.wait_for_url("**/console/operations")
    assert "console:alice" in await page.inner_text("main") and "restored" in await page.inner_text("main")
    await screenshots(page, "operations")
    await page.click("text=Health")
    assert "ready" in await page.inner_text("main") and "EMERGENCY_STOP (LIVE" in await page.inner_text("main")
    await screenshots(page, "health")

    [operation] = await console.responder.journal.operations(10)
    assert (operation["actor"], operation["op"], operation["ok"]) == ("console:alice", "RESTORE", True)
    assert await console.responder.journal.holds("stopped") == []
    assert fake.deployment(*TARGET)["spec"]["replicas"] == 3
    assert any(w[0] == "deployments/scale" and w[3]["spec"]["replicas"] == 3 for w in fake.writes[writes_before:]), (
        fake.writes[writes_before:]
    )


async def test_holds_show_within_two_seconds_that_a_hold_was_lifted_elsewhere(
    console: Console, browser: "BrowserContext"
) -> None:
    await _stopped(console)
    page = await browser.new_page()
    errors = script_errors(page)
    await log_in(page, console.url)
    await page.goto(f"{console.url}/console/holds")
    await page.evaluate("window.__sameDocument = true")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = {"namespace": TARGET[0], "deployment": TARGET[1], "actor": "cli:bob"}
    async with console.http.post(f"{console.url}/api/v1/restore", json=body, headers=auth) as answer:
        assert answer.status == 200, await answer.text()
    await page.wait_for_selector("text=Nothing is stopped or frozen", timeout=LIVE_SECONDS * 1000 + 500)
    assert await _no_reload_since(page)
    assert errors == []


async def _evil_site(target: str) -> tuple[web.AppRunner, str]:
    """Another origin (another port of 127.0.0.1: the same site, so SameSite lets the cookie go)
    with a form that posts an acknowledgement to the console."""
    form = (
        f'<form method="post" action="{target}/console/ack">'
        f'<input name="csrf" value="guessed"><input name="fingerprint" value="{FINGERPRINT}">'
        '<button id="go">win a prize</button></form>'
    )

    async def page(_: web.Request) -> web.Response:
        return web.Response(text=form, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/"


async def test_a_form_without_its_token_or_from_another_origin_is_refused(
    console: Console, browser: "BrowserContext"
) -> None:
    await console.fire(cost_alert())
    page = await browser.new_page()
    await log_in(page, console.url)
    status = await page.evaluate(
        """async (fp) => (await fetch('/console/ack', {method: 'POST',
             headers: {'Content-Type': 'application/x-www-form-urlencoded'},
             body: 'fingerprint=' + fp})).status""",
        FINGERPRINT,
    )
    assert status == 403  # the session's cookie went with it; its CSRF token did not
    runner, evil = await _evil_site(console.url)
    try:
        await page.goto(evil)
        async with page.expect_response(f"{console.url}/console/ack") as answer:
            await page.click("#go")
        assert (await answer.value).status == 403
        assert "refused: the request came from a same-site page" in await page.inner_text("body")
    finally:
        await runner.cleanup()
    [listed] = await console.responder.journal.listing(Listing(fingerprint=FINGERPRINT))
    assert listed["acknowledged"] is None


async def test_logout_ends_the_session(console: Console, browser: "BrowserContext") -> None:
    page = await browser.new_page()
    await log_in(page, console.url)
    await page.click("text=Log out")
    await page.wait_for_url("**/console/login")
    await page.goto(f"{console.url}/console/holds")
    assert "/console/login" in page.url
    assert await page.locator("#secret").count() == 1


async def test_hostile_labels_render_as_text_and_run_nothing(console: Console, browser: "BrowserContext") -> None:
    alert = cost_alert(fingerprint="h0571le", summary=HOSTILE[1], runbook_url="javascript:alert(9)")
    alert["labels"].update({f"evil{i}": value for i, value in enumerate(HOSTILE)})
    await console.fire(alert)
    page = await browser.new_page()
    errors = script_errors(page)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await log_in(page, console.url)
    for path in ("/console/", "/console/alerts/h0571le"):
        await page.goto(f"{console.url}{path}")
        text = await page.inner_text("main")
        for value in HOSTILE:
            assert value.strip() in text, (path, value)
        assert await page.locator("main img, main svg, main iframe, main script, main h1 >> text=forged").count() == 0
        assert await page.locator('a[href^="javascript:"]').count() == 0
    await screenshots(page, "hostile")
    assert dialogs == [] and errors == []
