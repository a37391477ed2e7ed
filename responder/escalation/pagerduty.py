"""PagerDuty Events API v2 through the `pagerduty` package: trigger with a stable dedup key per
alert instance, acknowledge when someone acknowledged elsewhere, resolve on resolve.

The client is synchronous, so each call runs on a thread of the notifier's own pool: calls hung
on a dead connection (up to the 15 s timeout each) then hold only PagerDuty's threads, not the
loop's default pool that DNS lookups for Slack and Twilio use. Its own retry loop would
sleep on that thread (forever, on 429), so it is switched off: a failed call comes back at
once and the journal retries it with backoff, honouring Retry-After.
"""

import asyncio
import hashlib
import ssl
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pagerduty

from responder.channel_policy import PagerDutyPolicy
from responder.escalation.content import action_words, links, one_line, priority, summary, targets
from responder.escalation.pacing import Pacer
from responder.journal import Instance, Step, StepResult
from responder.journal.escalation import EscalationStore

CHANNEL = "pagerduty"
_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}
MAX_SUMMARY = 1024


def dedup_key(instance: Instance) -> str:
    """Stable per instance and short enough to show in the incident title, where the webhook
    finds it again (v3 webhooks carry the incident, not the event that made it)."""
    return f"ar-{instance.fingerprint}-{hashlib.sha256(instance.starts_at.encode()).hexdigest()[:8]}"


def trigger_event(step: Step) -> dict[str, Any]:
    """The trigger's keyword arguments: what an on-call engineer sees on the incident."""
    inst = step.instance
    title = f"[{(inst.severity or 'none').upper()}] {one_line(inst.alertname)}: {summary(inst)}"
    if step.params.get("event") == "remediation_failed":
        title = f"REMEDIATION FAILED {title}"
    ref = f" ({dedup_key(inst)})"
    details = {
        "alertname": inst.alertname,
        "severity": inst.severity,
        "action": action_words(inst),
        "targets": targets(inst),
        "description": inst.annotations.get("description", ""),
        "team": inst.labels.get("team", ""),
        "fingerprint": inst.fingerprint,
        "starts_at": inst.starts_at,
        "labels": inst.labels,
    }
    for key in ("reason", "fallback_reason", "follow_up"):
        if key in step.params:
            details[key] = step.params[key]
    return {
        "summary": title[: MAX_SUMMARY - len(ref)] + ref,
        "source": f"alert-responder/{inst.labels.get('system') or inst.labels.get('team') or 'unknown'}",
        "dedup_key": dedup_key(inst),
        "severity": _SEVERITY.get(inst.severity, "error"),
        "custom_details": details,
        "links": [{"href": url, "text": label} for label, url in links(inst)],
    }


def _http_error(exc: pagerduty.Error) -> StepResult:
    response = exc.response
    if response is None:  # no answer: network, TLS, timeout
        return StepResult("retry", {"channel": CHANNEL, "error": type(exc.__cause__ or exc).__name__})
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    message = body.get("message", "") if isinstance(body, dict) else ""
    errors = body.get("errors", []) if isinstance(body, dict) else []
    detail = {"channel": CHANNEL, "status": status, "error": "; ".join([message, *map(str, errors)]).strip("; ")}
    if status == 429:
        return StepResult("retry", detail, float(response.headers.get("Retry-After", "30")))
    if status >= 500:
        return StepResult("retry", detail)
    return StepResult("failed", {**detail, "hint": "check escalation.pagerduty.routing_key"})


class PagerDutyNotifier:
    def __init__(
        self, policy: PagerDutyPolicy, store: EscalationStore, threads: int, ca: ssl.SSLContext | None = None
    ) -> None:
        if policy.routing_key is None:
            raise ValueError("PagerDuty needs escalation.pagerduty.routing_key.default")
        self._policy = policy
        self._routing = policy.routing_key
        self._store = store
        self._verify: ssl.SSLContext | bool = ca if ca is not None else True
        self._clients: dict[str, pagerduty.EventsApiV2Client] = {}
        self._pacers: dict[str, Pacer] = {}
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="pagerduty")

    def _client(self, routing_key: str) -> pagerduty.EventsApiV2Client:
        if routing_key not in self._clients:
            client = pagerduty.EventsApiV2Client(routing_key, base_url=self._policy.base_url, verify=self._verify)
            client.timeout = 15
            client.max_network_attempts = 0
            client.retry = {429: 1, 500: 1, 502: 1, 503: 1, 504: 1}
            client.max_http_attempts = -1  # with a budget below zero the first answer comes straight back
            self._clients[routing_key] = client
        return self._clients[routing_key]

    def _pacer(self, routing_key: str) -> Pacer:
        if routing_key not in self._pacers:
            self._pacers[routing_key] = Pacer(self._policy.events_per_minute / 60.0)
        return self._pacers[routing_key]

    async def notify(self, step: Step) -> StepResult:
        inst, event = step.instance, step.params.get("event", "")
        if event == "update" or (event == "acknowledged" and step.params.get("via") == CHANNEL):
            return StepResult("succeeded", {"channel": CHANNEL, "summary": "nothing to tell PagerDuty"})
        key = self._routing.pick(inst.labels.get("team", ""), inst.severity).value
        client, dedup = self._client(key), dedup_key(inst)
        if event in ("resolved", "acknowledged") and await self._store.channel_state(inst.id, CHANNEL) is None:
            return StepResult("succeeded", {"channel": CHANNEL, "summary": "never paged; nothing to " + event[:-1]})
        await self._pacer(key).turn(priority(step))
        run = asyncio.get_running_loop().run_in_executor
        try:
            if event == "resolved":
                await run(self._threads, client.resolve, dedup)
            elif event == "acknowledged":
                await run(self._threads, client.acknowledge, dedup)
            else:
                await run(self._threads, lambda: client.trigger(**trigger_event(step)))
                await self._store.save_channel_state(inst.id, CHANNEL, dedup, {"dedup_key": dedup})
        except pagerduty.Error as exc:
            result = _http_error(exc)
            if result.retry_after is not None:
                self._pacer(key).hold(result.retry_after)
            return result
        verb = {"resolved": "resolved", "acknowledged": "acknowledged"}.get(event, "triggered")
        return StepResult("succeeded", {"channel": CHANNEL, "summary": f"{verb} incident {dedup}", "dedup_key": dedup})

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)  # a call still hung times out on its own
