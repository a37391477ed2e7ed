"""Reconciliation: what Alertmanager reports against what the journal holds, at start and then
every `alertmanager.interval`.

Alertmanager gives up on a notification when its retries run out or it restarts, so a responder
that was down, unreachable or answering 503 can miss a firing for good, or a resolve and keep a
ladder running for an alert that ended. Each round:

- an alert instance Alertmanager would notify now (firing, neither silenced nor inhibited) that
  the journal has never seen is ingested as the notification it missed, through the same path as
  a pushed one, and its timeline says it was found by reconciliation;
- an instance the journal holds as firing that no Alertmanager reports any more, for longer
  than `alertmanager.grace`, is resolved the same way, with the reason in its timeline. Only
  when every Alertmanager answered: one that did not may still report it.

Nothing is done twice because both paths arrived: a reconciled notification is an ordinary one
to the identity rules (a repeat only touches its instance; a stale firing after a resolve is
ignored). Instances the responder made itself (a truncation notice) are not Alertmanager's and
are left alone.
"""

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from responder.alertmanager_api import AlertmanagerClient, ApiAlert, Key, Report
from responder.alertmanager_policy import AlertmanagerPolicy
from responder.alerts import SUPPORTED_VERSION, PayloadError, parse_notification, rfc3339
from responder.engine import Engine
from responder.journal import Instance, Journal
from responder.metrics import Metrics
from responder.secrets import shown_url
from responder.vocabulary import Reading, Reconciled, TimelineEvent

log = logging.getLogger("responder.reconcile")
CHECK = "check alertmanager.urls, its credentials, and that the responder can reach them"
MAX_FIRING = 10_000  # firing instances compared per round
MAX_FOUND = 100  # missed alerts ingested per round: each starts its ladder at once
_ROUNDS = itertools.count(1)


class Reconciler:
    def __init__(
        self,
        policy: AlertmanagerPolicy,
        journal: Journal,
        engine: Engine,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
        client: AlertmanagerClient | None = None,
    ) -> None:
        self._policy = policy
        self._journal = journal
        self._engine = engine
        self._metrics = metrics
        self._clock = clock
        self._client = client or AlertmanagerClient(policy)
        self._missing_since: dict[Key, float] = {}  # firing in the journal, not reported: since when

    async def run(self) -> None:
        """Rounds until cancelled, the first at once."""
        while True:
            try:
                await self.once()
            except Exception:
                log.exception("reconciliation failed; trying again next round")
            await asyncio.sleep(self._policy.interval_seconds)

    async def close(self) -> None:
        await self._client.close()

    async def once(self) -> Report:
        """One round; what the Alertmanagers reported."""
        report = await self._client.report()
        if not report.answered:
            self._metrics.reconciliations.labels(Reading.UNREACHABLE).inc()
            unanswered = {"errors": report.failed, "hint": CHECK}
            log.warning("no Alertmanager answered; nothing reconciled", extra=unanswered)
            return report
        self._metrics.reconciliations.labels(Reading.PARTIAL if report.failed else Reading.READ).inc()
        if report.failed:
            log.warning(
                "some Alertmanagers did not answer; nothing resolved this round",
                extra={"errors": report.failed, "hint": CHECK},
            )
        notifiable = {key: alert for key, alert in report.alerts.items() if alert.notifiable}
        known = await self._journal.transact(lambda tx: tx.instances(list(notifiable)))
        unseen = [key for key in notifiable if key not in known and not await self._seen_to_the_ms(key)]
        if len(unseen) > MAX_FOUND:
            log.warning("more missed alerts than one round takes; the rest next round", extra={"missed": len(unseen)})
        for key in unseen[:MAX_FOUND]:
            try:
                await self._found(key, notifiable[key], report)
            except PayloadError as exc:  # Alertmanager's, yet no notification could carry it
                log.warning("a missed alert cannot be ingested", extra={"fingerprint": key[0], "error": str(exc)})
        if not report.failed:
            await self._resolve_unreported(report)
        return report

    async def _seen_to_the_ms(self, key: Key) -> bool:
        """Known by another start time in the same millisecond: Alertmanager's API gives start
        times in milliseconds, its webhook in nanoseconds (kept to microseconds)."""
        return any(_to_the_ms(i["starts_at"]) == _to_the_ms(key[1]) for i in await self._journal.timeline(key[0]))

    async def _found(self, key: Key, alert: ApiAlert, report: Report) -> None:
        """A firing the push path missed: ingested as the notification Alertmanager would have sent."""
        body = _notification(self._policy.receiver, "firing", [alert.as_webhook_alert()], shown_url(report.answered[0]))
        instance = await self._ingest(body, key)
        if instance is not None:
            detail = {"note": "Alertmanager reports it firing; no notification for it reached the responder"}
            await self._journal.escalation.record_event(
                instance.id, TimelineEvent.FOUND_BY_RECONCILIATION, detail, self._clock()
            )
        self._metrics.reconciled.labels(Reconciled.FIRING).inc()
        log.warning(
            "an alert was found only by reconciliation: check that Alertmanager can reach the responder",
            extra={"fingerprint": alert.fingerprint, "alertname": alert.labels.get("alertname", "")},
        )

    async def _resolve_unreported(self, report: Report) -> None:
        now = self._clock()
        firing = await self._journal.instances({"status": "firing"}, MAX_FIRING)
        reported = {(fingerprint, _to_the_ms(start)) for fingerprint, start in report.alerts}
        still = set()
        for row in firing:
            key = (row["fingerprint"], row["starts_at"])
            if (key[0], _to_the_ms(key[1])) in reported or row["fingerprint"].startswith("truncated"):
                continue
            still.add(key)
            since = self._missing_since.setdefault(key, now)
            if now - since >= self._policy.grace_seconds:
                await self._resolved(key, since, now)
        self._missing_since = {k: v for k, v in self._missing_since.items() if k in still}

    async def _resolved(self, key: Key, since: float, now: float) -> None:
        """A resolve the push path missed: ingested as Alertmanager would have sent it."""
        found = await self._journal.transact(lambda tx: tx.instances([key]))
        instance = found.get(key)
        if instance is None or instance.status != "firing":
            return
        alert = {
            "status": "resolved",
            "labels": instance.labels,
            "annotations": instance.annotations,
            "startsAt": instance.starts_at,
            "endsAt": rfc3339(now),
            "generatorURL": "",
            "fingerprint": instance.fingerprint,
        }
        await self._ingest(_notification(self._policy.receiver, "resolved", [alert], ""), key)
        detail = {
            "note": f"no Alertmanager has reported it for {now - since:.0f}s (grace {self._policy.grace_seconds:g}s), "
            "and no resolve reached the responder: resolved by reconciliation"
        }
        await self._journal.escalation.record_event(instance.id, TimelineEvent.RESOLVED_BY_RECONCILIATION, detail, now)
        self._metrics.reconciled.labels(Reconciled.RESOLVED).inc()
        log.warning("an alert was resolved by reconciliation", extra={"fingerprint": instance.fingerprint})

    async def _ingest(self, body: bytes, key: Key) -> Instance | None:
        await self._engine.accept(body, f"reconcile-{next(_ROUNDS)}", parse_notification(body), self._clock())
        found = await self._journal.transact(lambda tx: tx.instances([key]))
        return found.get(key)


def _notification(receiver: str, status: str, alerts: list[dict[str, Any]], external_url: str) -> bytes:
    """A webhook notification (version 4) as Alertmanager would have sent it, marked as the
    responder's own by its group key."""
    return orjson.dumps(
        {
            "version": SUPPORTED_VERSION,
            "groupKey": "alert-responder/reconciliation",
            "truncatedAlerts": 0,
            "status": status,
            "receiver": receiver,
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": external_url,
            "alerts": alerts,
        }
    )


def _to_the_ms(start: str) -> str:
    """A canonical start time ("2026-11-23T13:00:00.123456Z") to the millisecond."""
    return start[:23]
