"""The audit API, authenticated: what the responder saw, decided and did, per alert.

GET /api/v1/alerts                  recent instances; filters: status, action, alertname, severity
GET /api/v1/alerts/{fingerprint}    every instance of that fingerprint with its timeline
"""

from aiohttp import web

from responder.journal import Journal
from responder.policy import Policy
from responder.web.auth import authorized, unauthorized

FILTERS = ("status", "action", "alertname", "severity")
MAX_LIMIT = 1000


def audit_routes(policy: Policy, journal: Journal) -> list[web.RouteDef]:
    async def list_alerts(request: web.Request) -> web.Response:
        if not authorized(request, policy):
            return unauthorized()
        try:
            limit = min(int(request.query.get("limit", "100")), MAX_LIMIT)
        except ValueError:
            return web.json_response({"error": "invalid", "detail": "limit must be a whole number"}, status=400)
        filters = {k: request.query[k] for k in FILTERS if k in request.query}
        return web.json_response({"alerts": await journal.instances(filters, max(limit, 1))})

    async def alert_timeline(request: web.Request) -> web.Response:
        if not authorized(request, policy):
            return unauthorized()
        fingerprint = request.match_info["fingerprint"]
        instances = await journal.timeline(fingerprint)
        if not instances:
            return web.json_response(
                {
                    "error": "not_found",
                    "detail": f"no alert with fingerprint {fingerprint}; see /api/v1/alerts",
                },
                status=404,
            )
        return web.json_response({"fingerprint": fingerprint, "instances": instances})

    return [
        web.get("/api/v1/alerts", list_alerts),
        web.get("/api/v1/alerts/{fingerprint}", alert_timeline),
    ]
