"""Every statement of an alert's life is prepared once: SQLite re-prepares, on every run, a
statement whose bound value is compared with a partial index's condition (`steps` has three, on
two conditions), which makes a claim several times dearer. SQLite asks the authorizer while it
prepares, so a second alert going the same way asks nothing."""

import asyncio
import io
import json
import sqlite3
from collections.abc import Callable
from typing import Any

from responder.alerts import parse_notification
from responder.engine import Engine
from responder.escalation.console import ConsoleNotifier
from responder.journal.sqlite import SqliteJournal
from responder.metrics import create_metrics
from responder.policy import Policy
from responder.remediation.plan import PlanRemediator
from tests.conftest import alert_payload, cost_alert


async def test_the_statements_of_a_firing_and_its_resolve_are_prepared_once(
    journal: SqliteJournal, make_policy: Callable[..., Policy]
) -> None:
    """With the dispatchers idle, each alert's steps are leased as they are planned (a claim in
    flight would hold the workers and leave them to the dispatcher), so both alerts go the same way."""
    policy = make_policy({"actions.EMERGENCY_STOP.cooldown": "0s", "circuit_breaker.max_mutations": 1000})
    now = [1_800_000_000.0]
    engine = Engine(journal, policy, PlanRemediator(), ConsoleNotifier(io.StringIO()), create_metrics(), lambda: now[0])
    prepared: list[tuple[Any, ...]] = []

    def authorize(action: int, *asked: Any) -> int:
        if action != sqlite3.SQLITE_PRAGMA:  # SQLite prepares a PRAGMA for every run, by design
            prepared.append((action, *asked))
        return sqlite3.SQLITE_OK

    await journal.run(lambda conn: conn.set_authorizer(authorize))
    await engine.start()
    try:
        for fingerprint in ("00000000000000aa", "00000000000000bb"):
            await asyncio.sleep(0.05)  # the dispatchers are idle, every worker free
            prepared.clear()
            now[0] += 60
            for status in ("firing", "resolved"):
                alert = cost_alert(status, fingerprint=fingerprint, target_deployment=f"proxy-{fingerprint}")
                body = json.dumps(alert_payload(alert, status=status)).encode()
                await engine.accept(body, "c", parse_notification(body))
                await engine.drain()
            assert await journal.refresh_backlog() == 0
    finally:
        await engine.stop(0.1)
    assert prepared == [], prepared
