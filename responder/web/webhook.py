"""POST /webhook: Alertmanager's webhook_configs receiver.

Order matters: authenticate (the app's middleware), check type and size, parse, validate,
check the backlog, then commit to the journal and only then answer 200 (DESIGN invariant 1).
Alertmanager retries 5xx and network errors and drops every 4xx, so: bad input is a 4xx that
says what is wrong, and overload or a journal fault is a 503 it will retry. No input yields a 500.
"""

import itertools
import logging
import secrets
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from responder.alerts import Notification, NotJson, PayloadError, parse_notification
from responder.journal import Journal, JournalFullError
from responder.metrics import Children, Metrics
from responder.policy import Policy
from responder.vocabulary import NotificationOutcome as Outcome
from responder.web.bodies import BodyLimit, read_body
from responder.web.errors import Problem, Refusal, error

log = logging.getLogger("responder.webhook")

RETRY = {"Retry-After": "5"}  # seconds
# A whole body within 10 s: 1 MiB (the default limit) over a 1 Mbit/s link. Alertmanager sends
# its body at once; one that trickles in is held no longer than this.
WEBHOOK_BODY_SECONDS = 10.0
_PROCESS = secrets.token_hex(4)  # correlation ids: unique per process start, cheap per request
_SEQUENCE = itertools.count(1)


def _dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def webhook_handler(
    policy: Policy,
    journal: Journal,
    metrics: Metrics,
    accept: Callable[[bytes, str, Notification, float], Awaitable[int]],
    clock: Callable[[], float],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """`accept` journals the body and applies it (Engine.accept); its return means it is on disk.
    The notification arrived when its request did, before its body was read and checked: the
    time to a first remediation is counted from there."""
    counted = Children(metrics.notifications)
    limit = BodyLimit(
        policy.max_body_bytes, WEBHOOK_BODY_SECONDS, f"server.max_body_bytes ({policy.max_body_bytes})", late=503
    )

    async def handle(request: web.Request) -> web.Response:
        arrived = clock()
        if request.content_type != "application/json":
            counted(Outcome.UNSUPPORTED_MEDIA_TYPE).inc()
            return error(
                415,
                Problem.UNSUPPORTED_MEDIA_TYPE,
                f"Content-Type is {request.content_type!r}; send application/json",
            )
        length = request.content_length
        if length is not None and length > policy.max_body_bytes:
            counted(Outcome.TOO_LARGE).inc()
            return error(
                413,
                Problem.TOO_LARGE,
                f"body of {length} bytes exceeds server.max_body_bytes "
                f"({policy.max_body_bytes}); lower max_alerts in webhook_configs or raise the limit",
            )
        try:
            body = await read_body(request, limit)
        except Refusal as exc:
            counted(Outcome.TOO_LARGE if exc.status == 413 else Outcome.TIMEOUT).inc()
            raise
        try:
            notification = parse_notification(body)  # all ingest needs, checked before the 200
        except PayloadError as exc:
            counted(Outcome.INVALID).inc()
            return error(400, Problem.INVALID, exc.problem, path=exc.path)
        except NotJson as exc:
            counted(Outcome.INVALID).inc()
            return error(400, Problem.INVALID, f"body is not a JSON document: {exc}")
        if journal.backlog() >= policy.max_backlog:
            counted(Outcome.OVERLOADED).inc()
            return error(
                503, Problem.OVERLOADED, f"backlog of {journal.backlog()} unfinished items; retry", headers=RETRY
            )
        correlation_id = f"{_PROCESS}-{next(_SEQUENCE):x}"
        try:
            notification_id = await accept(body, correlation_id, notification, arrived)
        except JournalFullError as exc:  # says which disk and how full: no traceback per request
            counted(Outcome.FULL).inc()
            return error(503, Problem.JOURNAL_FULL, str(exc), headers=RETRY)
        except Exception:
            counted(Outcome.FAILED).inc()
            if (problem := journal.write_problem()) is not None:  # the journal says why (a database down): no traceback
                log.warning("journal append failed", extra={"correlation_id": correlation_id, "error": problem})
                return error(
                    503, Problem.JOURNAL_UNAVAILABLE, f"could not store the notification; {problem}", headers=RETRY
                )
            log.exception("journal append failed", extra={"correlation_id": correlation_id})
            return error(503, Problem.JOURNAL_UNAVAILABLE, "could not store the notification; retry", headers=RETRY)
        counted(Outcome.ACCEPTED).inc()
        return web.json_response(
            {"status": "accepted", "id": notification_id, "correlation_id": correlation_id}, dumps=_dumps
        )

    return handle
