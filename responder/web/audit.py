"""The audit API: what the responder saw, decided and did, per alert. Authenticated by the
app's middleware.

GET /api/v1/alerts                  recent instances; filters: status, action, alertname, severity
GET /api/v1/alerts/{fingerprint}    every instance of that fingerprint with its timeline

A query the listing cannot honour is a 400 that says why: an unknown or repeated parameter, a
status no alert can have, a limit that is not a whole number from 1 to MAX_LIMIT. An empty list
always means that nothing matched, never that the question was not understood.
"""

from typing import get_args

from aiohttp import web
from multidict import MultiMapping

from responder.alerts import Status
from responder.journal import Journal
from responder.web.errors import Problem, error

FILTERS = ("status", "action", "alertname", "severity")
PARAMETERS = ("limit", *FILTERS)
STATUSES: tuple[str, ...] = get_args(Status)
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


def _query_problem(query: MultiMapping[str]) -> str | None:
    """What is wrong with the listing's query, or None."""
    for name in query:
        if name not in PARAMETERS:
            return f"unknown parameter {name!r}; the listing takes {', '.join(PARAMETERS)}"
        if len(query.getall(name)) > 1:
            return f"{name} is given more than once; give it once"
    status = query.get("status")
    if status is not None and status not in STATUSES:
        return f"status {status!r} matches no alert; use one of {', '.join(STATUSES)}"
    limit = query.get("limit", str(DEFAULT_LIMIT))
    # Digits first, and few of them: int() of a 5,000-digit string raises.
    if not (limit.isascii() and limit.isdigit() and len(limit) <= len(str(MAX_LIMIT)) and 1 <= int(limit) <= MAX_LIMIT):
        return f"limit {limit!r} is not a whole number from 1 to {MAX_LIMIT}"
    return None


def audit_routes(journal: Journal) -> list[web.RouteDef]:
    async def list_alerts(request: web.Request) -> web.Response:
        problem = _query_problem(request.query)
        if problem:
            return error(400, Problem.INVALID, problem)
        filters = {k: request.query[k] for k in FILTERS if k in request.query}
        return web.json_response(
            {"alerts": await journal.instances(filters, int(request.query.get("limit", DEFAULT_LIMIT)))}
        )

    async def alert_timeline(request: web.Request) -> web.Response:
        fingerprint = request.match_info["fingerprint"]
        instances = await journal.timeline(fingerprint)
        if not instances:
            return error(404, Problem.NOT_FOUND, f"no alert with fingerprint {fingerprint}; see /api/v1/alerts")
        return web.json_response({"fingerprint": fingerprint, "instances": instances})

    return [
        web.get("/api/v1/alerts", list_alerts),
        web.get("/api/v1/alerts/{fingerprint}", alert_timeline),
    ]
