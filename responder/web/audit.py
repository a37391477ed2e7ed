"""The audit API: what the responder saw, decided and did, per alert. Authenticated by the
app's middleware.

GET /api/v1/alerts                  recent instances; filters: status, action, alertname, severity
GET /api/v1/alerts/{fingerprint}    every instance of that fingerprint with its timeline
"""

from aiohttp import web

from responder.journal import Journal
from responder.web.errors import Problem, error

FILTERS = ("status", "action", "alertname", "severity")
MAX_LIMIT = 1000


def audit_routes(journal: Journal) -> list[web.RouteDef]:
    async def list_alerts(request: web.Request) -> web.Response:
        try:
            limit = min(int(request.query.get("limit", "100")), MAX_LIMIT)
        except ValueError:
            return error(400, Problem.INVALID, "limit must be a whole number")
        filters = {k: request.query[k] for k in FILTERS if k in request.query}
        return web.json_response({"alerts": await journal.instances(filters, max(limit, 1))})

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
