"""Silences in Alertmanager for acknowledged alerts (`alertmanager.silence_on_ack`).

An acknowledgement plans a `silence` step beside its announcements; the step creates a silence
matching the alert's labels exactly, created by `alert-responder`, for `silence_on_ack`, and its
id is kept in the journal as the instance's `silence` channel state. The resolve plans the same
channel's `resolved` step, which expires it. Being steps, both are retried with backoff and
survive a restart, and an acknowledgement never waits for Alertmanager.

Never twice for one acknowledgement: an attempt after the first looks for a silence this
responder created for this instance (its comment names the instance) before creating one, since
the first may have been created without its answer arriving. Alertmanager's cluster shares
silences, so any replica that answers will do.
"""

import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from responder.alertmanager_policy import AlertmanagerPolicy
from responder.alerts import rfc3339
from responder.escalation.content import one_line
from responder.journal import Instance, Step, StepResult
from responder.journal.escalation import EscalationStore
from responder.secrets import shown_url
from responder.vocabulary import AttemptOutcome, Channel, MessageEvent

CREATED_BY = "alert-responder"
_TRANSIENT = (aiohttp.ClientError, TimeoutError)


def _reference(instance: Instance) -> str:
    """How a silence's comment names its alert instance, for finding it again."""
    return f"[alert-responder {instance.holder}]"


def silence_text(step: Step, result: StepResult) -> str:
    """What the silence step did, for the alert's thread."""
    if result.status == AttemptOutcome.SUCCEEDED:
        return f"Alertmanager: {one_line(str(result.detail.get('summary', 'done')))}"
    return f"Alertmanager: could not silence or expire the silence: {one_line(str(result.detail.get('error', '?')))}"


class SilenceNotifier:
    def __init__(
        self, policy: AlertmanagerPolicy, store: EscalationStore, clock: Callable[[], float] = time.time
    ) -> None:
        assert policy.silence_on_ack_seconds is not None, "made only when silence_on_ack is set"
        self._policy = policy
        self._seconds = policy.silence_on_ack_seconds
        self._store = store
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._headers = {"Authorization": f"Bearer {policy.bearer_token.value}"} if policy.bearer_token else {}
        password = policy.basic_password
        self._auth = aiohttp.BasicAuth(policy.basic_username or "", password.value) if password else None

    async def notify(self, step: Step) -> StepResult:
        event = step.params.get("event")
        try:
            if event == MessageEvent.ACKNOWLEDGED:
                return await self._silence(step)
            if event == MessageEvent.RESOLVED:
                return await self._expire(step.instance)
        except _TRANSIENT as exc:
            return StepResult(
                AttemptOutcome.RETRY, {"channel": Channel.SILENCE, "error": f"{type(exc).__name__}: {exc}"}
            )
        except AlertmanagerRefused as exc:
            return StepResult(AttemptOutcome.FAILED, {"channel": Channel.SILENCE, "error": str(exc)})
        return StepResult(AttemptOutcome.SUCCEEDED, {"channel": Channel.SILENCE, "summary": f"nothing for {event}"})

    async def _silence(self, step: Step) -> StepResult:
        inst = step.instance
        state = await self._store.channel_state(inst.id, Channel.SILENCE)
        found = state["id"] if state else await self._created_earlier(inst) if step.attempts > 1 else None
        now = self._clock()
        if found is None:
            actor, via = step.params.get("actor", "?"), step.params.get("via", "?")
            body = {
                "matchers": [
                    {"name": k, "value": v, "isRegex": False, "isEqual": True} for k, v in inst.labels.items()
                ],
                "startsAt": rfc3339(now),
                "endsAt": rfc3339(now + self._seconds),
                "createdBy": CREATED_BY,
                "comment": f"acknowledged by {actor} via {via} {_reference(inst)}",
            }
            answer = await self._call("POST", "/api/v2/silences", body)
            found = str(answer["silenceID"])
        if state is None:
            await self._store.save_channel_state(inst.id, Channel.SILENCE, found, {"id": found})
        summary = f"silenced {one_line(inst.alertname)} until {rfc3339(now + self._seconds)} (silence {found})"
        return StepResult(AttemptOutcome.SUCCEEDED, {"channel": Channel.SILENCE, "summary": summary, "silence": found})

    async def _created_earlier(self, inst: Instance) -> str | None:
        """A silence this responder created for `inst` that is still in force, if any."""
        silences = await self._call("GET", "/api/v2/silences", None)
        reference = _reference(inst)
        for silence in silences if isinstance(silences, list) else []:
            state = (silence.get("status") or {}).get("state")
            if (
                silence.get("createdBy") == CREATED_BY
                and reference in silence.get("comment", "")
                and state != "expired"
            ):
                return str(silence["id"])
        return None

    async def _expire(self, inst: Instance) -> StepResult:
        state = await self._store.channel_state(inst.id, Channel.SILENCE)
        if state is None:
            return StepResult(AttemptOutcome.SUCCEEDED, {"channel": Channel.SILENCE, "summary": "no silence to expire"})
        await self._call("DELETE", f"/api/v2/silence/{state['id']}", None, gone_ok=True)
        summary = f"expired silence {state['id']}: {one_line(inst.alertname)} resolved"
        return StepResult(AttemptOutcome.SUCCEEDED, {"channel": Channel.SILENCE, "summary": summary})

    async def _call(self, method: str, path: str, body: dict[str, Any] | None, gone_ok: bool = False) -> Any:
        """The first Alertmanager that answers; a 4xx is a refusal no retry changes."""
        if self._session is None:  # made on first use: a session belongs to the running loop
            timeout = aiohttp.ClientTimeout(total=self._policy.timeout_seconds)
            self._session = aiohttp.ClientSession(timeout=timeout, headers=self._headers, auth=self._auth)
        failure: BaseException | None = None
        for url in self._policy.urls:
            try:
                async with self._session.request(method, url.rstrip("/") + path, json=body) as response:
                    if response.status == 404 and gone_ok:
                        return None
                    if 400 <= response.status < 500:
                        text = (await response.text(errors="replace"))[:300]
                        said = f"{shown_url(url)} answered {response.status}: {one_line(text)}"
                        raise AlertmanagerRefused(f"{said}; check alertmanager.urls and its credentials")
                    if response.status >= 500:
                        raise aiohttp.ClientResponseError(response.request_info, (), status=response.status)
                    text = await response.text()
                    return json.loads(text) if text.strip() else None
            except _TRANSIENT as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class AlertmanagerRefused(Exception):
    """Alertmanager refused the request (4xx): a configuration to fix, not an outage to wait out."""
