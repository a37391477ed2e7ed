"""Reading Alertmanager's own view of the alerts it routes to the responder (`GET /api/v2/alerts`).

Every active alert for the responder's receiver is read, silenced and inhibited ones too: an
alert that is silenced is still firing (only its notifications stop), so it must not look
resolved. Which of them Alertmanager would notify now (`state: active`) is kept beside it.
"""

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import msgspec

from responder.alertmanager_policy import AlertmanagerPolicy
from responder.alerts import canonical_time
from responder.secrets import shown_url


class ApiAlert(msgspec.Struct, frozen=True):
    """One alert as `GET /api/v2/alerts` lists it (a gettableAlert): what a notification needs."""

    fingerprint: str
    starts_at: str = msgspec.field(name="startsAt")
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    ends_at: str = msgspec.field(default="", name="endsAt")
    generator_url: str = msgspec.field(default="", name="generatorURL")
    status: dict[str, Any] = {}
    receivers: list[dict[str, Any]] = []

    def routed_to(self, receiver: str) -> bool:
        """Alertmanager routes it to `receiver` (checked here too: the query's filter is its word)."""
        return any(r.get("name") == receiver for r in self.receivers if isinstance(r, dict))

    @property
    def notifiable(self) -> bool:
        """Alertmanager would notify it now: neither silenced nor inhibited."""
        return bool(self.status.get("state", "active") == "active")

    def as_webhook_alert(self) -> dict[str, Any]:
        """The alert as a webhook notification carries it."""
        return {
            "status": "firing",
            "labels": self.labels,
            "annotations": self.annotations,
            "startsAt": self.starts_at,
            "endsAt": self.ends_at or "0001-01-01T00:00:00Z",
            "generatorURL": self.generator_url,
            "fingerprint": self.fingerprint,
        }


_DECODER = msgspec.json.Decoder(list[ApiAlert])
MAX_ANSWER_BYTES = 32 * 2**20  # about 30,000 alerts; more is no Alertmanager a responder serves
Key = tuple[str, str]  # (fingerprint, canonical startsAt): an alert instance, as the journal keys it


@dataclass
class Report:
    """What the Alertmanagers that answered report, by instance; which did not answer, and why."""

    alerts: dict[Key, ApiAlert] = field(default_factory=dict)
    answered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class AlertmanagerClient:
    def __init__(self, policy: AlertmanagerPolicy) -> None:
        self._policy = policy
        self._session: aiohttp.ClientSession | None = None
        self._headers = {"Accept": "application/json"}
        if policy.bearer_token is not None:
            self._headers["Authorization"] = f"Bearer {policy.bearer_token.value}"
        self._auth = (
            aiohttp.BasicAuth(policy.basic_username or "", policy.basic_password.value)
            if policy.basic_password is not None
            else None
        )

    async def report(self) -> Report:
        """Every Alertmanager asked at once; an alert counts when any of them reports it."""
        report = Report()
        answers = await asyncio.gather(*(self._alerts(url) for url in self._policy.urls), return_exceptions=True)
        for url, answer in zip(self._policy.urls, answers, strict=True):
            if isinstance(answer, BaseException):  # an error may quote the URL: shown without credentials
                said = str(answer).replace(url.rstrip("/"), shown_url(url))
                report.failed.append(f"{shown_url(url)}: {type(answer).__name__}: {said}")
                continue
            report.answered.append(url)
            for alert in answer:
                if not alert.routed_to(self._policy.receiver):
                    continue
                try:
                    key = (alert.fingerprint, canonical_time(alert.starts_at))
                except ValueError:  # not a time: no notification of it could be accepted either
                    continue
                report.alerts.setdefault(key, alert)
        return report

    async def _alerts(self, url: str) -> list[ApiAlert]:
        if self._session is None:  # made on first use: a session belongs to the running loop
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._policy.timeout_seconds))
        query = {"active": "true", "silenced": "true", "inhibited": "true", "unprocessed": "true"}
        query["receiver"] = re.escape(self._policy.receiver)  # a regex to Alertmanager, anchored by it
        async with self._session.get(
            f"{url.rstrip('/')}/api/v2/alerts", params=query, headers=self._headers, auth=self._auth
        ) as response:
            if response.status != 200:
                raise AlertmanagerError(f"answered {response.status}; check alertmanager.urls and its credentials")
            answer = bytearray()
            async for chunk in response.content.iter_chunked(65536):
                answer += chunk
                if len(answer) > MAX_ANSWER_BYTES:
                    raise AlertmanagerError(f"answered more than {MAX_ANSWER_BYTES // 2**20} MiB of alerts")
            return _DECODER.decode(answer)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class AlertmanagerError(Exception):
    """An Alertmanager answered, but not with its alerts."""
