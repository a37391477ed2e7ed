"""Acknowledgements and the providers' callbacks.

POST /api/v1/alerts/{fingerprint}/ack  authenticated like the audit API; body {"actor": "..."} optional
POST /slack/actions                    Slack interactivity: Acknowledge, Restore, Unfreeze buttons
POST /pagerduty/webhook                PagerDuty v3 webhook: incident.acknowledged stops the ladder

The callbacks are public routes: they verify the provider's signature before reading anything
else. What the buttons and webhooks do is the domain's: `Acknowledge` and `AlertUndo`.
"""

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from slack_sdk.errors import SlackApiError

from responder.acknowledgement import Acknowledge
from responder.escalation.slack import SlackNotifier
from responder.journal import Journal
from responder.remediation.undo import UNDOES, AlertUndo
from responder.secrets import Secret
from responder.vocabulary import Undo
from responder.web.errors import Problem, error
from responder.web.signatures import pagerduty_problem, slack_problem

log = logging.getLogger("responder.web.escalation")
Handler = Callable[[web.Request], Awaitable[web.Response]]
MAX_ACTOR = 100
_DEDUP_IN_TITLE = re.compile(r"\((ar-[0-9A-Za-z]+-[0-9a-f]{8})\)")


def ack_handler(acknowledge: Acknowledge) -> Handler:
    async def ack(request: web.Request) -> web.Response:
        fingerprint = request.match_info["fingerprint"]
        actor = "api"
        if request.can_read_body:
            try:
                given = orjson.loads(await request.read()) or {}
                actor = str(given.get("actor") or "api")[:MAX_ACTOR] if isinstance(given, dict) else actor
            except ValueError:
                return error(400, Problem.INVALID, 'body must be JSON like {"actor": "alice"}, or empty')
        outcome = await acknowledge(fingerprint, actor, "api")
        if not outcome.firing:
            return error(404, Problem.NOT_FOUND, f"no firing alert with fingerprint {fingerprint}; see /api/v1/alerts")
        return web.json_response(
            {
                "fingerprint": fingerprint,
                "acknowledged": outcome.acknowledged,
                "already_acknowledged_by": outcome.already.actor if outcome.already else None,
                "ladder_cancelled": outcome.cancelled,
            }
        )

    return ack


def slack_actions_handler(slack: SlackNotifier | None, acknowledge: Acknowledge, undo: AlertUndo) -> Handler:
    async def actions(request: web.Request) -> web.Response:
        if slack is None or slack.policy.signing_secret is None:
            return error(404, Problem.NOT_CONFIGURED, "Slack interactivity needs escalation.slack.signing_secret")
        body = await request.read()
        problem = slack_problem(slack.policy.signing_secret, request.headers, body, time.time())
        if problem:
            log.warning("slack request refused", extra={"reason": problem})
            return error(401, Problem.UNAUTHORIZED, problem)
        form = await request.post()
        try:
            payload: dict[str, Any] = orjson.loads(str(form.get("payload", "")))
            user = str(payload["user"]["id"])
            action = payload["actions"][0]
            action_id, fingerprint = str(action["action_id"]), str(action["value"])
        except (ValueError, KeyError, IndexError, TypeError):
            return error(400, Problem.INVALID, "expected a block_actions payload with one action")
        if action_id == "ack":
            outcome = await acknowledge(fingerprint, f"slack:{user}", "slack")
            text = "Acknowledged." if outcome.acknowledged else "Already acknowledged, or no longer firing."
        elif action_id in UNDOES:
            text = await undo.from_slack(slack, Undo(action_id), fingerprint, user)
        else:
            return error(400, Problem.INVALID, f"unknown action {action_id!r}")
        channel = payload.get("channel", {}).get("id")
        if channel:
            try:
                await slack.client.chat_postEphemeral(channel=channel, user=user, text=text)
            except SlackApiError:
                log.warning("could not answer a Slack user", extra={"channel": channel})
        return web.json_response({"text": text})

    return actions


def pagerduty_webhook_handler(secret: Secret | None, journal: Journal, acknowledge: Acknowledge) -> Handler:
    async def webhook(request: web.Request) -> web.Response:
        if secret is None:
            return error(404, Problem.NOT_CONFIGURED, "PagerDuty webhooks need escalation.pagerduty.webhook_secret")
        body = await request.read()
        problem = pagerduty_problem(secret, request.headers, body)
        if problem:
            log.warning("pagerduty webhook refused", extra={"reason": problem})
            return error(401, Problem.UNAUTHORIZED, problem)
        try:
            event = orjson.loads(body)["event"]
            event_type, data = str(event["event_type"]), event["data"]
        except (ValueError, KeyError, TypeError):
            return error(400, Problem.INVALID, "expected a v3 webhook payload with event.event_type and event.data")
        if event_type != "incident.acknowledged":
            return web.json_response({"status": "ignored", "event_type": event_type})
        match = _DEDUP_IN_TITLE.search(str(data.get("title", "")))
        dedup = data.get("incident_key") or (match.group(1) if match else None)
        fingerprint = await journal.escalation.fingerprint_for("pagerduty", str(dedup)) if dedup else None
        if fingerprint is None:
            return web.json_response({"status": "ignored", "detail": "not an incident this responder opened"})
        agent = event.get("agent") or {}
        actor = f"pagerduty:{agent.get('summary') or agent.get('id') or 'unknown'}"[:MAX_ACTOR]
        outcome = await acknowledge(fingerprint, actor, "pagerduty")
        return web.json_response(
            {"status": "acknowledged", "fingerprint": fingerprint, "ladder_cancelled": outcome.cancelled}
        )

    return webhook


def escalation_routes(
    journal: Journal,
    slack: SlackNotifier | None,
    pagerduty_secret: Secret | None,
    acknowledge: Acknowledge,
    undo: AlertUndo,
) -> list[web.RouteDef]:
    return [
        web.post("/api/v1/alerts/{fingerprint}/ack", ack_handler(acknowledge)),
        web.post("/slack/actions", slack_actions_handler(slack, acknowledge, undo)),
        web.post("/pagerduty/webhook", pagerduty_webhook_handler(pagerduty_secret, journal, acknowledge)),
    ]
