"""Acknowledgements and the providers' callbacks.

POST /api/v1/alerts/{fingerprint}/ack  authenticated like the audit API; body {"actor": "..."} optional
POST /slack/actions                    Slack interactivity: Acknowledge, Restore, Unfreeze buttons
POST /pagerduty/webhook                PagerDuty v3 webhook: incident.acknowledged stops its instance's ladder

The callbacks are public routes: a request without the provider's signature headers is refused
before its body is read, and the body is read (within the callback limit) only to verify the
signature before anything else. An action that was recorded is answered 200 whatever Slack's API
does afterwards: a reply that could not be sent is logged. What the buttons and webhooks do is
the domain's: `Acknowledge` and `AlertUndo`.
"""

import logging
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from responder.acknowledgement import Acknowledge, Acknowledger
from responder.escalation.slack import SLACK_FAILURES, SlackNotifier
from responder.journal.escalation import Callback, EscalationStore
from responder.remediation.undo import UNDOES, AlertUndo
from responder.secrets import Secret
from responder.vocabulary import Channel, Undo
from responder.web.bodies import API_BODY, CALLBACK_BODY, decode_json, read_body, read_json
from responder.web.errors import Problem, Refusal, error
from responder.web.signatures import pagerduty_problem, pagerduty_unsigned, slack_problem, slack_unsigned

log = logging.getLogger("responder.web.escalation")
Handler = Callable[[web.Request], Awaitable[web.Response]]
MAX_ACTOR = 100
_DEDUP_IN_TITLE = re.compile(r"\((ar-[0-9A-Za-z]+-[0-9a-f]{8})\)")
_SEND_ACTOR = 'a JSON object like {"actor": "alice"}, or no body'
_SEND_SLACK = "a block_actions payload with one action"
_SEND_PAGERDUTY = "a v3 webhook payload with event.id, event.event_type and event.data"
_NOT_OURS = "not an incident this responder opened"
_IGNORED: dict[Callback, str] = {
    Callback.REPLAY: "already processed: this event id was delivered before",
    Callback.UNKNOWN: _NOT_OURS,
    Callback.RESOLVED: "already resolved",
}


def _refused(provider: str, problem: str) -> Refusal:
    log.warning("%s request refused", provider, extra={"reason": problem})
    return Refusal(401, Problem.UNAUTHORIZED, problem, close=True)


def ack_handler(acknowledge: Acknowledge) -> Handler:
    async def ack(request: web.Request) -> web.Response:
        fingerprint = request.match_info["fingerprint"]
        actor = "api"
        if request.can_read_body:
            given = await read_json(request, API_BODY, _SEND_ACTOR)
            named = given.get("actor") if isinstance(given, dict) else None
            if not isinstance(given, dict) or not isinstance(named, str | None):
                return error(400, Problem.INVALID, f"the body is not of that shape; send {_SEND_ACTOR}")
            actor = (named or "api")[:MAX_ACTOR]
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


def slack_actions_handler(
    slack: SlackNotifier | None, acknowledge: Acknowledge, undo: AlertUndo, receipts: EscalationStore
) -> Handler:
    """A button acts once per click: Slack's signature is good for five minutes, so a captured
    request could be sent again within them, and a Restore replayed after a new stop would undo
    that stop. Each click's `trigger_id` is recorded; a request that repeats one is answered 200
    and does nothing."""

    async def actions(request: web.Request) -> web.Response:
        if slack is None or slack.policy.signing_secret is None:
            return error(404, Problem.NOT_CONFIGURED, "Slack interactivity needs escalation.slack.signing_secret")
        unsigned = slack_unsigned(request.headers, time.time())
        if unsigned:
            raise _refused("slack", unsigned)
        body = await read_body(request, CALLBACK_BODY)
        problem = slack_problem(slack.policy.signing_secret, request.headers, body, time.time())
        if problem:
            raise _refused("slack", problem)
        payload: Any = decode_json(_form_payload(body), _SEND_SLACK)
        try:
            user = str(payload["user"]["id"])
            action = payload["actions"][0]
            action_id, value = str(action["action_id"]), str(action["value"])
        except (KeyError, IndexError, TypeError):
            return error(400, Problem.INVALID, f"expected {_SEND_SLACK}")
        trigger = payload.get("trigger_id")
        if not isinstance(trigger, str) or not trigger:
            return error(400, Problem.INVALID, f"expected {_SEND_SLACK} and its trigger_id")
        if not await receipts.first_receipt(Channel.SLACK, trigger, time.time()):
            return web.json_response({"text": "Already handled: this request was delivered before."})
        # The button names its instance as fingerprint@startsAt; a bare fingerprint (a message
        # posted before buttons named the instance) means the fingerprint's latest.
        fingerprint, _, starts_at = value.partition("@")
        if action_id == "ack":
            outcome = await acknowledge(fingerprint, f"slack:{user}", "slack", starts_at or None)
            text = "Acknowledged." if outcome.acknowledged else "Already acknowledged, or no longer firing."
        elif action_id in UNDOES:
            text = await undo.from_slack(slack, Undo(action_id), fingerprint, user, starts_at or None)
        else:
            return error(400, Problem.INVALID, f"unknown action {action_id!r}")
        channel = _object(payload, "channel").get("id")
        if channel:
            try:
                await slack.client.chat_postEphemeral(channel=channel, user=user, text=text)
            except SLACK_FAILURES as exc:  # the action happened: its answer is still 200
                log.warning("could not answer a Slack user", extra={"channel": channel, "error": type(exc).__name__})
        return web.json_response({"text": text})

    return actions


def _object(node: Any, key: str) -> dict[str, Any]:
    """`node[key]` when both are JSON objects, else an empty one: a provider's payload is read
    only where it has the shape we expect."""
    value = node.get(key) if isinstance(node, dict) else None
    return value if isinstance(value, dict) else {}


def _form_payload(body: bytes) -> str:
    """The `payload` field of Slack's form-encoded body, or a 400 Refusal."""
    try:
        form = urllib.parse.parse_qs(body.decode(), strict_parsing=True, max_num_fields=10)
    except ValueError:  # UnicodeDecodeError included
        raise Refusal(
            400, Problem.INVALID, f"the body is not a UTF-8 form with a payload field; send {_SEND_SLACK}"
        ) from None
    return form.get("payload", [""])[0]


def pagerduty_webhook_handler(secret: Secret | None, acknowledger: Acknowledger) -> Handler:
    """incident.acknowledged acknowledges the one instance its dedup key names (a resolved one's
    incident never touches a later instance of the same fingerprint), once per event id: v3
    signatures carry no timestamp, so a captured request replayed is answered 200, changing
    nothing."""

    async def webhook(request: web.Request) -> web.Response:
        if secret is None:
            return error(404, Problem.NOT_CONFIGURED, "PagerDuty webhooks need escalation.pagerduty.webhook_secret")
        unsigned = pagerduty_unsigned(request.headers)
        if unsigned:
            raise _refused("pagerduty", unsigned)
        body = await read_body(request, CALLBACK_BODY)
        problem = pagerduty_problem(secret, request.headers, body)
        if problem:
            raise _refused("pagerduty", problem)
        event = _object(decode_json(body, _SEND_PAGERDUTY), "event")
        event_id, event_type, data = event.get("id"), str(event.get("event_type") or ""), event.get("data")
        if not isinstance(event_id, str) or not event_id or not event_type or not isinstance(data, dict):
            return error(400, Problem.INVALID, f"expected {_SEND_PAGERDUTY}")
        if event_type != "incident.acknowledged":
            return web.json_response({"status": "ignored", "event_type": event_type})
        match = _DEDUP_IN_TITLE.search(str(data.get("title", "")))
        dedup = data.get("incident_key") or (match.group(1) if match else None)
        if not dedup:
            return web.json_response({"status": "ignored", "detail": _NOT_OURS})
        agent = _object(event, "agent")
        actor = f"pagerduty:{agent.get('summary') or agent.get('id') or 'unknown'}"[:MAX_ACTOR]
        found = await acknowledger.reference(Channel.PAGERDUTY, str(dedup), event_id, actor)
        if found.found is not Callback.ACTED or found.instance is None:
            return web.json_response({"status": "ignored", "detail": _IGNORED[found.found]})
        already = found.outcome.already
        return web.json_response(
            {
                "status": "acknowledged",
                "fingerprint": found.instance.fingerprint,
                "starts_at": found.instance.starts_at,
                "already_acknowledged_by": already.actor if already else None,
                "ladder_cancelled": found.outcome.cancelled,
            }
        )

    return webhook


def escalation_routes(
    slack: SlackNotifier | None,
    pagerduty_secret: Secret | None,
    acknowledge: Acknowledger,
    undo: AlertUndo,
    receipts: EscalationStore,
) -> list[web.RouteDef]:
    return [
        web.post("/api/v1/alerts/{fingerprint}/ack", ack_handler(acknowledge)),
        web.post("/slack/actions", slack_actions_handler(slack, acknowledge, undo, receipts)),
        web.post("/pagerduty/webhook", pagerduty_webhook_handler(pagerduty_secret, acknowledge)),
    ]
