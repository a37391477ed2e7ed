"""A real headless Chromium (Debian's `chromium`) driven by Playwright, against the responder
served on 127.0.0.1 with a live policy on the Kubernetes fake.

Playwright cannot fetch its own browsers here: it drives /usr/bin/chromium (`executable_path`),
with an empty profile directory per test. Without Chromium, or without Playwright, the tests
skip with the command that installs it; under CI (REQUIRE_REAL_TOOLS=1) they fail instead.
"""

import io
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from responder.policy import load_policy
from responder.service import Responder, build_responder
from responder.web.app import create_app
from responder.web.server import listen
from tests.conftest import REPO, TOKEN, alert_payload, write_policy
from tests.fakes.kube import Cluster, FakeKube, serve

try:
    from playwright.async_api import BrowserContext, Page, ViewportSize, async_playwright

    PLAYWRIGHT = True
except ImportError:  # the dev extra is not installed: every test here skips, or fails under CI
    PLAYWRIGHT = False

KUBE_TOKEN = "kube-token-for-browser-tests"
NAMESPACES = ["autogen-council", "shop"]
SCREENSHOTS = REPO / "var" / "screenshots"
DESKTOP: "ViewportSize" = {"width": 1280, "height": 800}
PHONE: "ViewportSize" = {"width": 390, "height": 844}
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LIVE_SECONDS = 2.0  # what a person waits at most to see a change without reloading


def _missing(message: str) -> None:
    if os.environ.get("REQUIRE_REAL_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        _missing("chromium is not installed; run scripts/test as root, or: apt-get install chromium")
    if not PLAYWRIGHT:
        _missing("playwright is not installed; install the dev extra: pip install -e '.[dev]'")
    assert path is not None
    return path


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    fake = FakeKube(token=KUBE_TOKEN)
    fake.add_deployment("autogen-council", "o3-audit-proxy", replicas=3)
    fake.add_deployment("shop", "checkout", replicas=2)
    with serve(fake) as running:
        yield running


@dataclass
class Console:
    """The responder as a person meets it: its URL, its parts, and a client that posts as Alertmanager."""

    url: str
    responder: Responder
    cluster: Cluster
    http: aiohttp.ClientSession

    async def fire(self, *alerts: dict[str, Any]) -> None:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with self.http.post(f"{self.url}/webhook", json=alert_payload(*alerts), headers=auth) as answer:
            assert answer.status == 200, await answer.text()


@pytest.fixture
async def console(tmp_path: Path, cluster: Cluster) -> AsyncIterator[Console]:
    changes: dict[str, Any] = {"kubernetes": {"host": cluster.url, "token": KUBE_TOKEN, "timeout": "2s"}}
    for action in ("EMERGENCY_STOP", "FREEZE_DEPLOYMENTS", "INVESTIGATE"):
        changes[f"actions.{action}.mode"] = "live"
        changes[f"actions.{action}.allowed_namespaces"] = NAMESPACES
    responder = build_responder(load_policy(write_policy(tmp_path, changes), env={}), console=io.StringIO())
    runner, listener = await listen(create_app(responder), "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as http:
            yield Console(f"http://127.0.0.1:{port}", responder, cluster, http)
    finally:
        listener.close()
        await runner.cleanup()


@pytest.fixture
async def browser(chromium: str, tmp_path: Path) -> AsyncIterator["BrowserContext"]:
    profile = tmp_path / "profile"  # empty: no state from another run
    profile.mkdir()
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile), executable_path=chromium, headless=True, args=FLAGS, viewport=DESKTOP
        )
        context.set_default_timeout(10_000)
        try:
            yield context
        finally:
            await context.close()


def script_errors(page: "Page") -> list[str]:
    """The uncaught errors of the page's script from now on (a broken script stops the live view)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


async def log_in(page: "Page", url: str, user: str = "alice") -> None:
    await page.goto(f"{url}/")
    await page.fill("#user", user)
    await page.fill("#secret", TOKEN)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{url}/console/")


async def screenshots(page: "Page", name: str) -> None:
    """The page at desktop and phone widths, for a reviewer: var/screenshots/<name>-desktop.png, -phone.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)
