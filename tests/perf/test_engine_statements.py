"""The engine's guards on how SQLite runs the statements a firing and its resolve need."""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from responder.journal.sqlite import SqliteJournal
from responder.policy import Policy
from tests.conftest import alert_payload, cost_alert
from tests.unit.test_engine import Clock, deliver, engine_for


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[SqliteJournal]:
    j = SqliteJournal(tmp_path / "journal.db")
    await j.start()
    yield j
    await j.close()


async def test_the_statements_of_a_firing_and_its_resolve_are_prepared_once(
    journal: SqliteJournal, make_policy: Callable[..., Policy]
) -> None:
    """SQLite re-prepares, on every run, a statement whose bound value is compared with a
    partial index's condition (`steps` has three, on two conditions), and a claim pays for that
    preparation every time. SQLite asks the authorizer while it prepares, so a second alert going
    the same way asks nothing. The same way: with the dispatchers idle, each alert's steps are leased as
    they are planned (a claim in flight would hold the workers and leave them to the dispatcher)."""
    policy = make_policy({"actions.EMERGENCY_STOP.cooldown": "0s", "circuit_breaker.max_mutations": 1000})
    clock = Clock()
    engine = engine_for(journal, policy, clock)
    assert journal._conn is not None
    prepared: list[tuple[Any, ...]] = []

    def authorize(action: int, *asked: Any) -> int:
        if action != sqlite3.SQLITE_PRAGMA:  # SQLite prepares a PRAGMA for every run, by design
            prepared.append((action, *asked))
        return sqlite3.SQLITE_OK

    journal._conn.set_authorizer(authorize)
    await engine.start()
    try:
        for fingerprint in ("00000000000000aa", "00000000000000bb"):
            await asyncio.sleep(0.05)  # the dispatchers are idle, every worker free
            prepared.clear()
            clock.now += 60
            for status in ("firing", "resolved"):
                alert = cost_alert(status, fingerprint=fingerprint, target_deployment=f"proxy-{fingerprint}")
                await deliver(engine, alert_payload(alert, status=status))
            assert await journal.refresh_backlog() == 0
    finally:
        await engine.stop(0.1)
    assert prepared == [], prepared
