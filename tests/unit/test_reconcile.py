"""Reconciliation against answers a real Alertmanager does not give: alerts it has no business
sending (another receiver's, a fingerprint no notification could carry), and too much of them.
The real Alertmanager's answers are tested in tests/e2e/test_reconcile.py."""

import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web

from responder.alertmanager_api import MAX_ANSWER_BYTES
from responder.policy import Policy
from responder.service import Responder, build_responder
from tests.conftest import cost_alert, started
from tests.fakes.server import serving


def _listed(fingerprint: str, receiver: str = "alert-responder", **labels: str) -> dict[str, Any]:
    alert = cost_alert(fingerprint=fingerprint)
    return {
        "fingerprint": fingerprint,
        "startsAt": "2026-11-23T13:00:00.000Z",
        "endsAt": "2026-11-23T14:00:00.000Z",
        "labels": {**alert["labels"], **labels},
        "annotations": alert["annotations"],
        "receivers": [{"name": receiver}],
        "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
    }


@pytest.fixture
async def answering(make_policy: Callable[..., Policy]) -> AsyncIterator[Callable[[Any], Responder]]:
    """A responder reading an Alertmanager fake that answers `answer` (a list, or raw bytes)."""
    answer: list[Any] = [[]]

    async def alerts(_: web.Request) -> web.Response:
        body = answer[0]
        return web.Response(body=body) if isinstance(body, bytes) else web.json_response(body)

    app = web.Application()
    app.router.add_get("/api/v2/alerts", alerts)
    async with serving(app) as url:

        def make(given: Any) -> Responder:
            answer[0] = given
            changes = {"alertmanager": {"urls": [url], "receiver": "alert-responder", "grace": "0s"}}
            return build_responder(make_policy(changes), console=io.StringIO())

        yield make


async def test_alerts_for_another_receiver_or_that_no_notification_could_carry_are_passed_over(
    answering: Callable[[Any], Responder],
) -> None:
    responder = answering([_listed("aa11"), _listed("bb22", receiver="team-other"), _listed("not hex!")])
    async with started(responder.journal):
        assert responder.reconciler is not None
        await responder.reconciler.once()
        listed = await responder.journal.instances({}, 10)
        assert [a["fingerprint"] for a in listed] == ["aa11"]
        await responder.reconciler.close()


async def test_an_answer_too_large_is_a_failed_reading_not_a_flood(answering: Callable[[Any], Responder]) -> None:
    responder = answering(b"[" + b" " * MAX_ANSWER_BYTES + b"]")
    async with started(responder.journal):
        assert responder.reconciler is not None
        report = await responder.reconciler.once()
        assert report.answered == [] and "more than 32 MiB" in report.failed[0]
        await responder.reconciler.close()
