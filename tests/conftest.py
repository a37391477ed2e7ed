"""Shared fixtures: real binaries, found on PATH, and a started journal.

Locally a missing binary skips its tests with the command that installs it; under CI
(REQUIRE_REAL_TOOLS=1, set by scripts/test) a missing binary fails them, so a green run
always means the real tool ran.
"""

import asyncio
import contextlib
import os
import shutil
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from responder.journal import Journal
from responder.journal.sqlite import SqliteJournal
from responder.policy import Policy, load_policy

REPO = Path(__file__).resolve().parents[1]
J = TypeVar("J", bound=Journal)

_DEBIAN_PACKAGE = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "amtool": "prometheus-alertmanager",
}


def real_binary(name: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    message = (
        f"{name} is not installed; run scripts/test as root, or: apt-get install {_DEBIAN_PACKAGE.get(name, name)}"
    )
    if os.environ.get("REQUIRE_REAL_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def promtool() -> str:
    return real_binary("promtool")


MINIMAL_SOURCE = """\
system: shop
title: Shop
team: shop-sre
alerts:
  - alert: ShopCostHigh
    expr: shop_cost_dollars{job="shop"} > 10
    for: 5m
    severity: critical
    action: EMERGENCY_STOP
    why: Spend has a hard limit and scaling to zero is reversible.
    summary: Shop spend above $10
    description: 'Spend is ${{ $value }}'
    target: {namespace: shop, deployment: checkout}
"""


@pytest.fixture
def catalogue_root(tmp_path: Path) -> Path:
    """A repository with the real catalogue settings and one small source."""
    (tmp_path / "rules" / "src").mkdir(parents=True)
    shutil.copy(REPO / "rules" / "catalogue.yaml", tmp_path / "rules" / "catalogue.yaml")
    (tmp_path / "rules" / "src" / "shop.yaml").write_text(MINIMAL_SOURCE)
    return tmp_path


TOKEN = "test-token-0123456789abcdef"


def write_policy(tmp_path: Path, changes: dict[str, Any] | None = None) -> Path:
    """A responder.yaml: the embedded default, a journal under tmp_path, a bearer token, changes."""
    document = yaml.safe_load((REPO / "responder" / "default_policy.yaml").read_text())
    document["auth"] = {"bearer_token": TOKEN}
    document["journal"]["sqlite"] = str(tmp_path / "journal.db")
    for dotted, value in (changes or {}).items():
        node = document
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    path = tmp_path / "responder.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture
def make_policy(tmp_path: Path) -> Callable[..., Policy]:
    def make(changes: dict[str, Any] | None = None) -> Policy:
        return load_policy(write_policy(tmp_path, changes), env={})

    return make


def alert_payload(*alerts: dict[str, Any], status: str = "firing", truncated: int = 0, **extra: Any) -> dict[str, Any]:
    """An Alertmanager v4 notification as 0.25 sends it."""
    return {
        "receiver": "responder",
        "status": status,
        "alerts": list(alerts),
        "groupLabels": {"alertname": "CostBudgetExceeded"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "version": "4",
        "groupKey": '{}:{alertname="CostBudgetExceeded"}',
        "truncatedAlerts": truncated,
        **extra,
    }


def cost_alert(
    status: str = "firing",
    fingerprint: str = "4f1c2a9e8d7b6c5a",
    starts_at: str = "2026-11-23T13:00:00.123456789Z",
    **annotations: str,
) -> dict[str, Any]:
    """CostBudgetExceeded exactly as the generated rule labels and annotates it."""
    return {
        "status": status,
        "labels": {
            "alertname": "CostBudgetExceeded",
            "severity": "critical",
            "system": "builder_hardening",
            "team": "builder-sre",
        },
        "annotations": {
            "action": "EMERGENCY_STOP",
            "summary": "Daily cost budget exceeded",
            "description": "Spend is running at $0.73/day against a hard limit of $0.50/day.",
            "runbook_url": "https://runbooks.example.com/alert-responder/builder_hardening.md#costbudgetexceeded",
            "target_namespace": "autogen-council",
            "target_deployment": "o3-audit-proxy",
            **annotations,
        },
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://127.0.0.1:9090/graph",
        "fingerprint": fingerprint,
    }


@contextlib.asynccontextmanager
async def default_threads_held(threads: int = 2) -> AsyncIterator[None]:
    """Every thread of the loop's shared default pool blocked, as PagerDuty calls hung on a dead
    connection or slow DNS lookups would hold them; released on the way out."""
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(threads))
    release = threading.Event()
    held = [loop.run_in_executor(None, release.wait, 60) for _ in range(threads)]
    try:
        yield
    finally:
        release.set()
        await asyncio.gather(*held)


@contextlib.asynccontextmanager
async def started(journal: J) -> AsyncIterator[J]:
    """`journal` started for the block and closed after it."""
    await journal.start()
    try:
        yield journal
    finally:
        await journal.close()


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[SqliteJournal]:
    """A started SQLite journal (the embedded default) in the test's own directory."""
    async with started(SqliteJournal(tmp_path / "journal.db")) as opened:
        yield opened
