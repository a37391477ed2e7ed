"""Acknowledgements and the providers' callbacks.

POST /api/v1/alerts/{fingerprint}/ack  authenticated like the audit API; body {"actor": "..."} optional
POST /slack/actions                    Slack interactivity: Acknowledge, Restore, Unfreeze buttons
POST /pagerduty/webhook                PagerDuty v3 webhook: incident.acknowledged stops the ladder

The callbacks verify the provider's signature before reading anything else. Restore and
Unfreeze act only on targets the alert's own action changed, read from the journal, and only
for Slack users or user groups the policy names; who asked is recorded on the alert's timeline.
"""

import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from slack_sdk.errors import SlackApiError

from responder.escalation.ladder import ack_steps
from responder.escalation.slack import SlackNotifier
from responder.journal.escalation import AckOutcome
from responder.planner import PlannedStep
from responder.targets import Target
from responder.web.auth import authorized, unauthorized
from responder.web.signatures import pagerduty_problem, slack_problem

if TYPE_CHECKING:  # app.py imports this module
    from responder.web.app import Responder

log = logging.getLogger("responder.web.escalation")
Handler = Callable[[web.Request], Awaitable[web.Response]]
MAX_ACTOR = 100
_DEDUP_IN_TITLE = re.compile(r"\((ar-[0-9A-Za-z]+-[0-9a-f]{8})\)")
_UNDO = {"restore": "EMERGENCY_STOP", "unfreeze": "FREEZE_DEPLOYMENTS"}


def _error(status: int, error: str, detail: str) -> web.Response:
    return web.json_response({"error": error, "detail": detail}, status=status)


async def acknowledge(responder: "Responder", fingerprint: str, actor: str, via: str) -> AckOutcome:
    outcome = await responder.journal.escalation.acknowledge(
        fingerprint, actor, via, responder.clock(), ack_steps(actor, via)
    )
    if outcome.acknowledged:
        responder.engine.wake("escalation")
        now = responder.clock()
        for starts_at in outcome.acknowledged:
            started = datetime.fromisoformat(starts_at).timestamp()
            responder.metrics.ack_seconds.labels(via).observe(max(now - started, 0.0))
        log.info("acknowledged", extra={"fingerprint": fingerprint, "actor": actor, "via": via})
    return outcome


def ack_handler(responder: "Responder") -> Handler:
    async def ack(request: web.Request) -> web.Response:
        if not authorized(request, responder.policy):
            return unauthorized()
        fingerprint = request.match_info["fingerprint"]
        actor = "api"
        if request.can_read_body:
            try:
                given = orjson.loads(await request.read()) or {}
                actor = str(given.get("actor") or "api")[:MAX_ACTOR] if isinstance(given, dict) else actor
            except ValueError:
                return _error(400, "invalid", 'body must be JSON like {"actor": "alice"}, or empty')
        outcome = await acknowledge(responder, fingerprint, actor, "api")
        if not outcome.firing:
            return _error(404, "not_found", f"no firing alert with fingerprint {fingerprint}; see /api/v1/alerts")
        return web.json_response(
            {
                "fingerprint": fingerprint,
                "acknowledged": outcome.acknowledged,
                "already_acknowledged_by": outcome.already.actor if outcome.already else None,
                "ladder_cancelled": outcome.cancelled,
            }
        )

    return ack


async def _allowed(slack: SlackNotifier, user: str) -> bool:
    if user in slack.policy.allowed_users:
        return True
    for group in slack.policy.allowed_groups:
        try:
            members = await slack.client.usergroups_users_list(usergroup=group)
        except SlackApiError as exc:
            log.warning(
                "cannot read a Slack user group", extra={"group": group, "error": str(exc.response.status_code)}
            )
            continue
        if user in members.get("users", []):
            return True
    return False


async def _undo(responder: "Responder", slack: SlackNotifier, action_id: str, fingerprint: str, user: str) -> str:
    """Restore or Unfreeze what this alert's action changed; the answer for the person."""
    actor, now = f"slack:{user}", responder.clock()
    found = await responder.journal.escalation.acted_targets(fingerprint, _UNDO[action_id])
    if found is None:
        return f"No alert with fingerprint {fingerprint}."
    instance, acted = found
    if not await _allowed(slack, user):
        await responder.journal.escalation.record_event(
            instance.id, "operator_action_refused", {"actor": actor, "action": action_id}, now
        )
        return f"You are not allowed to {action_id}: ask for escalation.slack.allowed_users or allowed_groups."
    if not acted:
        return f"{_UNDO[action_id]} changed nothing for this alert; there is nothing to {action_id}."
    lines = []
    for raw in acted:
        target = Target(**raw)
        operate = responder.operator.restore if action_id == "restore" else responder.operator.unfreeze
        result = await operate(target, actor)
        detail = {"actor": actor, "action": action_id, "target": raw, "ok": result.ok, "message": result.message}
        await responder.journal.escalation.record_event(instance.id, "operator_action", detail, responder.clock())
        lines.append(f"{'done' if result.ok else 'FAILED'}: {target.key}: {result.message}")
    params = {"event": "update", "text": f"pressed {action_id.capitalize()}:\n" + "\n".join(lines), "by": user}
    update = PlannedStep("escalation", "slack", 0.0, params, f"escalation:update:{actor}:{now}")
    await responder.journal.transact(lambda tx: tx.add_steps(instance, [update], now, f"slack/{fingerprint}"))
    responder.engine.wake("escalation")
    return "\n".join(lines)


def slack_actions_handler(responder: "Responder") -> Handler:
    async def actions(request: web.Request) -> web.Response:
        slack = responder.escalation.slack
        if slack is None or slack.policy.signing_secret is None:
            return _error(404, "not_configured", "Slack interactivity needs escalation.slack.signing_secret")
        body = await request.read()
        problem = slack_problem(slack.policy.signing_secret, request.headers, body, time.time())
        if problem:
            log.warning("slack request refused", extra={"reason": problem})
            return _error(401, "unauthorized", problem)
        form = await request.post()
        try:
            payload: dict[str, Any] = orjson.loads(str(form.get("payload", "")))
            user = str(payload["user"]["id"])
            action = payload["actions"][0]
            action_id, fingerprint = str(action["action_id"]), str(action["value"])
        except (ValueError, KeyError, IndexError, TypeError):
            return _error(400, "invalid", "expected a block_actions payload with one action")
        if action_id == "ack":
            outcome = await acknowledge(responder, fingerprint, f"slack:{user}", "slack")
            text = "Acknowledged." if outcome.acknowledged else "Already acknowledged, or no longer firing."
        elif action_id in _UNDO:
            text = await _undo(responder, slack, action_id, fingerprint, user)
        else:
            return _error(400, "invalid", f"unknown action {action_id!r}")
        channel = payload.get("channel", {}).get("id")
        if channel:
            try:
                await slack.client.chat_postEphemeral(channel=channel, user=user, text=text)
            except SlackApiError:
                log.warning("could not answer a Slack user", extra={"channel": channel})
        return web.json_response({"text": text})

    return actions


def pagerduty_webhook_handler(responder: "Responder") -> Handler:
    async def webhook(request: web.Request) -> web.Response:
        secret = responder.policy.channels.pagerduty.webhook_secret
        if secret is None:
            return _error(404, "not_configured", "PagerDuty webhooks need escalation.pagerduty.webhook_secret")
        body = await request.read()
        problem = pagerduty_problem(secret, request.headers, body)
        if problem:
            log.warning("pagerduty webhook refused", extra={"reason": problem})
            return _error(401, "unauthorized", problem)
        try:
            event = orjson.loads(body)["event"]
            event_type, data = str(event["event_type"]), event["data"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "invalid", "expected a v3 webhook payload with event.event_type and event.data")
        if event_type != "incident.acknowledged":
            return web.json_response({"status": "ignored", "event_type": event_type})
        match = _DEDUP_IN_TITLE.search(str(data.get("title", "")))
        dedup = data.get("incident_key") or (match.group(1) if match else None)
        fingerprint = await responder.journal.escalation.fingerprint_for("pagerduty", str(dedup)) if dedup else None
        if fingerprint is None:
            return web.json_response({"status": "ignored", "detail": "not an incident this responder opened"})
        agent = event.get("agent") or {}
        actor = f"pagerduty:{agent.get('summary') or agent.get('id') or 'unknown'}"[:MAX_ACTOR]
        outcome = await acknowledge(responder, fingerprint, actor, "pagerduty")
        return web.json_response(
            {"status": "acknowledged", "fingerprint": fingerprint, "ladder_cancelled": outcome.cancelled}
        )

    return webhook


def escalation_routes(responder: "Responder") -> list[web.RouteDef]:
    return [
        web.post("/api/v1/alerts/{fingerprint}/ack", ack_handler(responder)),
        web.post("/slack/actions", slack_actions_handler(responder)),
        web.post("/pagerduty/webhook", pagerduty_webhook_handler(responder)),
    ]
